"""An emulated PYNQ-Z2: PYNQ's real DMA driver, an emulated AXI DMA, the C-simulated IP.

Without a board, the course runs the very same driver (:mod:`pynq_ia.board.driver`) against this:

- :class:`EmulatedBoard` is a ``pynq.Device`` (capability ``REGISTER_RW``) whose memory is host
  memory: ``allocate`` returns genuine ``pynq.PynqBuffer`` arrays with made-up physical addresses
  in the DDR range, and whose register space holds one AXI DMA in simple mode (registers as in
  Xilinx PG021).
- PYNQ's unmodified ``pynq.lib.dma.DMA`` drives it through ``pynq.MMIO``. The DMA's description
  comes either from a real overlay, ``pynq.Overlay(bitfile, download=False, device=board)``,
  whose ``.hwh`` PYNQ's own parser reads (:meth:`EmulatedBoard.get_bitfile_metadata`), or from an
  *emulation bundle* (:func:`pynq_ia.board.sessions.open_emulated`), a folder with the design's
  manifest, its IP library
  and test data, written by the course's host side.
- Behind the DMA sits :class:`EmulatedIP`: the hls4ml C simulation of the network
  (:class:`pynq_ia.board.csim.WordRunner`) between an input and an output stream of words with
  their TLAST bits. MM2S sends a buffer with TLAST on its last word; the IP raises TLAST on the
  last word of a frame whose input carried it; S2MM stops at the first TLAST and reports the
  bytes it received, and output words past it wait for the next receive. A receive buffer
  shorter than the packet fills up and then flags *DMA Internal Error* (PG021 calls this case
  undefined; this is what it does on the hardware), the rest of the packet staying in the IP.

Status bits follow the hardware: halted/idle, the interrupt-on-complete flag, the error bits of a
bad address or a zero length, the soft reset. Timings measured here are the host's, not the
FPGA's: pages label them *emulation*.

Board code written for a real PYNQ-Z2 runs unmodified: ``pynq.Overlay(bitfile)`` with its default
``download=True`` sets the PL clocks as the ``.hwh`` says and "downloads" the bitstream
(:meth:`EmulatedBoard.download`: PYNQ's own parser checks its header, the PL starts from reset),
and ``pynq.ps.Clocks`` reads and writes the emulated PS's clock registers
(:mod:`pynq_ia.board.zynq_clocks`). A transfer started while FCLK0 is above the design's f_max,
when the board knows it, warns. numpy, pynq and the standard library only.
"""

from __future__ import annotations

import struct
import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pynq
from pynq.buffer import PynqBuffer

from pynq_ia.board import dma_registers as reg
from pynq_ia.board.csim import WordRunner
from pynq_ia.board.overlays import OverlayError, parse_hwh
from pynq_ia.board.zynq_clocks import SystemLevelControl, attach_clocks

#: where the emulated DDR hands out buffers (the PYNQ-Z2's 512 MB of DDR start at 0)
DDR_BASE = 0x1000_0000
DDR_SIZE = 0x1000_0000
_ALIGN = 64
#: the part of the PYNQ-Z2 as a bitstream's header names it (xc7z020clg400-1)
PART = "7z020clg400"


class EmulatedIP:
    """The network IP between two AXI streams: words and TLAST bits in, words and TLAST out."""

    def __init__(self, runner: WordRunner):
        self.runner = runner
        self._empty_streams(runner.input_format.dtype, runner.output_format.dtype)
        self.frames_computed = 0
        #: set to False to emulate an IP that stopped answering: it accepts no more input
        self.responds = True

    @property
    def input_dtype(self) -> np.dtype:
        return self._in_words.dtype

    @property
    def output_dtype(self) -> np.dtype:
        return self._out_words.dtype

    def accept(self, words: np.ndarray, last: np.ndarray) -> bool:
        """Take words into the input stream; False while the IP does not answer."""
        if not self.responds:
            return False
        self._in_words = np.concatenate([self._in_words, words])
        self._in_last = np.concatenate([self._in_last, last])
        return True

    def compute(self) -> None:
        """Run every whole frame of the input stream; a partial frame waits for its rest."""
        if not self.responds:
            return
        frames = self._in_words.size // self.runner.n_in
        if frames == 0:
            return
        used = frames * self.runner.n_in
        out, out_last = self.runner.run_stream(self._in_words[:used], self._in_last[:used])
        self._in_words, self._in_last = self._in_words[used:], self._in_last[used:]
        self._out_words = np.concatenate([self._out_words, out.reshape(-1)])
        self._out_last = np.concatenate([self._out_last, out_last.reshape(-1)])
        self.frames_computed += frames

    def _empty_streams(self, in_dtype: np.dtype, out_dtype: np.dtype) -> None:
        self._in_words, self._in_last = np.empty(0, in_dtype), np.empty(0, np.uint8)
        self._out_words, self._out_last = np.empty(0, out_dtype), np.empty(0, np.uint8)

    def reset(self) -> None:
        """The IP's reset (``ap_rst_n``): a partial input frame and unread results are gone."""
        self._empty_streams(self.input_dtype, self.output_dtype)

    @property
    def input_words(self) -> int:
        """Words of a partial input frame waiting for the rest of it."""
        return self._in_words.size

    @property
    def output_words(self) -> int:
        """Words waiting in the output stream."""
        return self._out_words.size

    def take(self, max_words: int) -> tuple[np.ndarray, bool]:
        """Up to ``max_words`` output words, stopping after the first TLAST; and whether it came."""
        ends = np.flatnonzero(self._out_last[:max_words])
        count = int(ends[0]) + 1 if ends.size else min(max_words, self._out_words.size)
        words = self._out_words[:count]
        self._out_words, self._out_last = self._out_words[count:], self._out_last[count:]
        return words, bool(ends.size)


@dataclass
class _Channel:
    """One DMA channel's registers and state."""

    offset: int
    halted: bool = True
    idle: bool = False
    errors: int = 0
    ioc: bool = False
    control: int = 0
    address: int = 0
    length: int = 0
    #: MM2S: words (and TLAST bits) the IP has not accepted yet; S2MM: bytes received so far
    pending: tuple[np.ndarray, np.ndarray] | None = None
    received: int = 0
    busy: bool = False

    def status(self) -> int:
        value = self.errors
        value |= reg.DMASR_HALTED if self.halted else 0
        value |= reg.DMASR_IDLE if self.idle else 0
        value |= reg.DMASR_IOC_IRQ if self.ioc else 0
        return value

    def fail(self, error_bit: int) -> None:
        # a DMA error halts the channel (PG021): it stays so until a reset
        self.errors |= error_bit
        self.halted, self.idle, self.busy = True, False, False

    def complete(self) -> None:
        self.busy, self.idle, self.ioc = False, True, True

    def reset(self) -> None:
        self.halted, self.idle, self.errors, self.ioc = True, False, 0, False
        self.control = self.address = self.length = self.received = 0
        self.pending, self.busy = None, False


class EmulatedBoard(pynq.Device):
    """A PYNQ device with host memory, one emulated AXI DMA and the IP behind it."""

    _probe_priority_ = 1000  # registered with PYNQ; found only when made active (see below)

    @classmethod
    def _probe_(cls) -> list:
        return []

    def __init__(self, ip: EmulatedIP, *, name: str = "emulated PYNQ-Z2", activate: bool = True,
                 ip_reset_by_dma: bool = False, f_max_mhz: float | None = None):
        super().__init__(f"emulated-{id(self):x}")
        self.capabilities = {"REGISTER_RW": True}
        self.name = name
        self.ip = ip
        #: the IP's reset is wired to the DMA's stream-side reset outputs (the course's block
        #: designs): the DMA's soft reset clears the IP too; without it (hls4ml's and the
        #: original project's block designs) the IP keeps a partial frame across it
        self.ip_reset_by_dma = ip_reset_by_dma
        self.dma_base: int | None = None
        self.dma_range = 0
        self._regions: list[tuple[int, int, Any]] = []  # (start, end, weakref to the buffer)
        self._next_address = DDR_BASE
        self._registers: dict[int, int] = {}
        self.mm2s = _Channel(reg.DMA_REGISTERS["MM2S_DMACR"])
        self.s2mm = _Channel(reg.DMA_REGISTERS["S2MM_DMACR"])
        #: bytes written back (flush) and re-read (invalidate) by cache maintenance
        self.flushed_bytes: list[int] = []
        self.invalidated_bytes: list[int] = []
        #: the PS's clock registers; FCLK0 clocks the DMA and the IP
        self.slcr = SystemLevelControl()
        #: the highest FCLK0 the design meets timing at (post-route), when known
        self.f_max_mhz = f_max_mhz
        self._warned_at_mhz: float | None = None
        #: bitstreams downloaded so far (``pynq.Overlay`` with ``download=True``)
        self.downloads = 0
        if hasattr(ip, "clock_mhz"):  # an IP that counts cycles runs at this board's FCLK0
            ip.clock_mhz = lambda: self.fclk0_mhz
        if activate:
            pynq.Device.active_device = self
            attach_clocks(self)

    @property
    def fclk0_mhz(self) -> float:
        """The PL clock FCLK0 in MHz, as the PS's registers set it now."""
        return self.slcr.fclk_mhz(0)

    def attach_dma(self, base_address: int, address_range: int) -> None:
        """Place the emulated DMA's registers (PG021 simple mode) at ``base_address``."""
        self.dma_base, self.dma_range = int(base_address), int(address_range)

    # ------------------------------------------------------------------ PYNQ's overlay parser

    def get_bitfile_metadata(self, bitfile_name: str):
        """PYNQ's own parser of the overlay's ``.hwh`` (what a board's device does, minus XRT).

        ``pynq.Overlay(bitfile, download=False, device=board)`` calls this; the one AXI DMA the
        overlay holds gets the emulated registers, wherever its hierarchy puts it.
        """
        hwh = Path(bitfile_name).with_suffix(".hwh")
        parser = parse_hwh(hwh)
        dmas = {
            name: ip
            for name, ip in parser.ip_dict.items()
            if str(ip.get("type", "")).startswith(reg.AXI_DMA_TYPE)
        }
        if len(dmas) != 1:
            raise ValueError(
                f"{hwh.name}: the emulated board plays exactly one AXI DMA, the overlay has "
                f"{len(dmas)} ({sorted(dmas)})"
            )
        dma = next(iter(dmas.values()))
        self.attach_dma(dma["phys_addr"], dma["addr_range"])
        return parser

    def download(self, bitstream, parser=None) -> None:
        """Configure the PL with a full bitstream (``pynq.Overlay.download`` calls this).

        PYNQ's own header parser reads the ``.bit``: a damaged or truncated file, or one built
        for another part than the PYNQ-Z2's, is refused. Configuring the PL starts it from
        reset: both DMA channels and the IP lose their state, as on the board.
        """
        from pynq.pl_server.embedded_device import parse_bit_header

        if bitstream.partial:
            raise OverlayError("the emulated board loads full bitstreams only, not partial ones")
        path = Path(bitstream.bitfile_name)
        fix = "rebuild it or copy it again with its .hwh"
        try:
            header = parse_bit_header(path.read_bytes())
        except (OSError, RuntimeError, ValueError, IndexError, struct.error) as error:
            # RuntimeError: PYNQ's "Invalid length found"; the others: a header cut short
            raise OverlayError(f"{path.name}: not a valid bitstream ({error}); {fix}") from None
        if header.get("part") != PART:
            raise OverlayError(
                f"{path.name} was built for part {header.get('part')!r}; the PYNQ-Z2 has "
                f"xc{PART}-1 ({fix} for the PYNQ-Z2)"
            )
        self.mm2s.reset()
        self.s2mm.reset()
        self.ip.reset()
        self.post_download(bitstream, parser, self.name)  # PYNQ's: timestamps, dictionaries
        self.downloads += 1

    # ----------------------------------------------------------------------------------- memory

    def allocate(self, shape, dtype, **kwargs) -> PynqBuffer:
        dtype = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dtype.itemsize
        if self._next_address + nbytes > DDR_BASE + DDR_SIZE:
            raise MemoryError("emulated DDR exhausted")
        address = self._next_address
        self._next_address += -(-max(nbytes, 1) // _ALIGN) * _ALIGN
        buffer = PynqBuffer(
            shape,
            dtype,
            buffer=bytearray(max(nbytes, 1)),
            device=self,
            device_address=address,
            bo=0,
            coherent=False,
        )
        self._regions.append((address, address + nbytes, weakref.ref(buffer)))
        return buffer

    def flush(self, bo, offset, vaddr, nbytes) -> None:
        self.flushed_bytes.append(int(nbytes))  # host memory is device memory: nothing to do

    def invalidate(self, bo, offset, vaddr, nbytes) -> None:
        self.invalidated_bytes.append(int(nbytes))

    def _memory(self, address: int, nbytes: int) -> np.ndarray | None:
        """A byte view of [address, address + nbytes) if one live buffer holds it, else None."""
        for start, end, ref in self._regions:
            buffer = ref()
            if buffer is not None and start <= address and address + nbytes <= end:
                raw = buffer.view(np.ndarray).reshape(-1).view(np.uint8)
                return raw[address - start : address - start + nbytes]
        return None

    # -------------------------------------------------------------------------------- registers

    def _offset(self, address: int) -> int:
        if self.dma_base is None or not self.dma_base <= address < self.dma_base + self.dma_range:
            raise ValueError(f"no emulated register at {address:#x}")
        return address - self.dma_base

    def _channel(self, offset: int) -> tuple[_Channel, int]:
        channel = self.mm2s if offset < self.s2mm.offset else self.s2mm
        return channel, offset - channel.offset

    def read_registers(self, address: int, length: int) -> bytes:
        if self.slcr.holds(address):
            return self.slcr.read(address).to_bytes(4, "little")[:length]
        channel, relative = self._channel(self._offset(address))
        if relative == 0x04:  # DMASR: the driver polls it; let the streams move first
            self._service()
            value = channel.status()
        elif relative == 0x00:
            value = channel.control & ~reg.DMACR_RESET  # a reset completes at once
        elif relative == 0x28:  # LENGTH; for S2MM, the bytes received once it completed
            value = channel.received if channel is self.s2mm and channel.idle else channel.length
        else:
            value = self._registers.get(address - self.dma_base, 0)
        return int(value).to_bytes(4, "little")[:length]

    def write_registers(self, address: int, data) -> None:
        value = int.from_bytes(bytes(data), "little") if not isinstance(data, int) else data
        if self.slcr.holds(address):
            self.slcr.write(address, value)
            return
        offset = self._offset(address)
        channel, relative = self._channel(offset)
        if relative == 0x00:  # DMACR
            if value & reg.DMACR_RESET:
                # a soft reset resets the whole DMA, both channels (PG021), and drives its
                # mm2s/s2mm_prmry_reset_out_n: the IP follows only where they are wired to it
                self.mm2s.reset()
                self.s2mm.reset()
                if self.ip_reset_by_dma:
                    self.ip.reset()
                return
            channel.control = value
            if value & reg.DMACR_RUN and not channel.errors:
                channel.halted = False
            elif not value & reg.DMACR_RUN:
                channel.halted, channel.idle, channel.busy = True, False, False
        elif relative == 0x04:  # DMASR: write 1 to clear the interrupt flags
            if value & reg.DMASR_IOC_IRQ:
                channel.ioc = False
        elif relative in (0x18, 0x1C):  # SA / DA and their upper 32 bits
            if relative == 0x18:
                channel.address = (channel.address & ~0xFFFF_FFFF) | value
            else:
                channel.address = (channel.address & 0xFFFF_FFFF) | (value << 32)
        elif relative == 0x28:  # LENGTH: starts the transfer
            channel.length = value
            self._start(channel)
        else:
            self._registers[offset] = value

    def _check_clock(self) -> None:
        """Warn when a transfer starts with FCLK0 above the design's f_max (once per clock).

        Checked when the clock matters, not when its registers are written: PYNQ writes the
        two dividers one after the other, and the clock between the writes is no setting."""
        fclk0 = self.fclk0_mhz
        if self.f_max_mhz is None or fclk0 <= self.f_max_mhz or fclk0 == self._warned_at_mhz:
            return
        self._warned_at_mhz = fclk0
        warnings.warn(
            f"FCLK0 is {fclk0:g} MHz, above the design's f_max of {self.f_max_mhz:g} MHz "
            "(post-route timing): on the board the IP would miss timing and may compute wrong "
            "results; the emulation cannot show that",
            stacklevel=2,
        )

    # -------------------------------------------------------------------------------- transfers

    def _start(self, channel: _Channel) -> None:
        if channel.halted:
            return  # a halted channel ignores LENGTH writes, as on hardware
        self._check_clock()
        if channel.length == 0:
            channel.fail(reg.DMASR_INTERNAL_ERROR)
            return
        memory = self._memory(channel.address, channel.length)
        if memory is None:
            channel.fail(reg.DMASR_DECODE_ERROR)
            return
        channel.idle, channel.busy, channel.received = False, True, 0
        if channel is self.mm2s:
            dtype = self.ip.input_dtype
            if channel.length % dtype.itemsize:
                raise ValueError(
                    f"the emulated DMA moves whole {dtype.itemsize}-byte words, not "
                    f"{channel.length} bytes"
                )
            words = memory.view(dtype).copy()
            last = np.zeros(words.size, dtype=np.uint8)
            last[-1] = 1  # MM2S raises TLAST on the last word of a transfer
            channel.pending = (words, last)
        self._service()

    def _service(self) -> None:
        """Move the streams: MM2S into the IP, the IP's results into the S2MM buffer."""
        if self.mm2s.busy and self.mm2s.pending is not None and self.ip.accept(*self.mm2s.pending):
            self.mm2s.pending = None
            self.mm2s.complete()
        if not self.s2mm.busy:
            return
        self.ip.compute()
        itemsize = self.ip.output_dtype.itemsize
        room = (self.s2mm.length - self.s2mm.received) // itemsize
        words, ended = self.ip.take(room)
        if words.size:
            payload = words.view(np.uint8)
            target = self._memory(self.s2mm.address + self.s2mm.received, payload.size)
            target[:] = payload
            self.s2mm.received += payload.size
        if ended:
            self.s2mm.complete()  # simple mode: LENGTH now reads the bytes received
        elif self.s2mm.received + itemsize > self.s2mm.length and self.ip.output_words:
            # the packet goes on past the end of the buffer
            self.s2mm.fail(reg.DMASR_INTERNAL_ERROR)

    # ----------------------------------------------------------------------------- PYNQ's DMA

    def dma_description(self, parameters: dict[str, str], name: str = "axi_dma") -> dict[str, Any]:
        """The IP-dict entry of the DMA, as PYNQ builds it from an overlay's ``.hwh``."""
        if self.dma_base is None:
            raise ValueError("attach the DMA first (attach_dma)")
        return {
            "fullpath": name,
            "type": "xilinx.com:ip:axi_dma:7.1",
            "phys_addr": self.dma_base,
            "addr_range": self.dma_range,
            "parameters": dict(parameters),
            "interrupts": {},
            "gpio": {},
            "registers": {},
            "device": self,
        }


class EmulatedOverlay:
    """What the course driver uses of a ``pynq.Overlay``: ``ip_dict``, ``device``, the DMA.

    For designs without a ``.hwh`` (the course's own, before Vivado builds them): the DMA's
    description comes from the design's manifest, its driver is PYNQ's ``DMA``.
    """

    def __init__(self, board: EmulatedBoard, dma_parameters: dict[str, str], name: str = "axi_dma"):
        from pynq.lib.dma import DMA

        self.device = board
        description = board.dma_description(dma_parameters, name)
        self.ip_dict = {name: description}
        self._drivers = {name: DMA(description)}

    def __getattr__(self, name: str):
        drivers = self.__dict__.get("_drivers", {})
        if name in drivers:
            return drivers[name]
        raise AttributeError(f"emulated overlay has no IP {name!r}; it has {sorted(drivers)}")

    def __repr__(self) -> str:
        return f"<EmulatedOverlay on {self.device.name}>"
