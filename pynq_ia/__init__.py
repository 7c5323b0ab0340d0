"""PYNQ_IA: the helper package of the course, one module per stage of the flow.

Stages: ``data`` -> ``models`` -> ``compress`` -> ``convert`` -> ``estimate`` ->
``blockdesign`` -> ``board`` (everything that runs on the PYNQ-Z2: the DMA driver, and the
emulated board) -> ``results``. ``emulation`` prepares the course's designs for the emulated
board; ``profile`` chooses dataset sizes and epochs, ``artifacts`` where outputs are cached.

Importing the package is cheap and imports neither TensorFlow nor hls4ml: the board package
ships this file with ``pynq_ia/board/`` to the PYNQ image.
"""

import os

# TensorFlow's C++ layer logs several lines of start-up chatter (CUDA plugins it cannot find on
# a CPU machine) on every import; keep the pages readable. Python exceptions are unaffected.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

__version__ = "0.1.0"
