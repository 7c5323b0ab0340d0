"""The Vivado block design of a course overlay, as data, and the Tcl written from it.

One overlay per model: the Zynq PS7, an AXI DMA in simple (register) mode and the hls4ml IP:

    DDR <-> PS7 S_AXI_HP0 <-> AXI DMA M_AXI_MM2S/S2MM      (memory side, 32-bit words)
    PS7 M_AXI_GP0 -> AXI DMA S_AXI_LITE                     (registers, at DMA_BASE_ADDRESS)
    AXI DMA M_AXIS_MM2S -> <model>_axi in_r  -> network -> out_r -> AXI DMA S_AXIS_S2MM
    PS7 FCLK_CLK0 (100 MHz) clocks everything; the DMA is polled (no interrupt lines).

:class:`BlockDesign` is the single description; :func:`write_tcl` turns it into the Vivado Tcl
that builds the bitstream, :func:`check_tcl` reads a Tcl file back and compares it with the
description and with the HLS project it instantiates, and :meth:`AxiDma.hwh_parameters` are the
values PYNQ's DMA driver reads from the overlay's ``.hwh``, which the emulated board uses too.

hls4ml also writes a ``design.tcl``; we do not use it because it sets the DMA's memory-map width
to the stream width (16 bits for our ``ap_fixed<16,...>`` words), below the 32-bit minimum of the
AXI DMA, and it groups the cells into a hierarchy the driver would have to know about.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# the DMA's register map (Xilinx PG021) lives with the board-side code that uses it; it is part
# of this description too
from pynq_ia.board.dma_registers import DMA_REGISTERS, MEMORY_MAP_BITS  # noqa: F401
from pynq_ia.designs import BOARD, PART, Design, HLSSettings, design
from pynq_ia.rtl_da4ml import stream_top

BOARD_PART = "tul.com.tw:pynq-z2:part0:1.0"
DMA_BASE_ADDRESS = 0x4040_0000
DMA_ADDRESS_RANGE = 0x1_0000
#: the DMA's length registers have this many bits: one transfer moves at most 2**26 - 1 bytes
LENGTH_WIDTH = 26
#: DMA parameters Vivado would propagate from the connections: the Tcl marks them user values
USER_VALUES = ("c_m_axis_mm2s_tdata_width", "c_s_axis_s2mm_tdata_width")


@dataclass(frozen=True)
class AxiDma:
    """The AXI DMA (v7.1) in simple mode, one channel each way."""

    name: str
    mm2s_stream_width: int
    s2mm_stream_width: int
    base_address: int = DMA_BASE_ADDRESS
    address_range: int = DMA_ADDRESS_RANGE
    scatter_gather: bool = False
    memory_map_width: int = MEMORY_MAP_BITS  # the board side's: the DMA model shares it
    length_width: int = LENGTH_WIDTH
    burst_size: int = 256

    @property
    def max_transfer_bytes(self) -> int:
        return (1 << self.length_width) - 1

    def tcl_config(self) -> dict[str, str]:
        """The CONFIG.* values the Tcl sets on the DMA cell."""
        return {
            "c_include_sg": str(int(self.scatter_gather)),
            "c_sg_length_width": str(self.length_width),
            "c_sg_include_stscntrl_strm": "0",
            "c_m_axi_mm2s_data_width": str(self.memory_map_width),
            "c_m_axis_mm2s_tdata_width": str(self.mm2s_stream_width),
            "c_mm2s_burst_size": str(self.burst_size),
            "c_m_axi_s2mm_data_width": str(self.memory_map_width),
            "c_s_axis_s2mm_tdata_width": str(self.s2mm_stream_width),
            "c_s2mm_burst_size": str(self.burst_size),
        }

    def hwh_parameters(self) -> dict[str, str]:
        """The DMA parameters as they appear in the overlay's ``.hwh`` (what PYNQ reads)."""
        return {
            **self.tcl_config(),
            "c_include_mm2s": "1",
            "c_include_s2mm": "1",
            "c_micro_dma": "0",
            "c_include_mm2s_dre": "0",
            "c_include_s2mm_dre": "0",
            "c_addr_width": "32",
            "C_BASEADDR": f"0x{self.base_address:08X}",
            "C_HIGHADDR": f"0x{self.base_address + self.address_range - 1:08X}",
        }


#: the kinds of network IP: the IP Vivado HLS exports from hls4ml's project, or the course's
#: Verilog (``nn_axis.v`` around da4ml's core) as a module reference (UG994)
HLS_IP, RTL_MODULE = "hls4ml IP", "RTL module"


@dataclass(frozen=True)
class NetworkIP:
    """The network in the block design: hls4ml's IP ``<model>_axi`` (AXI-stream ports ``in_r``
    and ``out_r``, clock ``ap_clk``, reset ``ap_rst_n``), or the RTL module ``<model>_axis``
    (``s_axis``, ``m_axis``, ``aclk``, ``aresetn``; :func:`pynq_ia.rtl_da4ml.stream_sources`)."""

    model: str
    n_in: int
    n_out: int
    input_type: str
    #: the output word's type; an RTL module's is known once da4ml has written it (None before)
    output_type: str | None
    input_width: int
    output_width: int
    cell: str = "nn"
    kind: str = HLS_IP

    @property
    def vlnv(self) -> str:
        return f"xilinx.com:hls:{self.model}_axi:1.0"

    @property
    def module(self) -> str:
        """The RTL module's name (what the Tcl references): the stream IP's top."""
        return stream_top(self.model)

    def pin(self, role: str) -> str:
        """The cell's pin or interface for ``role``: "in", "out", "clock" or "reset"."""
        names = {"in": "in_r", "out": "out_r", "clock": "ap_clk", "reset": "ap_rst_n"}
        if self.kind == RTL_MODULE:
            names = {"in": "s_axis", "out": "m_axis", "clock": "aclk", "reset": "aresetn"}
        return f"{self.cell}/{names[role]}"


@dataclass(frozen=True)
class BlockDesign:
    """A course overlay: PS7 + AXI DMA + the network IP, clocked by FCLK0."""

    design: str
    ip: NetworkIP
    dma: AxiDma
    hls_clock_period_ns: float
    fclk0_mhz: float = 100.0
    part: str = PART
    board: str = BOARD
    board_part: str = BOARD_PART
    ps_cell: str = "ps7"
    hp_port: str = "S_AXI_HP0"
    gp_port: str = "M_AXI_GP0"
    interrupts: tuple[str, ...] = field(default_factory=tuple)
    #: the IP's ap_rst_n is the AND of the system reset and the DMA's stream-side reset outputs
    #: (PG021: mm2s_prmry_reset_out_n, s2mm_prmry_reset_out_n), so the DMA's soft reset, which
    #: the driver issues after a fault, also clears a partial frame the IP holds
    ip_reset_by_dma: bool = True

    @property
    def fclk0_period_ns(self) -> float:
        return 1000.0 / self.fclk0_mhz

    @property
    def timing_report(self) -> str:
        """The routed timing summary the build writes beside the overlay."""
        return f"{self.design}_timing_summary_routed.rpt"

    @property
    def utilization_report(self) -> str:
        """The routed utilization report the build writes beside the overlay."""
        return f"{self.design}_utilization_routed.rpt"

    def address_map(self) -> dict[str, tuple[int, int]]:
        """Slave segment -> (base address, range) as the PS sees it."""
        return {f"{self.dma.name}/S_AXI_LITE": (self.dma.base_address, self.dma.address_range)}

    def bytes_per_frame(self) -> tuple[int, int]:
        """Bytes moved to and from the IP for one frame."""
        return self.ip.n_in * self.ip.input_width // 8, self.ip.n_out * self.ip.output_width // 8

    def io(self) -> dict[str, int | str]:
        """The ``io`` section of the design's manifest: what the board driver needs to know."""
        return {
            "n_in": self.ip.n_in,
            "n_out": self.ip.n_out,
            "input": self.ip.input_type,
            "output": self.ip.output_type,
        }


def describe(entry: Design | str, settings: HLSSettings | None = None) -> BlockDesign:
    """The block design of a design of the table (``settings``: other HLS settings than its
    own, e.g. float words)."""
    entry = design(entry) if isinstance(entry, str) else entry
    settings = settings or entry.hls
    input_width, output_width = settings.input_format.width, settings.output_format.width
    ip = NetworkIP(entry.name, entry.n_in, entry.n_out, settings.input_type,
                   settings.output_type, input_width, output_width)
    dma = AxiDma("axi_dma", mm2s_stream_width=input_width, s2mm_stream_width=output_width)
    return BlockDesign(entry.name, ip, dma, hls_clock_period_ns=settings.clock_period)


def describe_rtl(entry: Design | str, stream: dict | None = None) -> BlockDesign:
    """The RTL overlay of a design with an RTL variant: the same PS7, DMA and clock, with the
    course's Verilog as a module reference in place of the hls4ml IP (``<design>_rtl``).

    The words into the IP are the design's input words (da4ml's core takes the input type);
    out come 16-bit words of the logits (:func:`pynq_ia.rtl_da4ml.nn_axis_parameters`), whose
    type ``stream`` (the stream IP's ``stream_ip.json``) gives once da4ml has written the core.
    """
    entry = design(entry) if isinstance(entry, str) else entry
    if entry.rtl is None:
        raise ValueError(f"{entry.name} has no RTL variant in the design table")
    input_width = entry.hls.input_format.width
    stream = stream or {}
    output_type = stream.get("output")
    output_width = int(stream.get("parameters", {}).get("OUT_WORD_BITS", RTL_WORD_BITS))
    ip = NetworkIP(entry.rtl.top, entry.n_in, entry.n_out, entry.hls.input_type, output_type,
                   input_width, output_width, kind=RTL_MODULE)
    dma = AxiDma("axi_dma", mm2s_stream_width=input_width, s2mm_stream_width=output_width)
    return BlockDesign(entry.rtl_overlay, ip, dma, hls_clock_period_ns=entry.hls.clock_period)


#: the RTL module's output words (``nn_axis_parameters``' ``word_bits``)
RTL_WORD_BITS = 16


def _config_list(values: dict[str, str]) -> str:
    return " ".join(f"CONFIG.{key} {{{value}}}" for key, value in values.items())


def write_tcl(design: BlockDesign, ip_repo: str = "$ip_repo", jobs: int = 2) -> str:
    """The Vivado Tcl that builds ``design`` into ``<design>.bit`` and ``<design>.hwh``.

    Run as ``vivado -mode batch -source overlay.tcl -tclargs <ip_repo> <output_dir>`` (see
    ``hw_builds/``).
    """
    d, ps, dma, ip = design.design, design.ps_cell, design.dma.name, design.ip
    clock = f"/{ps}/FCLK_CLK0 ({design.fclk0_mhz:g} MHz)"
    sources = "hls ip repository" if ip.kind == HLS_IP else "folder of the IP's Verilog"
    return f"""\
# {d}: PYNQ-Z2 overlay (PS7 + AXI DMA + {ip.kind}).
# Written by pynq_ia.blockdesign.write_tcl from the design description; regenerate, do not edit.
# usage: vivado -mode batch -source overlay.tcl -tclargs <{sources}> <output folder>
set {_SOURCES_VARIABLE[ip.kind]} [lindex $argv 0]
set out_dir [lindex $argv 1]

# the PYNQ-Z2 board files give the PS7 its preset (DDR, MIO, clocks): stop early without them
if {{[llength [get_board_parts -quiet {design.board_part}]] == 0}} {{
    error "Vivado has no PYNQ-Z2 board files ({design.board_part}). Copy the pynq-z2 folder of TUL's board files (https://www.tulembedded.com/FPGA/ProductsPYNQ-Z2.html) into <Vivado>/data/boards/board_files and run again."
}}
create_project {d}_overlay ./vivado_project -part {design.part} -force
set_property board_part {design.board_part} [current_project]
{_sources_tcl(design, ip_repo)}create_bd_design "{d}"

# Zynq PS7 with the board preset, the HP0 slave port for the DMA and FCLK0 for the fabric
create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 {ps}
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config {{make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"}} [get_bd_cells {ps}]
set_property -dict [list CONFIG.PCW_USE_S_AXI_HP0 {{1}} CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{design.fclk0_mhz:g}}}] [get_bd_cells {ps}]

# AXI DMA in simple mode: memory side {design.dma.memory_map_width} bits, stream side the IP's words
# (the stream widths are user values: Vivado would otherwise propagate its own over them)
create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 {dma}
set_property -dict [list {" ".join(f"CONFIG.{p}.VALUE_SRC USER" for p in USER_VALUES)}] [get_bd_cells {dma}]
set_property -dict [list {_config_list(design.dma.tcl_config())}] [get_bd_cells {dma}]

{_network_tcl(design)}
# registers on GP0, data through HP0
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {{Clk_master {{{clock}}} Clk_slave {{{clock}}} Clk_xbar {{{clock}}} Master {{/{ps}/{design.gp_port}}} Slave {{/{dma}/S_AXI_LITE}} ddr_seg {{Auto}} intc_ip {{New AXI Interconnect}} master_apm {{0}}}} [get_bd_intf_pins {dma}/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {{Clk_master {{{clock}}} Clk_slave {{{clock}}} Clk_xbar {{{clock}}} Master {{/{dma}/M_AXI_MM2S}} Slave {{/{ps}/{design.hp_port}}} ddr_seg {{Auto}} intc_ip {{New AXI Interconnect}} master_apm {{0}}}} [get_bd_intf_pins {ps}/{design.hp_port}]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {{Clk_master {{{clock}}} Clk_slave {{{clock}}} Clk_xbar {{{clock}}} Master {{/{dma}/M_AXI_S2MM}} Slave {{/{ps}/{design.hp_port}}} ddr_seg {{Auto}} intc_ip {{/axi_mem_intercon}} master_apm {{0}}}} [get_bd_intf_pins {dma}/M_AXI_S2MM]

# streams: DMA -> network -> DMA
connect_bd_intf_net [get_bd_intf_pins {dma}/M_AXIS_MM2S] [get_bd_intf_pins {ip.pin("in")}]
connect_bd_intf_net [get_bd_intf_pins {ip.pin("out")}] [get_bd_intf_pins {dma}/S_AXIS_S2MM]
apply_bd_automation -rule xilinx.com:bd_rule:clkrst -config {{Clk {{{clock}}} Freq {{{design.fclk0_mhz:g}}} Ref_Clk0 {{}} Ref_Clk1 {{}} Ref_Clk2 {{}}}} [get_bd_pins {ip.pin("clock")}]

{_ip_reset_tcl(design)}
# every slave gets an address (batch runs do not always), then the DMA's registers go where
# the driver expects them
assign_bd_address
set_property offset {design.dma.base_address:#010x} [get_bd_addr_segs {{{ps}/Data/SEG_{dma}_Reg}}]
set_property range {design.dma.address_range // 1024}K [get_bd_addr_segs {{{ps}/Data/SEG_{dma}_Reg}}]

validate_bd_design
save_bd_design
add_files -norecurse [make_wrapper -files [get_files {d}.bd] -top]
set_property top {d}_wrapper [current_fileset]
update_compile_order -fileset sources_1

launch_runs impl_1 -to_step write_bitstream -jobs {jobs}
wait_on_run impl_1
if {{[get_property PROGRESS [get_runs impl_1]] != "100%"}} {{
    error "implementation of {d} failed: see vivado_project/{d}_overlay.runs/impl_1"
}}

# the routed design's timing and utilization, kept beside the overlay; a bitstream that misses
# timing (negative worst setup or hold slack) computes wrong values at its clock: no overlay
file mkdir $out_dir
open_run impl_1
report_timing_summary -max_paths 10 -file [file join $out_dir {design.timing_report}]
report_utilization -file [file join $out_dir {design.utilization_report}]
set wns [get_property SLACK [get_timing_paths -setup -max_paths 1 -nworst 1]]
set whs [get_property SLACK [get_timing_paths -hold -max_paths 1 -nworst 1]]
if {{$wns eq "" || $whs eq "" || $wns < 0 || $whs < 0}} {{
    error "{d} misses timing at {design.fclk0_mhz:g} MHz: WNS '$wns' ns, WHS '$whs' ns (see {design.timing_report}); no bitstream is copied"
}}

# the overlay: bitstream and hardware handoff, named as PYNQ expects (same base name)
file copy -force [glob ./vivado_project/{d}_overlay.runs/impl_1/*.bit] [file join $out_dir {d}.bit]
# (.srcs up to Vivado 2020.1, .gen from 2020.2 on)
file copy -force [lindex [glob ./vivado_project/{d}_overlay.*/sources_1/bd/{d}/hw_handoff/{d}.hwh] 0] [file join $out_dir {d}.hwh]
"""


#: the Tcl variable holding the first argument: where the network's IP or Verilog is
_SOURCES_VARIABLE = {HLS_IP: "ip_repo", RTL_MODULE: "rtl_dir"}


def _sources_tcl(design: BlockDesign, ip_repo: str) -> str:
    """Tcl that makes the network's sources known: the HLS IP's repository, or the Verilog."""
    if design.ip.kind == HLS_IP:
        return f"set_property ip_repo_paths {ip_repo} [current_project]\nupdate_ip_catalog\n"
    return ("# the network's Verilog: the course's nn_axis.v, da4ml's core and the generated top\n"
            "add_files -norecurse [glob -directory $rtl_dir *.v]\n"
            "update_compile_order -fileset sources_1\n")


def _network_tcl(design: BlockDesign) -> str:
    """Tcl that puts the network in the block design."""
    ip = design.ip
    if ip.kind == HLS_IP:
        return f"# the network\ncreate_bd_cell -type ip -vlnv {ip.vlnv} {ip.cell}\n"
    return (f"# the network: the RTL module {ip.module}, as a module reference (its ports' "
            "attributes name\n# the AXI-stream interfaces, their clock and reset)\n"
            f"create_bd_cell -type module -reference {ip.module} {ip.cell}\n")


#: the cells that make the IP's reset: the three active-low resets side by side, then ANDed
IP_RESET_CONCAT, IP_RESET_AND = "ip_resets", "ip_reset"


def _ip_reset_tcl(design: BlockDesign) -> str:
    """Tcl that drives the IP's ap_rst_n from the system reset AND the DMA's stream resets."""
    if not design.ip_reset_by_dma:
        return ""
    dma, reset = design.dma.name, design.ip.pin("reset")
    return f"""\
# the IP's reset: the system's (as the automation wired it) AND the DMA's stream-side resets
# (PG021: mm2s/s2mm_prmry_reset_out_n, active low), so the DMA's soft reset, which the driver
# issues after a fault, also clears a partial frame the IP holds
set system_reset [get_bd_pins -of_objects [get_bd_nets -of_objects [get_bd_pins {reset}]] -filter {{DIR == O}}]
if {{[llength $system_reset] != 1}} {{
    error "{reset} was not wired to one system reset by the clock automation: cannot AND in the DMA's resets"
}}
disconnect_bd_net [get_bd_nets -of_objects [get_bd_pins {reset}]] [get_bd_pins {reset}]
create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 {IP_RESET_CONCAT}
set_property -dict [list CONFIG.NUM_PORTS {{3}}] [get_bd_cells {IP_RESET_CONCAT}]
create_bd_cell -type ip -vlnv xilinx.com:ip:util_reduced_logic:2.0 {IP_RESET_AND}
set_property -dict [list CONFIG.C_OPERATION {{and}} CONFIG.C_SIZE {{3}}] [get_bd_cells {IP_RESET_AND}]
connect_bd_net $system_reset [get_bd_pins {IP_RESET_CONCAT}/In0]
connect_bd_net [get_bd_pins {dma}/mm2s_prmry_reset_out_n] [get_bd_pins {IP_RESET_CONCAT}/In1]
connect_bd_net [get_bd_pins {dma}/s2mm_prmry_reset_out_n] [get_bd_pins {IP_RESET_CONCAT}/In2]
connect_bd_net [get_bd_pins {IP_RESET_CONCAT}/dout] [get_bd_pins {IP_RESET_AND}/Op1]
connect_bd_net [get_bd_pins {IP_RESET_AND}/Res] [get_bd_pins {reset}]
"""


def tcl_changes(tcl: str, other: str) -> list[str]:
    """The lines that differ between two Tcl scripts, as a unified diff shows them (``-`` in
    ``tcl`` only, ``+`` in ``other`` only), without the diff's headers and context."""
    import difflib

    return [line for line in difflib.unified_diff(tcl.splitlines(), other.splitlines(),
                                                   lineterm="", n=0)
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))]


@dataclass(frozen=True)
class Check:
    what: str
    expected: str
    found: str

    @property
    def ok(self) -> bool:
        return self.expected == self.found


def _dict_setting(tcl: str, cell: str) -> dict[str, str]:
    """CONFIG.* values of every ``set_property -dict [list ...] [get_bd_cells <cell>]``."""
    values = {}
    pattern = rf"set_property -dict \[list (.*?)\] \[get_bd_cells {re.escape(cell)}\]"
    for body in re.findall(pattern, tcl):
        values.update(dict(re.findall(r"CONFIG\.(\w+) \{([^}]*)\}", body)))
    return values


def _stream_width(axi_header: str, alias: str) -> int:
    match = re.search(rf"typedef (ap_u?fixed<\s*(\d+)[^>]*>|float|double) {alias};", axi_header)
    if not match:
        raise ValueError(f"no {alias} typedef in the IP's AXI header")
    return {"float": 32, "double": 64}.get(match.group(1)) or int(match.group(2))


def check_tcl(tcl: str, design: BlockDesign, hls_project: Path | None = None,
              rtl_sources: Path | None = None) -> list[Check]:
    """Compare a block-design Tcl with the description (and with the HLS project, or the RTL
    module's Verilog folder, if given).

    Returns every check; :func:`assert_consistent` raises on the first mismatch.
    """
    ps = _dict_setting(tcl, design.ps_cell)
    dma = _dict_setting(tcl, design.dma.name)
    offset = re.search(r"set_property offset (0x[0-9a-fA-F]+) \[get_bd_addr_segs", tcl)
    assigned = tcl.find("\nassign_bd_address\n")
    user_values = set(re.findall(r"CONFIG\.(\w+)\.VALUE_SRC USER", tcl))
    clocks = set(re.findall(r"FCLK_CLK0 \((\d+(?:\.\d+)?) MHz\)", tcl))
    checks = [
        Check("part", design.part, (re.findall(r"-part (\S+)", tcl) or [""])[0]),
        Check("HP0 enabled", "1", ps.get("PCW_USE_S_AXI_HP0", "")),
        Check("FCLK0 [MHz]", f"{design.fclk0_mhz:g}", ps.get("PCW_FPGA0_PERIPHERAL_FREQMHZ", "")),
        Check("every clock is FCLK0 at", f"{design.fclk0_mhz:g}", ",".join(sorted(clocks))),
        Check("DMA scatter-gather", "0", dma.get("c_include_sg", "")),
        Check(
            "DMA MM2S stream width",
            str(design.ip.input_width),
            dma.get("c_m_axis_mm2s_tdata_width", ""),
        ),
        Check(
            "DMA S2MM stream width",
            str(design.ip.output_width),
            dma.get("c_s_axis_s2mm_tdata_width", ""),
        ),
        Check(
            "DMA memory-map width >= 32",
            "True",
            str(
                int(dma.get("c_m_axi_mm2s_data_width", "0")) >= 32
                and int(dma.get("c_m_axi_s2mm_data_width", "0")) >= 32
            ),
        ),
        Check(
            "DMA base address",
            f"{design.dma.base_address:#010x}",
            offset.group(1).lower() if offset else "",
        ),
        Check(
            "addresses assigned before the DMA offset",
            "True",
            str(bool(offset) and 0 <= assigned < offset.start()),
        ),
        Check(
            "DMA stream widths are user values",
            ", ".join(USER_VALUES),
            ", ".join(p for p in USER_VALUES if p in user_values),
        ),
        Check(
            "board files checked first",
            "True",
            str(f"get_board_parts -quiet {design.board_part}" in tcl.split("create_project")[0]),
        ),
        *_network_checks(tcl, design),
        Check("stream DMA -> IP", "True", str(_command(
            tcl, f"connect_bd_intf_net [get_bd_intf_pins {design.dma.name}/M_AXIS_MM2S] "
                 f"[get_bd_intf_pins {design.ip.pin('in')}]"))),
        Check("stream IP -> DMA", "True", str(_command(
            tcl, f"connect_bd_intf_net [get_bd_intf_pins {design.ip.pin('out')}] "
                 f"[get_bd_intf_pins {design.dma.name}/S_AXIS_S2MM]"))),
        Check("IP reset by the system AND the DMA's stream resets",
              str(design.ip_reset_by_dma), str(_ip_reset_wired(tcl, design))),
        Check("routed timing and utilization reported", "True",
              str(_command(tcl, f"report_timing_summary -max_paths 10 -file "
                                f"[file join $out_dir {design.timing_report}]")
                  and _command(tcl, f"report_utilization -file "
                                    f"[file join $out_dir {design.utilization_report}]"))),
        Check("no bitstream copied unless setup and hold slack >= 0", "True",
              str(_timing_gate_before_copy(tcl))),
    ]
    if hls_project is not None:
        project = Path(hls_project)
        project_tcl = (project / "project.tcl").read_text()
        period = re.search(r"set clock_period ([\d.]+)", project_tcl)
        header = (project / "firmware" / f"{design.ip.model}_axi.h").read_text()
        checks += [
            Check(
                "HLS clock period = FCLK0 period [ns]",
                f"{design.fclk0_period_ns:g}",
                f"{float(period.group(1)):g}" if period else "",
            ),
            Check(
                "IP input port width",
                dma.get("c_m_axis_mm2s_tdata_width", ""),
                str(_stream_width(header, "T_in")),
            ),
            Check(
                "IP output port width",
                dma.get("c_s_axis_s2mm_tdata_width", ""),
                str(_stream_width(header, "T_out")),
            ),
        ]
    if rtl_sources is not None:
        checks += _rtl_source_checks(Path(rtl_sources), design, dma)
    return checks


def _network_checks(tcl: str, design: BlockDesign) -> list[Check]:
    """The network's cell: the HLS IP's VLNV, or the RTL module with its Verilog added first."""
    ip = design.ip
    if ip.kind == HLS_IP:
        return [Check("network IP", ip.vlnv,
                      (re.findall(r"-vlnv (xilinx\.com:hls:\S+)", tcl) or [""])[0])]
    reference = re.search(r"^create_bd_cell -type module -reference (\S+) (\S+)$", tcl, re.M)
    added = re.search(r"^add_files -norecurse \[glob -directory \$rtl_dir \*\.v\]\n"
                      r"update_compile_order -fileset sources_1$", tcl, re.M)
    return [
        Check("network RTL module (cell)", f"{ip.module} ({ip.cell})",
              f"{reference.group(1)} ({reference.group(2)})" if reference else ""),
        Check("its Verilog added and ordered before the module reference", "True",
              str(bool(added and reference and added.start() < reference.start()))),
        Check("the block design's wrapper is the top (not a Verilog module)", "True",
              str(_command(tcl, f"set_property top {design.design}_wrapper [current_fileset]"))),
        Check("HLS IPs instantiated", "none",
              " ".join(re.findall(r"-vlnv (xilinx\.com:hls:\S+)", tcl)) or "none"),
    ]


def _rtl_source_checks(folder: Path, design: BlockDesign, dma: dict[str, str]) -> list[Check]:
    """The RTL module's Verilog against the Tcl: the module the Tcl references, its
    interfaces under the names the Tcl connects, their widths and frame against the DMA's, and
    no module named like the block design's own."""
    ip = design.ip
    top = folder / f"{ip.module}.v"
    text = top.read_text() if top.is_file() else ""
    found = dict(re.findall(r"\.(\w+)\((\d+)\)", text))
    widths = {name: int(msb) + 1 for msb, name in
              re.findall(r"^\s*(?:input|output)\s+wire\s+\[(\d+):0\]\s+(\w+)", text, re.M)}
    interfaces = set(re.findall(r'X_INTERFACE_INFO = "xilinx\.com:interface:axis:1\.0 (\w+) ', text))
    clock = re.search(r'X_INTERFACE_PARAMETER = "ASSOCIATED_BUSIF ([\w:]+), '
                      r'ASSOCIATED_RESET (\w+)', text)
    pins = {role: ip.pin(role).split("/")[1] for role in ("in", "out", "clock", "reset")}
    modules = {name for path in folder.glob("*.v")
               for name in re.findall(r"^\s*module\s+(\w+)", path.read_text(), re.M)}
    block_design_names = {m for m in modules
                          if m == design.design or m.startswith(f"{design.design}_")}

    def width(parameter: str, role: str) -> str:
        """The wrapper's parameter, and the top's port where it differs."""
        value, port = found.get(parameter, ""), widths.get(f"{pins[role]}_tdata")
        return value if str(port) == value else f"{value} (its port: {port} bits)"

    return [
        Check("RTL module's top in the Verilog folder", f"module {ip.module}",
              f"module {ip.module}" if ip.module in re.findall(r"^module (\w+)", text, re.M)
              else ""),
        Check("its AXI-stream interfaces", ", ".join(sorted((pins["in"], pins["out"]))),
              ", ".join(sorted(interfaces))),
        Check("their clock and reset", f"{pins['in']}:{pins['out']} by {pins['reset']}",
              f"{clock.group(1)} by {clock.group(2)}" if clock else ""),
        Check("their clock's frequency [Hz] = FCLK0's", f"{design.fclk0_mhz * 1e6:.0f}",
              (re.findall(r"FREQ_HZ (\d+)", text) or [""])[0]),
        Check("IP input word width", dma.get("c_m_axis_mm2s_tdata_width", ""), width("IN_BITS", "in")),
        Check("IP output word width", dma.get("c_s_axis_s2mm_tdata_width", ""),
              width("OUT_WORD_BITS", "out")),
        Check("IP frame (words in, words out)", f"{ip.n_in}, {ip.n_out}",
              f"{found.get('N_IN', '')}, {found.get('N_OUT', '')}"),
        Check("no Verilog module named like the block design's", "none",
              ", ".join(sorted(block_design_names)) or "none"),
    ]


def _ip_reset_wired(tcl: str, design: BlockDesign) -> bool:
    """The Tcl ANDs the system reset and both DMA stream resets into the IP's ap_rst_n."""
    dma, reset = design.dma.name, design.ip.pin("reset")
    needed = [
        "if {[llength $system_reset] != 1} {",
        f"connect_bd_net $system_reset [get_bd_pins {IP_RESET_CONCAT}/In0]",
        f"connect_bd_net [get_bd_pins {dma}/mm2s_prmry_reset_out_n] "
        f"[get_bd_pins {IP_RESET_CONCAT}/In1]",
        f"connect_bd_net [get_bd_pins {dma}/s2mm_prmry_reset_out_n] "
        f"[get_bd_pins {IP_RESET_CONCAT}/In2]",
        f"set_property -dict [list CONFIG.C_OPERATION {{and}} CONFIG.C_SIZE {{3}}] "
        f"[get_bd_cells {IP_RESET_AND}]",
        f"connect_bd_net [get_bd_pins {IP_RESET_AND}/Res] [get_bd_pins {reset}]",
    ]
    return all(_command(tcl, line) for line in needed)


def _command(tcl: str, command: str) -> bool:
    """The Tcl runs ``command`` as a line of its own (not in a comment)."""
    return re.search(rf"^{re.escape(command)}$", tcl, flags=re.M) is not None


def _timing_gate_before_copy(tcl: str) -> bool:
    """The Tcl reads the worst setup and hold slack and stops on a negative one before it copies
    the bitstream (what `report_timing_summary` calls WNS and WHS)."""
    gate = re.search(r"if \{\$wns eq \"\" \|\| \$whs eq \"\" \|\| \$wns < 0 \|\| \$whs < 0\} "
                     r"\{\n\s+error ", tcl)
    reads = ("get_timing_paths -setup" in tcl and "get_timing_paths -hold" in tcl)
    copy = tcl.find("file copy -force [glob ./vivado_project")
    return bool(gate) and reads and 0 <= gate.start() < copy


def assert_consistent(checks: list[Check]) -> None:
    bad = [c for c in checks if not c.ok]
    if bad:
        lines = [f"{c.what}: expected {c.expected!r}, found {c.found!r}" for c in bad]
        raise ValueError("block design does not match its description:\n" + "\n".join(lines))
