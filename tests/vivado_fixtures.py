"""Vivado report texts for the tests, written here in the layout of Vivado 2019.2/2020.1's
``report_timing_summary`` and ``report_utilization`` of a routed PYNQ-Z2 design (the layout of
real reports, with values of our own: no report of anyone else is copied)."""

from __future__ import annotations

RULE = "-" * 96

TIMING_HEADER = """\
Copyright 1986-2020 Xilinx, Inc. All Rights Reserved.
{rule}
| Tool Version : Vivado v.2020.1 (lin64) Build 2902540 Wed May 27 19:54:35 MDT 2020
| Date         : Sat Dec  5 10:00:00 2026
| Host         : builder running 64-bit Ubuntu 20.04 LTS
| Command      : report_timing_summary -max_paths 10 -file {design}_timing_summary_routed.rpt
| Design       : {design}_wrapper
| Device       : 7z020-clg400
| Speed File   : -1  PRODUCTION 1.12 2019-11-22
{rule}

Timing Summary Report
"""

SUMMARY_COLUMNS = (
    "WNS(ns)", "TNS(ns)", "TNS Failing Endpoints", "TNS Total Endpoints", "WHS(ns)", "THS(ns)",
    "THS Failing Endpoints", "THS Total Endpoints", "WPWS(ns)", "TPWS(ns)",
    "TPWS Failing Endpoints", "TPWS Total Endpoints",
)


def _row(values, widths) -> str:
    return "".join(f"{v:>{w}}" for v, w in zip(values, widths, strict=True)) + "  "


def timing_report(design: str = "jet_dnn", *, wns: float = 1.234, whs: float = 0.031,
                  period: float = 10.0, endpoints: int = 31415, clock: str = "clk_fpga_0") -> str:
    """A routed timing summary with the given worst slacks and FCLK0 period."""
    widths = (11, 13, 23, 21, 13, 13, 23, 21, 13, 13, 24, 22)
    failing = endpoints // 100 if wns < 0 else 0
    tns = round(wns * failing, 3) if wns < 0 else 0.0
    hold_failing = endpoints // 200 if whs < 0 else 0
    ths = round(whs * hold_failing, 3) if whs < 0 else 0.0
    values = (f"{wns:.3f}", f"{tns:.3f}", failing, endpoints, f"{whs:.3f}", f"{ths:.3f}",
              hold_failing, endpoints, "3.750", "0.000", 0, endpoints // 2)
    met = wns >= 0 and whs >= 0
    verdict = ("All user specified timing constraints are met." if met else
               "Timing constraints are not met.")
    frequency = 1000.0 / period
    return (
        TIMING_HEADER.format(rule="-" * 120, design=design)
        + f"""
{RULE}
| Timer Settings
| --------------
{RULE}

  Enable Multi Corner Analysis               :  Yes
  Enable Pessimism Removal                   :  Yes


{RULE}
| Design Timing Summary
| ---------------------
{RULE}

{_row(SUMMARY_COLUMNS, widths)}
{_row(["-" * len(c) for c in SUMMARY_COLUMNS], widths)}
{_row(values, widths)}


{verdict}


{RULE}
| Clock Summary
| -------------
{RULE}

Clock       Waveform(ns)       Period(ns)      Frequency(MHz)
-----       ------------       ----------      --------------
{clock:<12}{{0.000 {period / 2:.3f}}}{"":6}{period:<16.3f}{frequency:<16.3f}


{RULE}
| Intra Clock Table
| -----------------
{RULE}

Clock             WNS(ns)      TNS(ns)  TNS Failing Endpoints  TNS Total Endpoints
-----             -------      -------  ---------------------  -------------------
{clock:<18}{wns:>7.3f}{tns:>13.3f}{failing:>23}{endpoints:>21}
"""
    )


UTILIZATION = """\
Copyright 1986-2020 Xilinx, Inc. All Rights Reserved.
{rule}
| Tool Version : Vivado v.2020.1 (lin64) Build 2902540 Wed May 27 19:54:35 MDT 2020
| Date         : Sat Dec  5 10:00:00 2026
| Host         : builder running 64-bit Ubuntu 20.04 LTS
| Command      : report_utilization -file {design}_utilization_routed.rpt
| Design       : {design}_wrapper
| Device       : 7z020clg400-1
| Design State : Routed
{rule}

Utilization Design Information

Table of Contents
-----------------
1. Slice Logic
1.1 Summary of Registers by Type
2. Slice Logic Distribution
3. Memory
4. DSP

1. Slice Logic
--------------

+----------------------------+-------+-------+-----------+-------+
|          Site Type         |  Used | Fixed | Available | Util% |
+----------------------------+-------+-------+-----------+-------+
| Slice LUTs                 | {lut:>5} |     0 |     53200 | {lut_pct:>5.2f} |
|   LUT as Logic             | {lut:>5} |     0 |     53200 | {lut_pct:>5.2f} |
|   LUT as Memory            |     0 |     0 |     17400 |  0.00 |
| Slice Registers            | {ff:>5} |     0 |    106400 | {ff_pct:>5.2f} |
|   Register as Flip Flop    | {ff:>5} |     0 |    106400 | {ff_pct:>5.2f} |
| F8 Muxes                   |     1 |     0 |     13300 | <0.01 |
+----------------------------+-------+-------+-----------+-------+


2. Slice Logic Distribution
---------------------------

+--------------------------+------+-------+-----------+-------+
|         Site Type        | Used | Fixed | Available | Util% |
+--------------------------+------+-------+-----------+-------+
| Slice                    |  999 |     0 |     13300 |  7.51 |
+--------------------------+------+-------+-----------+-------+


3. Memory
---------

+-------------------+------+-------+-----------+-------+
|     Site Type     | Used | Fixed | Available | Util% |
+-------------------+------+-------+-----------+-------+
| Block RAM Tile    | {bram:>4} |     0 |       140 | {bram_pct:>5.2f} |
|   RAMB36/FIFO*    | {bram:>4} |     0 |       140 | {bram_pct:>5.2f} |
+-------------------+------+-------+-----------+-------+


4. DSP
------

+----------------+------+-------+-----------+-------+
|    Site Type   | Used | Fixed | Available | Util% |
+----------------+------+-------+-----------+-------+
| DSPs           | {dsp:>4} |     0 |       220 | {dsp_pct:>5.2f} |
|   DSP48E1 only | {dsp:>4} |       |           |       |
+----------------+------+-------+-----------+-------+


5. IO and GT Specific
---------------------
"""


def utilization_report(design: str = "jet_dnn", *, lut: int = 12345, ff: int = 23456,
                       bram: float = 6.5, dsp: int = 17) -> str:
    """A routed utilization report with the given counts (of the xc7z020's resources)."""
    return UTILIZATION.format(
        rule="-" * 125, design=design, lut=lut, lut_pct=100 * lut / 53200, ff=ff,
        ff_pct=100 * ff / 106400, bram=f"{bram:g}", bram_pct=100 * bram / 140, dsp=dsp,
        dsp_pct=100 * dsp / 220,
    )
