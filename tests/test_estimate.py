"""Resources: hls4ml report parsing, the synthesis path with a fake vivado_hls, rule4ml."""

import os
import shutil
import stat
import sys
import textwrap

import numpy as np
import pytest

from pynq_ia import convert, designs, estimate
from pynq_ia.compress import Quantization

CSYNTH_XML = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <UserAssignments><TargetClockPeriod>10.00</TargetClockPeriod></UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><EstimatedClockPeriod>8.51</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <Best-caseLatency>{latency}</Best-caseLatency><Worst-caseLatency>{latency}</Worst-caseLatency>
      <Interval-min>1</Interval-min><Interval-max>1</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>4</BRAM_18K><DSP48E>11</DSP48E><FF>5321</FF><LUT>10640</LUT></Resources>
    <AvailableResources><BRAM_18K>280</BRAM_18K><DSP48E>220</DSP48E><FF>106400</FF><LUT>53200</LUT></AvailableResources>
  </AreaEstimates>
</profile>
"""
APP_XML = """<project xmlns="com.autoesl.autopilot.project" name="{name}_prj" top="{name}_axi">
  <solutions><solution name="solution1" status="active"/></solutions>
</project>
"""


def write_report(project_dir, name, latency=12):
    """An hls4ml project folder holding a Vivado HLS synthesis report, in hls4ml's layout."""
    project_dir.mkdir(parents=True, exist_ok=True)
    tcl = project_dir / "project.tcl"
    if not tcl.exists():
        tcl.write_text(f'set project_name "{name}"\nset backend "vivadoaccelerator"\n')
    solution = project_dir / f"{name}_prj"
    (solution / "solution1" / "syn" / "report").mkdir(parents=True, exist_ok=True)
    (solution / "vivado_hls.app").write_text(APP_XML.format(name=name))
    report = solution / "solution1" / "syn" / "report" / f"{name}_axi_csynth.xml"
    report.write_text(CSYNTH_XML.format(latency=latency))


def test_report_is_parsed_with_hls4ml(tmp_path):
    write_report(tmp_path / "prj", "jet_dnn", latency=12)
    report = estimate.report_from_project(tmp_path / "prj", "jet_dnn")
    assert report.source == estimate.VIVADO_REPORT
    assert (report.LUT, report.FF, report.DSP, report.BRAM_18K) == (10640, 5321, 11, 4)
    assert report.latency_cycles == 12 and report.latency_us == pytest.approx(0.12)
    assert report.share()["LUT"] == pytest.approx(20.0)
    assert report.share()["DSP"] == pytest.approx(5.0)


def test_missing_report_is_an_error(tmp_path):
    (tmp_path / "prj").mkdir()
    (tmp_path / "prj" / "project.tcl").write_text('set project_name "x"\nset backend "vivado"\n')
    (tmp_path / "prj" / "x_prj").mkdir()
    with pytest.raises(FileNotFoundError, match="no HLS synthesis report"):
        estimate.report_from_project(tmp_path / "prj", "x")


def test_synthesis_without_vivado_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert not estimate.vivado_hls_available()
    with pytest.raises(
        estimate.ToolUnavailable, match="vivado_hls is not on PATH.*2019.2 or 2020.1"
    ):
        estimate.synthesize(object())


@pytest.mark.slow
def test_synthesis_path_with_a_fake_vivado_hls(tmp_path, monkeypatch, compiled_jet_dnn):
    """A stand-in vivado_hls records how hls4ml calls it and writes a report."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls.txt"
    fake = bin_dir / "vivado_hls"
    fake.write_text(
        textwrap.dedent(f"""\
        #!{sys.executable}
        import os, sys
        sys.path.insert(0, {str(os.path.dirname(__file__))!r})
        from pathlib import Path
        from test_estimate import write_report
        with open({str(log)!r}, "a") as f:
            f.write(os.getcwd() + "\\n" + " ".join(sys.argv[1:]) + "\\n")
        write_report(Path.cwd(), "jet_dnn", latency=9)
        """)
    )
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    compiled, model = compiled_jet_dnn
    shutil.copytree(compiled.directory, tmp_path / "jet_dnn")  # reused there, not compiled again
    project = convert.hls_project("jet_dnn", model, directory=tmp_path / "jet_dnn")
    assert project.from_cache
    report = estimate.resources(project, model)  # Vivado is "here": synthesis, not an estimate

    cwd, arguments = log.read_text().splitlines()
    assert cwd == str(tmp_path / "jet_dnn")
    assert arguments.startswith("-f build_prj.tcl")
    assert "synth=True" in arguments and "export=True" in arguments and "csim=False" in arguments
    assert report.source == estimate.VIVADO_REPORT and report.latency_cycles == 9
    assert report.settings["clock_period"] == 10.0


def test_weight_precision_follows_the_quantizers():
    assert estimate.weight_precision(designs.jet_dnn(Quantization(bits=6))) == "ap_fixed<6,1>"
    assert estimate.weight_precision(designs.jet_dnn()) == "ap_fixed<16,6>"


@pytest.mark.slow
def test_rule4ml_estimates_are_labelled_and_plausible():
    reports = estimate.estimate(
        designs.jet_dnn(),
        "jet_dnn",
        strategy="Latency",
        reuse_factors=(1, 16),
        precision="ap_fixed<6,1>",
    )
    assert [r.settings["reuse_factor"] for r in reports] == [1, 16]
    for r in reports:
        assert r.source == estimate.RULE4ML_ESTIMATE
        assert all(np.isfinite(v) and v >= 0 for v in (r.LUT, r.FF, r.DSP, r.BRAM_18K))
    assert reports[1].latency_cycles > reports[0].latency_cycles
    # one query per configuration: the same answer alone or in a sweep
    (alone,) = estimate.estimate(
        designs.jet_dnn(),
        "jet_dnn",
        strategy="Latency",
        reuse_factors=(16,),
        precision="ap_fixed<6,1>",
    )
    assert alone.LUT == reports[1].LUT


def test_rule4ml_runs_on_one_thread_and_estimates_alike_on_two():
    import torch

    estimate.rule4ml_estimator()
    assert torch.get_num_threads() == 1  # set when it loads (its docstring says why)
    query = {"strategy": "Latency", "reuse_factors": (1, 16), "precision": "ap_fixed<6,1>"}
    one = estimate.estimate(designs.jet_dnn(), "jet_dnn", **query)
    torch.set_num_threads(2)
    try:
        two = estimate.estimate(designs.jet_dnn(), "jet_dnn", **query)
    finally:
        torch.set_num_threads(1)
    assert one == two


def test_reference_figures_are_the_original_projects():
    reference = designs.design("jet_dnn").references["FPGA implementation"]
    assert reference == {"BRAM_18K": 3, "DSP": 87, "FF": 17, "LUT": 34}


@pytest.mark.parametrize(("source", "io_type", "expected"), [
    # a Vivado HLS report of the AXI wrapper: its interval is the cycles per frame
    (estimate.VIVADO_REPORT, "io_parallel", 95),
    # an estimate of the network: io_parallel's wrapper adds its loops one after the other
    (estimate.RULE4ML_ESTIMATE, "io_parallel", 16 + 55 + 5 + 19),
])
def test_the_ips_cycles_per_frame_follow_its_wrapper(source, io_type, expected):
    from dataclasses import replace

    report = estimate.ResourceReport("jet_dnn", source, 1, 1, 1, 1, latency_cycles=55,
                                     interval_cycles=95 if source == estimate.VIVADO_REPORT
                                     else 40)
    design = designs.design("jet_dnn")
    design = replace(design, hls=replace(design.hls, io_type=io_type))
    timing = estimate.ip_timing(report, design)
    assert timing["cycles_per_frame"] == expected and timing["source"] == source
    # the fabric's ceiling at 100 MHz
    assert 100e6 / timing["cycles_per_frame"] == pytest.approx(100e6 / expected)


def test_zero_weights_cost_nothing_only_in_the_latency_strategy():
    latency, resource = (estimate.zero_weight_cost(s)[0] for s in ("Latency", "Resource"))
    assert latency.startswith("nothing") and "ROM" in resource and "every product" in resource
    assert designs.design("mnist_dnn").hls.strategy == "Resource"  # the course's case of it


def test_an_io_stream_design_is_counted_from_the_templates():
    """The CNN: its first convolution reads 28 x 28 pixels, one per cycle at reuse factor 1;
    DATAFLOW overlaps the layers, so those set the interval; the latency is at most the sum."""
    cnn = designs.design("mnist_cnn")
    report = estimate.ResourceReport("mnist_cnn", estimate.RULE4ML_ESTIMATE, 1, 1, 1, 1,
                                     latency_cycles=264_129.6, interval_cycles=159_562.4)
    timing = estimate.ip_timing(report, cnn)
    assert timing["cycles_per_frame"] == 28 * 28 and timing["source"] == estimate.STREAM_COUNT
    # conv1 28x28, pool1 26x26, conv2 13x13, pool2 11x11, conv3 5x5
    assert timing["latency_cycles"] == 784 + 676 + 169 + 121 + 25
