"""An emulated PYNQ-Z2 overlay: PYNQ's real DMA driver, an emulated AXI DMA, the C-simulated IP.

Without a board, chapter 7 runs the very same driver (:mod:`pynq_ia.driver`) against this:

- :class:`EmulatedBoard` is a ``pynq.Device`` (registered with PYNQ, capability ``REGISTER_RW``)
  whose memory is host memory: ``allocate`` returns genuine ``pynq.PynqBuffer`` arrays with
  made-up physical addresses in the DDR range, and whose register space holds one AXI DMA
  (simple mode, registers as in Xilinx PG021) at the address of the block design.
- PYNQ's unmodified ``pynq.lib.dma.DMA`` drives it through ``pynq.MMIO``, with the DMA metadata
  the overlay's ``.hwh`` would give (built from :class:`pynq_ia.blockdesign.BlockDesign`, no .hwh
  file involved).
- Writing the S2MM LENGTH register plays the IP: the frames the MM2S channel read from "DDR" go
  through the hls4ml C simulation of the same model as raw AXI words
  (:class:`pynq_ia.convert.WordRunner`), and the results are written to the S2MM buffer. Status
  bits follow the hardware: halted/idle, the interrupt-on-complete flag, and the error bits a
  bad address or a zero length produce (PYNQ's driver turns them into its usual errors).

Timings measured here are the laptop's, not the FPGA's: pages label them *emulation*.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np
import pynq
from pynq.buffer import PynqBuffer

from pynq_ia import dma_registers as bd
from pynq_ia.blockdesign import BlockDesign

#: where the emulated DDR hands out buffers (the PYNQ-Z2's 512 MB of DDR start at 0)
DDR_BASE = 0x1000_0000
DDR_SIZE = 0x1000_0000
_ALIGN = 64


@dataclass
class _Channel:
    offset: int
    halted: bool = True
    idle: bool = False
    errors: int = 0
    ioc: bool = False
    address: int = 0
    length: int = 0

    def status(self) -> int:
        value = self.errors
        value |= bd.DMASR_HALTED if self.halted else 0
        value |= bd.DMASR_IDLE if self.idle else 0
        value |= bd.DMASR_IOC_IRQ if self.ioc else 0
        return value

    def fail(self, error_bit: int) -> None:
        # a DMA error halts the channel (PG021): it stays so until reset
        self.errors |= error_bit
        self.halted = True
        self.idle = False


class EmulatedBoard(pynq.Device):
    """A PYNQ device that emulates the overlay of one :class:`BlockDesign`."""

    _probe_priority_ = 1000  # registered with PYNQ; found only when made active (see below)

    @classmethod
    def _probe_(cls) -> list:
        return []

    def __init__(self, design: BlockDesign, runner, *, activate: bool = True):
        super().__init__(f"emulated-{design.board}-{design.design}")
        self.capabilities = {"REGISTER_RW": True}
        self.name = f"emulated {design.board} ({design.design})"
        self.design = design
        self.runner = runner
        self._regions: list[tuple[int, int, Any]] = []  # (start, end, weakref to the buffer)
        self._next_address = DDR_BASE
        self._registers: dict[int, int] = {}
        self.mm2s = _Channel(bd.DMA_REGISTERS["MM2S_DMACR"])
        self.s2mm = _Channel(bd.DMA_REGISTERS["S2MM_DMACR"])
        self._stream: np.ndarray | None = None  # words the MM2S channel pushed to the IP
        self.frames_computed = 0
        self.cache_operations = 0
        #: set to False to emulate an IP that stopped answering (the receive never completes)
        self.ip_responds = True
        if activate:
            pynq.Device.active_device = self

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
        self.cache_operations += 1  # host memory is the device memory: nothing to write back

    def invalidate(self, bo, offset, vaddr, nbytes) -> None:
        self.cache_operations += 1

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
        base = self.design.dma.base_address
        if not base <= address < base + self.design.dma.address_range:
            raise ValueError(f"no emulated register at {address:#x}")
        return address - base

    def read_registers(self, address: int, length: int) -> bytes:
        offset = self._offset(address)
        if offset in (self.mm2s.offset + 4, self.s2mm.offset + 4):
            channel = self.mm2s if offset == self.mm2s.offset + 4 else self.s2mm
            value = channel.status()
        elif offset in (self.mm2s.offset, self.s2mm.offset):
            channel = self.mm2s if offset == self.mm2s.offset else self.s2mm
            value = 0 if channel.halted else bd.DMACR_RUN
        elif offset in (self.mm2s.offset + 0x28, self.s2mm.offset + 0x28):  # LENGTH
            value = (self.mm2s if offset == self.mm2s.offset + 0x28 else self.s2mm).length
        else:
            value = self._registers.get(offset, 0)
        return int(value).to_bytes(4, "little")[:length]

    def write_registers(self, address: int, data) -> None:
        offset = self._offset(address)
        value = int.from_bytes(bytes(data), "little") if not isinstance(data, int) else data
        channel = self.mm2s if offset < self.s2mm.offset else self.s2mm
        relative = offset - channel.offset
        if relative == 0x00:  # DMACR
            if value & bd.DMACR_RESET:
                self._reset(channel)
            elif value & bd.DMACR_RUN and not channel.errors:
                channel.halted = False
            elif not value & bd.DMACR_RUN:
                channel.halted, channel.idle = True, False
        elif relative == 0x04:  # DMASR: write 1 to clear the interrupt flags
            if value & bd.DMASR_IOC_IRQ:
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

    def _reset(self, channel: _Channel) -> None:
        channel.halted, channel.idle, channel.errors, channel.ioc = True, False, 0, False
        channel.length = 0
        if channel is self.mm2s:
            self._stream = None

    # -------------------------------------------------------------------------------- transfers

    def _start(self, channel: _Channel) -> None:
        if channel.halted:
            return  # a halted channel ignores LENGTH writes, as on hardware
        if channel.length == 0:
            channel.fail(bd.DMASR_INTERNAL_ERROR)
            return
        memory = self._memory(channel.address, channel.length)
        if memory is None:
            channel.fail(bd.DMASR_DECODE_ERROR)
            return
        channel.idle = False
        if channel is self.mm2s:
            words = memory.view(self.runner.input_format.dtype).copy()
            self._stream = words if self._stream is None else np.concatenate([self._stream, words])
        self._run_ip()

    def _run_ip(self) -> None:
        """When a receive transfer waits and whole frames are in the stream, compute them."""
        if self.s2mm.idle or self.s2mm.halted or self.s2mm.length == 0 or not self.ip_responds:
            return
        if self._stream is None or self._stream.size < self.runner.n_in:
            return  # the IP waits for input: the receive channel stays busy
        frames = self._stream.size // self.runner.n_in
        consumed = frames * self.runner.n_in
        out_words = self.runner.run(self._stream[:consumed])
        self._stream = self._stream[consumed:] if consumed < self._stream.size else None
        self.frames_computed += frames
        payload = out_words.reshape(-1).view(np.uint8)
        # the stream ends with TLAST after the last frame: S2MM stops there (or at its length)
        written = min(payload.size, self.s2mm.length)
        target = self._memory(self.s2mm.address, written)
        target[:] = payload[:written]
        self.s2mm.length = written  # simple mode: S2MM LENGTH reports the bytes received
        for channel in (self.mm2s, self.s2mm):
            if not channel.halted:
                channel.idle, channel.ioc = True, True

    # ----------------------------------------------------------------------------- PYNQ's DMA

    def dma_description(self) -> dict[str, Any]:
        """The IP-dict entry of the DMA, as PYNQ would build it from the overlay's .hwh."""
        dma = self.design.dma
        return {
            "fullpath": dma.name,
            "type": "xilinx.com:ip:axi_dma:7.1",
            "phys_addr": dma.base_address,
            "addr_range": dma.address_range,
            "parameters": dma.hwh_parameters(),
            "interrupts": {},
            "gpio": {},
            "registers": {},
            "device": self,
        }


class EmulatedOverlay:
    """What the driver needs from a ``pynq.Overlay``: ``axi_dma`` and ``device``."""

    def __init__(self, design: BlockDesign, runner):
        from pynq.lib.dma import DMA

        self.design = design
        self.device = EmulatedBoard(design, runner)
        self.axi_dma = DMA(self.device.dma_description())

    def __repr__(self) -> str:
        return f"<EmulatedOverlay {self.design.design} on {self.device.name}>"


def emulated_driver(design: BlockDesign, runner, **kwargs):
    """The course driver on an emulated overlay of ``design`` running ``runner``."""
    from pynq_ia.driver import NeuralNetworkOverlay

    overlay = EmulatedOverlay(design, runner)
    driver = NeuralNetworkOverlay(
        overlay.axi_dma,
        overlay.device,
        n_in=design.ip.n_in,
        n_out=design.ip.n_out,
        input_type=design.ip.input_type,
        output_type=design.ip.output_type,
        **kwargs,
    )
    driver.overlay = overlay
    return driver


def open_emulated_design(name: str, *, frames: int | None = None, **kwargs):
    """Off the board: the design's emulated overlay, its test frames and C-simulation scores.

    Loads (or trains) the QKeras model, compiles its hls4ml C simulation and describes its block
    design, exactly as chapter 4 and 6 do; ``frames`` limits the test set.
    """
    from pynq_ia import convert, models
    from pynq_ia.blockdesign import describe_model
    from pynq_ia.driver import DesignSession

    spec = models.spec(name)
    dataset = models.load_dataset(spec.task)
    model = models.trained_model(name, "qkeras", dataset)
    project = convert.hls_project(name, model)
    design = describe_model(name, model)
    count = len(dataset.y_test) if frames is None else min(frames, len(dataset.y_test))
    x = dataset.x_test[:count].reshape(count, -1)
    return DesignSession(
        name=name,
        driver=emulated_driver(design, project.words, **kwargs),
        x=x,
        y=dataset.y_test[:count],
        class_names=dataset.class_names,
        reference_scores=project.hls4ml_predict(x),
        fidelity="emulation",
    )
