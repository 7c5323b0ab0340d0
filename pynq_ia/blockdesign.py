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
from pynq_ia.board.dma_registers import DMA_REGISTERS  # noqa: F401
from pynq_ia.designs import BOARD, PART, Design, HLSSettings, design

BOARD_PART = "tul.com.tw:pynq-z2:part0:1.0"
DMA_BASE_ADDRESS = 0x4040_0000
DMA_ADDRESS_RANGE = 0x1_0000
#: AXI DMA memory-map data width: 32 bits is the IP's minimum and what HP0 takes best
MEMORY_MAP_WIDTH = 32
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
    memory_map_width: int = MEMORY_MAP_WIDTH
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


@dataclass(frozen=True)
class NetworkIP:
    """The hls4ml IP: ``<model>_axi`` with AXI-stream ports ``in_r`` and ``out_r``."""

    model: str
    n_in: int
    n_out: int
    input_type: str
    output_type: str
    input_width: int
    output_width: int
    cell: str = "nn"

    @property
    def vlnv(self) -> str:
        return f"xilinx.com:hls:{self.model}_axi:1.0"


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


def _config_list(values: dict[str, str]) -> str:
    return " ".join(f"CONFIG.{key} {{{value}}}" for key, value in values.items())


def write_tcl(design: BlockDesign, ip_repo: str = "$ip_repo", jobs: int = 2) -> str:
    """The Vivado Tcl that builds ``design`` into ``<design>.bit`` and ``<design>.hwh``.

    Run as ``vivado -mode batch -source overlay.tcl -tclargs <ip_repo> <output_dir>`` (see
    ``hw_builds/``).
    """
    d, ps, dma, ip = design.design, design.ps_cell, design.dma.name, design.ip.cell
    clock = f"/{ps}/FCLK_CLK0 ({design.fclk0_mhz:g} MHz)"
    return f"""\
# {d}: PYNQ-Z2 overlay (PS7 + AXI DMA + hls4ml IP).
# Written by pynq_ia.blockdesign.write_tcl from the design description; regenerate, do not edit.
# usage: vivado -mode batch -source overlay.tcl -tclargs <hls ip repository> <output folder>
set ip_repo [lindex $argv 0]
set out_dir [lindex $argv 1]

# the PYNQ-Z2 board files give the PS7 its preset (DDR, MIO, clocks): stop early without them
if {{[llength [get_board_parts -quiet {design.board_part}]] == 0}} {{
    error "Vivado has no PYNQ-Z2 board files ({design.board_part}). Copy the pynq-z2 folder of TUL's board files (https://www.tulembedded.com/FPGA/ProductsPYNQ-Z2.html) into <Vivado>/data/boards/board_files and run again."
}}
create_project {d}_overlay ./vivado_project -part {design.part} -force
set_property board_part {design.board_part} [current_project]
set_property ip_repo_paths {ip_repo} [current_project]
update_ip_catalog
create_bd_design "{d}"

# Zynq PS7 with the board preset, the HP0 slave port for the DMA and FCLK0 for the fabric
create_bd_cell -type ip -vlnv xilinx.com:ip:processing_system7:5.5 {ps}
apply_bd_automation -rule xilinx.com:bd_rule:processing_system7 -config {{make_external "FIXED_IO, DDR" apply_board_preset "1" Master "Disable" Slave "Disable"}} [get_bd_cells {ps}]
set_property -dict [list CONFIG.PCW_USE_S_AXI_HP0 {{1}} CONFIG.PCW_FPGA0_PERIPHERAL_FREQMHZ {{{design.fclk0_mhz:g}}}] [get_bd_cells {ps}]

# AXI DMA in simple mode: memory side {design.dma.memory_map_width} bits, stream side the IP's words
# (the stream widths are user values: Vivado would otherwise propagate its own over them)
create_bd_cell -type ip -vlnv xilinx.com:ip:axi_dma:7.1 {dma}
set_property -dict [list {" ".join(f"CONFIG.{p}.VALUE_SRC USER" for p in USER_VALUES)}] [get_bd_cells {dma}]
set_property -dict [list {_config_list(design.dma.tcl_config())}] [get_bd_cells {dma}]

# the network
create_bd_cell -type ip -vlnv {design.ip.vlnv} {ip}

# registers on GP0, data through HP0
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {{Clk_master {{{clock}}} Clk_slave {{{clock}}} Clk_xbar {{{clock}}} Master {{/{ps}/{design.gp_port}}} Slave {{/{dma}/S_AXI_LITE}} ddr_seg {{Auto}} intc_ip {{New AXI Interconnect}} master_apm {{0}}}} [get_bd_intf_pins {dma}/S_AXI_LITE]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {{Clk_master {{{clock}}} Clk_slave {{{clock}}} Clk_xbar {{{clock}}} Master {{/{dma}/M_AXI_MM2S}} Slave {{/{ps}/{design.hp_port}}} ddr_seg {{Auto}} intc_ip {{New AXI Interconnect}} master_apm {{0}}}} [get_bd_intf_pins {ps}/{design.hp_port}]
apply_bd_automation -rule xilinx.com:bd_rule:axi4 -config {{Clk_master {{{clock}}} Clk_slave {{{clock}}} Clk_xbar {{{clock}}} Master {{/{dma}/M_AXI_S2MM}} Slave {{/{ps}/{design.hp_port}}} ddr_seg {{Auto}} intc_ip {{/axi_mem_intercon}} master_apm {{0}}}} [get_bd_intf_pins {dma}/M_AXI_S2MM]

# streams: DMA -> network -> DMA
connect_bd_intf_net [get_bd_intf_pins {dma}/M_AXIS_MM2S] [get_bd_intf_pins {ip}/in_r]
connect_bd_intf_net [get_bd_intf_pins {ip}/out_r] [get_bd_intf_pins {dma}/S_AXIS_S2MM]
apply_bd_automation -rule xilinx.com:bd_rule:clkrst -config {{Clk {{{clock}}} Freq {{{design.fclk0_mhz:g}}} Ref_Clk0 {{}} Ref_Clk1 {{}} Ref_Clk2 {{}}}} [get_bd_pins {ip}/ap_clk]

{_ip_reset_tcl(design)}
# every slave gets an address (batch runs do not always), then the DMA's registers go where
# the driver expects them
assign_bd_address
set_property offset {design.dma.base_address:#010x} [get_bd_addr_segs {{{ps}/Data/SEG_{dma}_Reg}}]
set_property range {design.dma.address_range // 1024}K [get_bd_addr_segs {{{ps}/Data/SEG_{dma}_Reg}}]

validate_bd_design
save_bd_design
add_files -norecurse [make_wrapper -files [get_files {d}.bd] -top]
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


#: the cells that make the IP's reset: the three active-low resets side by side, then ANDed
IP_RESET_CONCAT, IP_RESET_AND = "ip_resets", "ip_reset"


def _ip_reset_tcl(design: BlockDesign) -> str:
    """Tcl that drives the IP's ap_rst_n from the system reset AND the DMA's stream resets."""
    if not design.ip_reset_by_dma:
        return ""
    dma, ip = design.dma.name, design.ip.cell
    return f"""\
# the IP's reset: the system's (as the automation wired it) AND the DMA's stream-side resets
# (PG021: mm2s/s2mm_prmry_reset_out_n, active low), so the DMA's soft reset, which the driver
# issues after a fault, also clears a partial frame the IP holds
set system_reset [get_bd_pins -of_objects [get_bd_nets -of_objects [get_bd_pins {ip}/ap_rst_n]] -filter {{DIR == O}}]
disconnect_bd_net [get_bd_nets -of_objects [get_bd_pins {ip}/ap_rst_n]] [get_bd_pins {ip}/ap_rst_n]
create_bd_cell -type ip -vlnv xilinx.com:ip:xlconcat:2.1 {IP_RESET_CONCAT}
set_property -dict [list CONFIG.NUM_PORTS {{3}}] [get_bd_cells {IP_RESET_CONCAT}]
create_bd_cell -type ip -vlnv xilinx.com:ip:util_reduced_logic:2.0 {IP_RESET_AND}
set_property -dict [list CONFIG.C_OPERATION {{and}} CONFIG.C_SIZE {{3}}] [get_bd_cells {IP_RESET_AND}]
connect_bd_net $system_reset [get_bd_pins {IP_RESET_CONCAT}/In0]
connect_bd_net [get_bd_pins {dma}/mm2s_prmry_reset_out_n] [get_bd_pins {IP_RESET_CONCAT}/In1]
connect_bd_net [get_bd_pins {dma}/s2mm_prmry_reset_out_n] [get_bd_pins {IP_RESET_CONCAT}/In2]
connect_bd_net [get_bd_pins {IP_RESET_CONCAT}/dout] [get_bd_pins {IP_RESET_AND}/Op1]
connect_bd_net [get_bd_pins {IP_RESET_AND}/Res] [get_bd_pins {ip}/ap_rst_n]
"""


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


def check_tcl(tcl: str, design: BlockDesign, hls_project: Path | None = None) -> list[Check]:
    """Compare a block-design Tcl with the description (and with the HLS project, if given).

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
        Check(
            "network IP",
            design.ip.vlnv,
            (re.findall(r"-vlnv (xilinx\.com:hls:\S+)", tcl) or [""])[0],
        ),
        Check("stream DMA -> IP", "1", str(int(f"{design.ip.cell}/in_r" in tcl))),
        Check("stream IP -> DMA", "1", str(int(f"{design.ip.cell}/out_r" in tcl))),
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
    return checks


def _ip_reset_wired(tcl: str, design: BlockDesign) -> bool:
    """The Tcl ANDs the system reset and both DMA stream resets into the IP's ap_rst_n."""
    dma, ip = design.dma.name, design.ip.cell
    needed = [
        f"connect_bd_net $system_reset [get_bd_pins {IP_RESET_CONCAT}/In0]",
        f"connect_bd_net [get_bd_pins {dma}/mm2s_prmry_reset_out_n] "
        f"[get_bd_pins {IP_RESET_CONCAT}/In1]",
        f"connect_bd_net [get_bd_pins {dma}/s2mm_prmry_reset_out_n] "
        f"[get_bd_pins {IP_RESET_CONCAT}/In2]",
        f"set_property -dict [list CONFIG.C_OPERATION {{and}} CONFIG.C_SIZE {{3}}] "
        f"[get_bd_cells {IP_RESET_AND}]",
        f"connect_bd_net [get_bd_pins {IP_RESET_AND}/Res] [get_bd_pins {ip}/ap_rst_n]",
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
