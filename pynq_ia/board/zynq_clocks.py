"""The emulated board's PS clocks: the SLCR registers that PYNQ's ``Clocks`` reads and writes.

On a PYNQ-Z2, ``pynq.Overlay.download`` sets the PL clocks from the overlay's ``.hwh`` (its
``clock_dict``): each clock the ``.hwh`` enables gets its two dividers (not its source PLL),
each disabled one PYNQ's default of 100 MHz. Board code may change FCLK0 with
``pynq.ps.Clocks.fclk0_mhz = 166`` (the original project's notebook did). Both end in PYNQ's
``_ClocksZynq``, which writes the Zynq-7000 SLCR's clock registers through ``pynq.MMIO`` at
0xF800_0000 (the register offsets and fields are PYNQ's ``ZYNQ_SLCR_REGISTERS`` in
``pynq/ps.py``; Xilinx UG585 lists the same registers). Off the board PYNQ has no clocks to
offer: 3.0.1 picks the clock class from the host's CPU and refuses ("Architecture not supported
for Clocks"); 3.1.2 picks it from the device's ``arch``, which only a board's device sets.

:class:`SystemLevelControl` holds those registers for the emulated board, which answers PYNQ's
MMIO on them, and :func:`attach_clocks` gives PYNQ's own ``_ClocksZynq`` to ``Clocks`` with the
emulated board as its device, so the arithmetic of dividers and frequencies stays PYNQ's. That
needs two private names of ``pynq.ps``, ``_ClocksZynq`` and ``Clocks._real_instance`` (the
instance ``Clocks`` makes once and keeps); ``tests/board`` pins both in PYNQ 3.0.1 and 3.1.2.

At boot the emulated PS runs as the PS7 configuration of the real PYNQ-Z2 overlays in
``../shared/hwh`` says (its ``PCW_*`` parameters; a test compares): a 50 MHz crystal, PLL
feedback dividers 26 (ARM), 21 (DDR) and 20 (IO), the CPU at ARM PLL / 2 = 650 MHz, FCLK0 at
IO PLL / 5 / 2 = 100 MHz. FCLK1-3, disabled there, start at 100 MHz, the value
``Overlay.download`` gives disabled clocks. Standard library and pynq only: it ships to the
board.
"""

from __future__ import annotations

import inspect

#: where PYNQ maps the SLCR (``_ClocksZynq.SLCR_BASE_ADDRESS``) and how much of it
SLCR_BASE = 0xF800_0000
SLCR_SPAN = 0x200
#: the PS reference clock of the PYNQ-Z2 (``PCW_CRYSTAL_PERIPHERAL_FREQMHZ``)
CRYSTAL_MHZ = 50.0

ARM_PLL_CTRL, DDR_PLL_CTRL, IO_PLL_CTRL, ARM_CLK_CTRL = 0x100, 0x104, 0x108, 0x120
#: FPGA0_CLK_CTRL ... FPGA3_CLK_CTRL: the four PL clocks
FPGA_CLK_CTRL = (0x170, 0x180, 0x190, 0x1A0)


def _field(value: int, offset: int, width: int) -> int:
    return (value >> offset) & ((1 << width) - 1)


def _pll(feedback_divider: int) -> int:
    return feedback_divider << 12  # PLL_FDIV, bits 18:12


def _fpga_clock(divisor0: int, divisor1: int, source: int = 0) -> int:
    return (divisor1 << 20) | (divisor0 << 8) | (source << 4)  # DIVISOR1, DIVISOR0, SRCSEL


#: the registers at boot (see the module's docstring for where each value comes from)
BOOT_VALUES = {
    ARM_PLL_CTRL: _pll(26),
    DDR_PLL_CTRL: _pll(21),
    IO_PLL_CTRL: _pll(20),
    ARM_CLK_CTRL: (2 << 8) | (0 << 4),  # DIVISOR 2, SRCSEL 0: the ARM PLL
    **{register: _fpga_clock(5, 2) for register in FPGA_CLK_CTRL},  # IO PLL / 5 / 2
}


class SystemLevelControl:
    """The SLCR clock registers of the emulated PS: 32-bit words at offsets from 0xF800_0000."""

    def __init__(self):
        self._registers = dict(BOOT_VALUES)

    @staticmethod
    def holds(address: int) -> bool:
        return SLCR_BASE <= address < SLCR_BASE + SLCR_SPAN

    def read(self, address: int) -> int:
        return self._registers.get(address - SLCR_BASE, 0)

    def write(self, address: int, value: int) -> None:
        self._registers[address - SLCR_BASE] = int(value) & 0xFFFF_FFFF

    def _pll_mhz(self, register: int) -> float:
        return CRYSTAL_MHZ * _field(self._registers[register], 12, 7)

    def fclk_mhz(self, index: int) -> float:
        """PL clock ``index`` (0-3) in MHz: its source PLL over its two dividers."""
        value = self._registers[FPGA_CLK_CTRL[index]]
        # SRCSEL: 0x selects the IO PLL, 10 the ARM PLL, 11 the DDR PLL (as PYNQ reads it)
        source = (IO_PLL_CTRL, IO_PLL_CTRL, ARM_PLL_CTRL, DDR_PLL_CTRL)[_field(value, 4, 2)]
        dividers = _field(value, 8, 6) * _field(value, 20, 6)
        if dividers == 0:
            raise ValueError(f"FCLK{index} has a zero divider: the clock is stopped")
        return self._pll_mhz(source) / dividers

    def cpu_mhz(self) -> float:
        value = self._registers[ARM_CLK_CTRL]
        source = (ARM_PLL_CTRL, ARM_PLL_CTRL, DDR_PLL_CTRL, IO_PLL_CTRL)[_field(value, 4, 2)]
        return self._pll_mhz(source) / _field(value, 8, 6)


def attach_clocks(device) -> None:
    """Make ``pynq.ps.Clocks`` program ``device``'s SLCR (the emulated board's), with PYNQ's own
    Zynq-7000 clock class; ``Clocks`` follows the board last created with ``activate=True``."""
    from pynq import ps

    if "device" in inspect.signature(ps._ClocksZynq.__init__).parameters:  # PYNQ 3.1.2
        clocks = ps._ClocksZynq(device=device)
        ps.Clocks.set_device(device)
    else:  # PYNQ 3.0.1: the MMIO goes to the active device, which ``device`` must be
        clocks = ps._ClocksZynq()
        if clocks._slcr_mmio.device is not device:
            raise RuntimeError("attach_clocks: make the emulated board the active device first")
    ps.Clocks._real_instance = clocks
