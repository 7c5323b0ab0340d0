"""Everything of the course that runs on the PYNQ-Z2 board (and on its emulation).

- :mod:`~pynq_ia.board.driver`: DMA inference through PYNQ (``NeuralNetworkOverlay``);
- :mod:`~pynq_ia.board.words`: the IP's AXI words (``ap_fixed`` and float), exact in numpy;
- :mod:`~pynq_ia.board.dma_registers`: the AXI DMA's registers (Xilinx PG021);
- :mod:`~pynq_ia.board.overlays`: design folders and their manifests, checked before use;
- :mod:`~pynq_ia.board.measure`: batch sweeps, the DMA cost model, accuracy and AUC;
- :mod:`~pynq_ia.board.emulation` and :mod:`~pynq_ia.board.csim`: the emulated board, with the
  IP's C simulation behind PYNQ's own DMA driver.

The folder imports only numpy, pynq and the standard library (a test holds that rule) and runs
on Python 3.10, the board image's; the rest of ``pynq_ia`` may import it, never the reverse. The
board package (``make -C hw_builds package``) ships this folder with the built designs.
"""
