"""Published DMA inference runs on a PYNQ-Z2, measured by others: what the board model is fitted
to and checked against (:mod:`pynq_ia.board.performance`). Nobody on this project has a board;
these numbers are copied, with their sources, from the saved outputs and result files of two
public repositories (read, not copied: no file of theirs is in this one).

- **The original PYNQ_IA project** (github Gabriele-bot/PYNQ_IA, commit f77db00,
  ``PYNQ_files/MNIST/PYNQ_MNIST.ipynb``, saved outputs of cells 39-40 and 47-49): its MNIST CNN and
  DNN overlays with 32-bit float stream words (the ``.hwh`` files in ``../shared/hwh``), timed
  with ``datetime`` around ``predict`` for 50 batch sizes each, on PYNQ 2.x. Its driver, like
  hls4ml's PYNQ driver before 2021-11, allocates both DMA buffers on every call (``with
  allocate(...)``), copies the frames in, transfers, waits, copies the result out and flushes the
  input buffer once more. The notebook set FCLK0 to 200 MHz (CNN) and 166.67 MHz (DNN) with
  ``Clocks.fclk0_mhz`` before timing; both ``.hwh`` say 100 MHz.
- **A re-run of the hls4ml tutorial's jet tagger** (github
  Liu-Zhiheng/hls4ml-pynqz2-vivado2019-2-results: ``results/results_summary.json``,
  ``results/raw/fpga_batch_one_run*.json``, ``notebooks/part7b_deployment_executed_pynqz2.ipynb``,
  ``vivado_reports/``): hls4ml's own PYNQ driver (buffers allocated once, 32-bit float words),
  PYNQ 3.1.1, FCLK0 100 MHz; 166,000 frames in one call (0.235829 s) and a batch of one (median
  940.09 µs, mean of 3 runs of 5,000 calls). Its Vivado HLS report gives the IP's latency and
  interval: 95 cycles per frame (the input loop 23, the network 55, the output loop 13, and the
  wrapper's own states).

numpy-free and standard library only: it ships to the board with the model.
"""

from __future__ import annotations

from dataclasses import dataclass

ORIGINAL_PROJECT = "original PYNQ_IA project (Gabriele-bot/PYNQ_IA, PYNQ_MNIST.ipynb)"
HLS4ML_RERUN = "hls4ml tutorial re-run (Liu-Zhiheng/hls4ml-pynqz2-vivado2019-2-results)"


@dataclass(frozen=True)
class BoardRun:
    """One design timed on a PYNQ-Z2 by someone else: what ran, how, and the (frames, seconds)
    of each ``predict`` call."""

    name: str
    source: str
    #: which driver made the calls: a key of pynq_ia.board.performance.DRIVERS
    driver: str
    n_in: int
    n_out: int
    #: bytes of one AXI word on the streams (32-bit floats here)
    word_bytes: int
    fclk0_mhz: float
    #: the IP's cycles per frame, from a Vivado HLS report, or None when none is published
    ip_cycles: int | None
    ip_cycles_source: str
    points: tuple[tuple[int, float], ...]

    @property
    def frames(self) -> list[int]:
        return [frames for frames, _ in self.points]

    @property
    def seconds(self) -> list[float]:
        return [seconds for _, seconds in self.points]


ORIGINAL_CNN = BoardRun(
    name="original MNIST CNN (float words, 200 MHz)",
    source=ORIGINAL_PROJECT,
    driver="allocates per call",
    n_in=784,
    n_out=10,
    word_bytes=4,
    fclk0_mhz=200.0,
    # the report of the same network built with 8-bit stream words (the float build's report is
    # not published): NN_train/MNIST_Test/HLS_projects/Qkeras_pruned_CNN/.../myproject_axi
    # .verbose.rpt, interval 6274 cycles (dataflow) at a 5 ns target
    ip_cycles=6274,
    ip_cycles_source="its HLS report with 8-bit words (interval; the float build's is not "
                     "published)",
    points=(
        (200, 0.096361), (400, 0.088397), (600, 0.098874), (800, 0.114416), (1000, 0.130500),
        (1200, 0.150718), (1400, 0.159247), (1600, 0.179395), (1800, 0.193297),
        (2000, 0.215882), (2200, 0.225626), (2400, 0.243649), (2600, 0.262740),
        (2800, 0.278057), (3000, 0.288124), (3200, 0.303808), (3400, 0.319077),
        (3600, 0.341545), (3800, 0.356995), (4000, 0.375680), (4200, 0.385528),
        (4400, 0.399858), (4600, 0.414630), (4800, 0.431220), (5000, 0.447376),
        (5200, 0.463573), (5400, 0.479162), (5600, 0.494397), (5800, 0.510634),
        (6000, 0.527294), (6200, 0.542348), (6400, 0.559304), (6600, 0.575457),
        (6800, 0.593252), (7000, 0.607887), (7200, 0.623413), (7400, 0.638574),
        (7600, 0.655582), (7800, 0.672014), (8000, 0.686339), (8200, 0.703652),
        (8400, 0.719411), (8600, 0.734249), (8800, 0.749954), (9000, 0.766679),
        (9200, 0.782748), (9400, 0.798657), (9600, 0.814113), (9800, 0.831596),
        (10000, 0.846548), (10000, 0.866260),
    ),
)

ORIGINAL_DNN = BoardRun(
    name="original MNIST DNN (float words, 166.67 MHz)",
    source=ORIGINAL_PROJECT,
    driver="allocates per call",
    n_in=784,
    n_out=10,
    word_bytes=4,
    fclk0_mhz=500.0 / 3,
    ip_cycles=None,
    ip_cycles_source="no HLS report published",
    points=(
        (200, 0.099900), (400, 0.089452), (600, 0.102028), (800, 0.115753), (1000, 0.117638),
        (1200, 0.131931), (1400, 0.137080), (1600, 0.149600), (1800, 0.158558),
        (2000, 0.169061), (2200, 0.177001), (2400, 0.188324), (2600, 0.194784),
        (2800, 0.211715), (3000, 0.222011), (3200, 0.228540), (3400, 0.237094),
        (3600, 0.246093), (3800, 0.268281), (4000, 0.268025), (4200, 0.278441),
        (4400, 0.280847), (4600, 0.290971), (4800, 0.301440), (5000, 0.312569),
        (5200, 0.321699), (5400, 0.332027), (5600, 0.342900), (5800, 0.353529),
        (6000, 0.364467), (6200, 0.374521), (6400, 0.385496), (6600, 0.395250),
        (6800, 0.410788), (7000, 0.417135), (7200, 0.427470), (7400, 0.470744),
        (7600, 0.449982), (7800, 0.459235), (8000, 0.500527), (8200, 0.481049),
        (8400, 0.491064), (8600, 0.500927), (8800, 0.547091), (9000, 0.522362),
        (9200, 0.534040), (9400, 0.568932), (9600, 0.555004), (9800, 0.567845),
        (10000, 0.601916), (10000, 0.592712),
    ),
)

HLS4ML_JET = BoardRun(
    name="hls4ml tutorial jet tagger (float words, 100 MHz)",
    source=HLS4ML_RERUN,
    driver="hls4ml",
    n_in=16,
    n_out=5,
    word_bytes=4,
    fclk0_mhz=100.0,
    ip_cycles=95,
    ip_cycles_source="its Vivado HLS report: latency = interval = 95 cycles",
    points=((1, 940.0935e-6), (166_000, 0.235829)),
)

RUNS = (ORIGINAL_CNN, ORIGINAL_DNN, HLS4ML_JET)
