"""Reading Vivado's reports of a routed overlay: timing (setup and hold slack) and utilization.

``overlay.tcl`` writes both after implementation (``report_timing_summary`` and
``report_utilization`` of the routed design) and refuses to copy a bitstream whose worst
negative slack (setup) or worst hold slack is below zero; :func:`read_timing_summary` and
:func:`read_utilization` read them back for the design's manifest, and chapters 5, 7 and 9 show
them, labelled "Vivado (post-route)".

The parsers follow the text layout of Vivado 2019.2/2020.1's reports: the "Design Timing Summary"
table (WNS, TNS, ..., WHS, THS, ...) and the "Clock Summary" table of ``report_timing_summary``,
and the "Slice Logic", "Memory" and "DSP" tables of ``report_utilization``. A report that is
not one of these, or lacks a table, is an error naming what is missing, never a silent zero.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path


class ReportError(ValueError):
    """A Vivado report could not be read: not the report expected, or a table is missing."""


@dataclass(frozen=True)
class Timing:
    """Routed timing of an overlay: worst slacks and the clock they were measured against."""

    #: worst negative slack of the setup checks, and their total (ns); negative misses timing
    wns_ns: float
    tns_ns: float
    #: worst hold slack, and the total (ns)
    whs_ns: float
    ths_ns: float
    clock: str
    period_ns: float

    @property
    def met(self) -> bool:
        """Both setup and hold slack are non-negative: the bitstream works at its clock."""
        return self.wns_ns >= 0 and self.whs_ns >= 0

    @property
    def fmax_mhz(self) -> float:
        """The highest clock the routed design meets setup at: 1 / (period - WNS)."""
        return 1000.0 / (self.period_ns - self.wns_ns)

    def as_dict(self) -> dict[str, float | str | bool]:
        return {**asdict(self), "met": self.met, "fmax_mhz": round(self.fmax_mhz, 3)}


def _section(text: str, title: str) -> str:
    """The text of a report section, from its ``| title`` banner to the next banner."""
    # the banner: a rule, "| Title", "| -----", a rule
    match = re.search(rf"^\| {re.escape(title)}\s*\n\| -+\s*\n-+\s*$", text, flags=re.M)
    if not match:
        raise ReportError(f"no '{title}' section: not a Vivado report of this kind")
    rest = text[match.end():]
    following = re.search(r"^-{20,}\n\| \S", rest, flags=re.M)
    return rest[: following.start()] if following else rest


def _rows_after_rule(section: str) -> list[list[str]]:
    """The rows under a table's header and its line of dashes, split on white space."""
    lines = section.splitlines()
    for index, line in enumerate(lines):
        if line.strip().startswith("---") and index and lines[index - 1].strip():
            rows = []
            for row in lines[index + 1:]:
                if not row.strip():
                    break
                rows.append(row.split())
            return rows
    return []


def _number(value: str, what: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ReportError(f"{what} is {value!r}, not a number (are the clocks constrained?)") \
            from None


def read_timing_summary(text: str, clock: str = "clk_fpga_0") -> Timing:
    """The worst slacks of ``report_timing_summary`` and the period of ``clock`` (FCLK0)."""
    summary = _rows_after_rule(_section(text, "Design Timing Summary"))
    if not summary or len(summary[0]) < 8:
        raise ReportError("the Design Timing Summary has no row of values")
    values = summary[0]
    wns, tns, whs, ths = (_number(values[i], name) for i, name in
                          ((0, "WNS"), (1, "TNS"), (4, "WHS"), (5, "THS")))
    clocks = {row[0]: row for row in _rows_after_rule(_section(text, "Clock Summary"))}
    if clock not in clocks:
        raise ReportError(f"no clock {clock!r} in the Clock Summary (it has {sorted(clocks)})")
    row = clocks[clock]
    # name, {rise fall} waveform in two words, period, frequency
    period = _number(row[3] if row[1].startswith("{") else row[2], "the clock period")
    return Timing(wns, tns, whs, ths, clock, period)


#: the utilization report's rows the manifest records: (table, row) -> resource
UTILIZATION_ROWS = {
    "LUT": ("Slice Logic", "Slice LUTs"),
    "FF": ("Slice Logic", "Slice Registers"),
    "BRAM_36K": ("Memory", "Block RAM Tile"),
    "DSP": ("DSP", "DSPs"),
}


def _table_row(text: str, table: str, row: str) -> tuple[float, float]:
    """(Used, Available) of one row of a ``report_utilization`` table."""
    heading = re.search(rf"^\d+\. {re.escape(table)}\n-+\n", text, flags=re.M)
    if not heading:
        raise ReportError(f"no '{table}' table: not a Vivado utilization report")
    body = text[heading.end():]
    end = re.search(r"^\d+\. ", body, flags=re.M)
    body = body[: end.start()] if end else body
    columns = None
    for line in body.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if "Site Type" in cells:
            columns = cells
        elif columns and cells and cells[0] == row:
            record = dict(zip(columns, cells, strict=False))
            return _number(record["Used"], f"{row} used"), _number(record["Available"],
                                                                   f"{row} available")
    raise ReportError(f"the '{table}' table has no row '{row}'")


def read_utilization(text: str) -> dict[str, dict[str, float]]:
    """LUT, FF, BRAM (36 kb tiles) and DSP of a ``report_utilization``: used and available."""
    result = {}
    for resource, (table, row) in UTILIZATION_ROWS.items():
        used, available = _table_row(text, table, row)
        result[resource] = {"used": used, "available": available}
    return result


def read_reports(timing: Path, utilization: Path, clock: str = "clk_fpga_0") -> dict:
    """The manifest's post-route section from the two report files."""
    return {
        "timing": read_timing_summary(Path(timing).read_text(), clock).as_dict(),
        "utilization": read_utilization(Path(utilization).read_text()),
        "source": "Vivado (post-route)",
    }
