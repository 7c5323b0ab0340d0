"""The AXI DMA's registers in simple mode (Xilinx PG021), shared by the board driver, the block
design description and the emulated board. Standard library only: it ships to the board."""

#: the course's DMA memory-map data width: 32 bits is the IP's minimum and what HP0 takes best
MEMORY_MAP_BITS = 32
#: offsets from the DMA's base address
DMA_REGISTERS: dict[str, int] = {
    "MM2S_DMACR": 0x00,
    "MM2S_DMASR": 0x04,
    "MM2S_SA": 0x18,
    "MM2S_SA_MSB": 0x1C,
    "MM2S_LENGTH": 0x28,
    "S2MM_DMACR": 0x30,
    "S2MM_DMASR": 0x34,
    "S2MM_DA": 0x48,
    "S2MM_DA_MSB": 0x4C,
    "S2MM_LENGTH": 0x58,
}
#: status register (DMASR) bits
DMASR_HALTED = 0x0001
DMASR_IDLE = 0x0002
DMASR_INTERNAL_ERROR = 0x0010
DMASR_SLAVE_ERROR = 0x0020
DMASR_DECODE_ERROR = 0x0040
DMASR_IOC_IRQ = 0x1000
#: control register (DMACR) bits
DMACR_RUN = 0x0001
#: soft reset: resets the whole DMA (both channels); reads 1 until the reset is done
DMACR_RESET = 0x0004

DMASR_ERRORS = {
    DMASR_INTERNAL_ERROR: (
        "DMA Internal Error (a zero transfer length, or a stream packet longer than the "
        "receive buffer)"
    ),
    DMASR_SLAVE_ERROR: "DMA Slave Error (the memory refused the access)",
    DMASR_DECODE_ERROR: "DMA Decode Error (invalid address: not a buffer the DMA can reach)",
}


def describe_status(status: int) -> list[str]:
    """The errors a DMASR value reports (empty when there are none)."""
    return [text for bit, text in DMASR_ERRORS.items() if status & bit]

#: the VLNV prefix of Xilinx's AXI DMA in an overlay's IP dictionary (any version)
AXI_DMA_TYPE = "xilinx.com:ip:axi_dma:"
