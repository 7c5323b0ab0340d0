"""Reading Vivado's routed timing and utilization reports (fixtures in Vivado's own layout)."""

import pytest
from vivado_fixtures import timing_report, utilization_report

from pynq_ia import vivado_reports
from pynq_ia.vivado_reports import ReportError


def test_a_met_design_and_its_fmax():
    timing = vivado_reports.read_timing_summary(timing_report(wns=1.234, whs=0.031))
    assert (timing.wns_ns, timing.whs_ns, timing.period_ns) == (1.234, 0.031, 10.0)
    assert timing.met and timing.clock == "clk_fpga_0"
    assert timing.fmax_mhz == pytest.approx(1000 / (10.0 - 1.234))  # 114.1 MHz


@pytest.mark.parametrize(("wns", "whs"), [(-0.412, 0.05), (0.8, -0.021), (-1.5, -0.2)])
def test_negative_setup_or_hold_slack_misses_timing(wns, whs):
    timing = vivado_reports.read_timing_summary(timing_report(wns=wns, whs=whs))
    assert not timing.met and timing.wns_ns == wns and timing.whs_ns == whs
    assert timing.tns_ns <= 0 and timing.ths_ns <= 0


def test_fmax_follows_the_clock_period():
    timing = vivado_reports.read_timing_summary(timing_report(wns=-0.5, period=5.0))
    assert timing.fmax_mhz == pytest.approx(1000 / 5.5)  # below the 200 MHz asked for


def test_utilization_rows():
    used = vivado_reports.read_utilization(utilization_report(lut=20668, ff=23097, bram=7, dsp=9))
    assert used == {
        "LUT": {"used": 20668, "available": 53200},
        "FF": {"used": 23097, "available": 106400},
        "BRAM_36K": {"used": 7, "available": 140},
        "DSP": {"used": 9, "available": 220},
    }


def test_half_a_bram_tile_is_read():
    assert vivado_reports.read_utilization(utilization_report(bram=6.5))["BRAM_36K"]["used"] == 6.5


def test_the_wrong_report_or_clock_is_a_clear_error():
    with pytest.raises(ReportError, match="Design Timing Summary"):
        vivado_reports.read_timing_summary(utilization_report())
    with pytest.raises(ReportError, match="Slice Logic"):
        vivado_reports.read_utilization(timing_report())
    with pytest.raises(ReportError, match="no clock 'clk_fpga_0'.*clk_fpga_1"):
        vivado_reports.read_timing_summary(timing_report(clock="clk_fpga_1"))


def test_unconstrained_slack_is_an_error_not_a_zero():
    text = timing_report().replace("      1.234", "        inf", 1)
    with pytest.raises(ReportError, match="WNS is 'inf'|not a number"):
        vivado_reports.read_timing_summary(text.replace("inf", "NA", 1))


def test_reports_from_files(tmp_path):
    (tmp_path / "t.rpt").write_text(timing_report(wns=0.2))
    (tmp_path / "u.rpt").write_text(utilization_report(dsp=42))
    section = vivado_reports.read_reports(tmp_path / "t.rpt", tmp_path / "u.rpt")
    assert section["timing"]["met"] and section["timing"]["wns_ns"] == 0.2
    assert section["utilization"]["DSP"]["used"] == 42
    assert section["source"] == "Vivado (post-route)"
