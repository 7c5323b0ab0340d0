"""The course's designs, one table: everything the flow needs to know about each network.

A *design* is a network for one task together with everything that turns it into hardware on
the PYNQ-Z2: its float and QKeras layers (a factory, written out below), how it is
compressed and trained, how hls4ml converts it (:class:`HLSSettings`), the size of a frame and
the words that carry it over the DMA, the open-RTL variant where it has one,
the accuracy it must reach per profile and data source, and the figures the original PYNQ_IA
project published for its own version (labelled references, never results).

Every stage reads this table and nothing else holds per-design constants: training, conversion,
the block design, the emulated board, chapter 9's tables, ``hw_builds/Makefile`` (``python -m
pynq_ia.designs`` prints the overlays: each design's, and ``<name>_rtl`` for an RTL variant)
and the tests. **Adding a network is one entry**: a factory and a :class:`Design`, added with
:func:`register` (``tests/test_designs.py`` takes a toy design through training, conversion,
C simulation and the emulated DMA that way).

==============  ==========================================================  =======
design          topology                                                    task
==============  ==========================================================  =======
``jet_dnn``     16 -> 64 -> 32 -> 32 -> 5, ReLU, softmax                    jets
``mnist_dnn``   784 -> 128 -> 64 -> 10, ReLU, softmax                       mnist
``mnist_cnn``   28x28x1 -> conv 3x3x8 -> pool -> conv 3x3x16 -> pool        mnist
                -> conv 3x3x16 -> 10, ReLU, softmax
==============  ==========================================================  =======
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from pynq_ia.board.words import WordFormat, word_format
from pynq_ia.compress import Pruning, Quantization
from pynq_ia.profile import Profile

# ----------------------------------------------------------------------------------- networks
# One factory per network: given a Quantization, QKeras layers with those widths; given None,
# 32-bit float Keras layers. Both flavours have the same layers with the same names (``inputs``,
# ``fc1``, ``relu1``, ..., ``output``, ``softmax``): hls4ml's per-layer configuration refers to
# them (and reserves the name ``input``). The softmax stays a float Keras activation; hls4ml
# implements it with lookup tables.


def jet_dnn_float():
    """The jet tagger of the hls4ml paper in 32-bit floats: 16 -> 64 -> 32 -> 32 -> 5."""
    from tensorflow import keras

    return keras.Sequential(
        [
            keras.layers.Input(shape=(16,), name="inputs"),
            keras.layers.Dense(64, kernel_initializer="lecun_uniform", name="fc1"),
            keras.layers.Activation("relu", name="relu1"),
            keras.layers.Dense(32, kernel_initializer="lecun_uniform", name="fc2"),
            keras.layers.Activation("relu", name="relu2"),
            keras.layers.Dense(32, kernel_initializer="lecun_uniform", name="fc3"),
            keras.layers.Activation("relu", name="relu3"),
            keras.layers.Dense(5, kernel_initializer="lecun_uniform", name="output"),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="jet_dnn",
    )


def jet_dnn_qkeras(quantization: Quantization):
    """The same jet tagger with QKeras layers: fixed-point weights, biases and activations.

    ``quantized_bits(bits, integer, alpha=1)`` rounds a weight to ``bits`` bits, ``integer``
    of them before the binary point (plus the sign); ``quantized_relu(bits, integer)`` is a
    ReLU whose output is an unsigned ``bits``-bit number. The softmax stays a float Keras
    activation: hls4ml implements it with lookup tables.
    """
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow import keras

    q = quantization
    weights = quantized_bits(q.bits, q.weight_integer, alpha=1)  # kernels and biases alike
    relu = quantized_relu(q.relu_bits, q.activation_integer)
    return keras.Sequential(
        [
            keras.layers.Input(shape=(16,), name="inputs"),
            QDense(64, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="fc1"),
            QActivation(relu, name="relu1"),
            QDense(32, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="fc2"),
            QActivation(relu, name="relu2"),
            QDense(32, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="fc3"),
            QActivation(relu, name="relu3"),
            QDense(5, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name="output"),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="jet_dnn",
    )


def jet_dnn(quantization: Quantization | None = None):
    """The jet tagger: :func:`jet_dnn_float`, or :func:`jet_dnn_qkeras` with ``quantization``."""
    return jet_dnn_float() if quantization is None else jet_dnn_qkeras(quantization)


# The MNIST models are built from the same layers, one helper per kind of layer: the float
# Keras layer, or its QKeras twin when a quantization is given.


def _dense(units: int, name: str, quantization: Quantization | None):
    from tensorflow import keras

    if quantization is None:
        return keras.layers.Dense(units, kernel_initializer="lecun_uniform", name=name)
    from qkeras import QDense

    weights = quantization.weight_quantizer()
    return QDense(units, kernel_quantizer=weights, bias_quantizer=weights,
                  kernel_initializer="lecun_uniform", name=name)


def _conv(filters: int, name: str, quantization: Quantization | None):
    from tensorflow import keras

    if quantization is None:
        return keras.layers.Conv2D(filters, 3, kernel_initializer="lecun_uniform", name=name)
    from qkeras import QConv2D

    weights = quantization.weight_quantizer()
    return QConv2D(filters, 3, kernel_quantizer=weights, bias_quantizer=weights,
                   kernel_initializer="lecun_uniform", name=name)


def _relu(name: str, quantization: Quantization | None):
    from tensorflow import keras

    if quantization is None:
        return keras.layers.Activation("relu", name=name)
    from qkeras import QActivation

    return QActivation(quantization.relu(), name=name)


def mnist_dnn(quantization: Quantization | None = None):
    """A dense MNIST classifier: 784 -> 128 -> 64 -> 10."""
    from tensorflow import keras

    q = quantization
    return keras.Sequential(
        [
            keras.layers.Input(shape=(28, 28, 1), name="inputs"),
            keras.layers.Flatten(name="flatten"),
            _dense(128, "fc1", q),
            _relu("relu1", q),
            _dense(64, "fc2", q),
            _relu("relu2", q),
            _dense(10, "output", q),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="mnist_dnn",
    )


def mnist_cnn(quantization: Quantization | None = None):
    """A small MNIST CNN sized for the xc7z020 (about 5,000 weights).

    28 -> 26 -> 13 -> 11 -> 5 -> 3 pixels: the last feature map keeps 3 x 3 x 16 values.
    """
    from tensorflow import keras

    q = quantization
    return keras.Sequential(
        [
            keras.layers.Input(shape=(28, 28, 1), name="inputs"),
            _conv(8, "conv1", q),
            _relu("relu1", q),
            keras.layers.MaxPooling2D(2, name="pool1"),
            _conv(16, "conv2", q),
            _relu("relu2", q),
            keras.layers.MaxPooling2D(2, name="pool2"),
            _conv(16, "conv3", q),
            _relu("relu3", q),
            keras.layers.Flatten(name="flatten"),
            _dense(10, "output", q),
            keras.layers.Activation("softmax", name="softmax"),
        ],
        name="mnist_cnn",
    )


# ------------------------------------------------------------------------------ the settings

#: every design targets the PYNQ-Z2's Zynq-7020
PART = "xc7z020clg400-1"
BOARD = "pynq-z2"
#: FCLK0 of the block design: 100 MHz
CLOCK_PERIOD_NS = 10.0
#: the flavours of a design's network: 32-bit floats, or QKeras quantized and pruned
FLAVOURS = ("float", "qkeras")


@dataclass(frozen=True)
class HLSSettings:
    """How hls4ml turns one network into hardware (see chapter 4 for each choice).

    - ``io_type``: ``io_parallel`` (all values of a layer at once) or ``io_stream`` (values
      flow through FIFOs: the CNN);
    - ``strategy`` and ``reuse_factor`` (``layer_reuse`` where a layer differs): how many
      products one multiplier computes one after the other;
    - the AXI words: the input word *is* the network's input type, rounded and saturated
      (``AP_RND_CONV``, ``AP_SAT``); the output is the softmax result, a probability with 15
      fractional bits; ``float_io`` keeps hls4ml's 32-bit float words instead;
    - the logits' type feeding the lookup-table softmax, and the softmax tables: the stable
      softmax addresses its exp table with the top bits of (max - x), so fewer integer bits
      mean finer steps, as long as the logits fit; 4096 entries follow the QKeras softmax
      closely (1024 flip the top class of ~1.5 % of jets with near-equal scores);
    - ``clock_period``: the clock HLS schedules for, FCLK0's (hls4ml's default, 5 ns, would
      size the pipeline for a clock the IP never gets).
    """

    io_type: str
    strategy: str = "Latency"
    reuse_factor: int = 1
    #: reuse factor per layer where it differs from ``reuse_factor``
    layer_reuse: Mapping[str, int] = field(default_factory=dict)
    default_precision: str = "ap_fixed<16,6>"
    softmax_input_precision: str = "ap_fixed<16,6>"
    softmax_table_precision: str = "ap_fixed<18,8,AP_RND,AP_SAT>"
    softmax_table_size: int = 4096
    input_precision: str = "ap_fixed<16,6,AP_RND_CONV,AP_SAT>"
    output_precision: str = "ap_fixed<16,1,AP_RND_CONV,AP_SAT>"
    float_io: bool = False
    clock_period: float = CLOCK_PERIOD_NS

    def with_reuse(self, reuse_factor: int) -> HLSSettings:
        return replace(self, reuse_factor=reuse_factor)

    @property
    def input_type(self) -> str:
        """The AXI input word's C++ type: the network's input type, or float."""
        return "float" if self.float_io else self.input_precision

    @property
    def output_type(self) -> str:
        """The AXI output word's C++ type: the softmax result type, or float."""
        return "float" if self.float_io else self.output_precision

    @property
    def input_format(self) -> WordFormat:
        return word_format(self.input_type)

    @property
    def output_format(self) -> WordFormat:
        return word_format(self.output_type)

    def as_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {**asdict(self), "layer_reuse": dict(self.layer_reuse)}


@dataclass(frozen=True)
class RTLVariant:
    """The design as RTL through the open flow of chapter 6 (da4ml, Verilator, yosys)."""

    #: the Verilog top module
    top: str
    #: da4ml's ``latency_cutoff`` of the design point: logic (in adder delays) per stage
    latency_cutoff: int = 5
    #: the cutoffs chapter 6 compares (-1: no pipeline at all)
    cutoffs: tuple[int, ...] = (-1, 2, 5, 10)


@dataclass(frozen=True)
class Design:
    """One network of the course and everything that turns it into hardware."""

    name: str
    #: the dataset it learns: "jets" or "mnist" (:func:`pynq_ia.data.load_dataset`)
    task: str
    #: its layers, for tables
    summary: str
    #: ``network(quantization)``: the Keras model, float when ``quantization`` is None
    network: Callable[[Quantization | None], Any]
    quantization: Quantization
    pruning: Pruning
    learning_rate: float
    hls: HLSSettings
    #: values per frame into and out of the IP
    n_in: int
    n_out: int
    #: trained for the profile's CNN epochs instead of its dense ones
    convolutional: bool = False
    #: test accuracy it must reach: by profile ("ci", "full"), or "profile/data source" where
    #: the data source changes it (simulated jets have no published reference)
    accuracy_floors: Mapping[str, float] = field(default_factory=dict)
    #: accuracy it may lose to compression (QKeras + pruning against float), keyed the same way
    compression_tolerances: Mapping[str, float] = field(default_factory=dict)
    rtl: RTLVariant | None = None
    #: resource shares [%] the original PYNQ_IA project published for its own version of this
    #: network (Vivado 2020.1), by stage: shown only as labelled references
    references: Mapping[str, Mapping[str, float | None]] = field(default_factory=dict)
    #: the C simulation's throughput the benchmark expects on a laptop core (frames/s)
    csim_frames_per_second: int | None = None

    def build(self, flavour: str):
        """The Keras model in ``flavour`` ("float", or "qkeras" with the design's quantizers)."""
        if flavour not in FLAVOURS:
            raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
        return self.network(self.quantization if flavour == "qkeras" else None)

    def epochs(self, profile: Profile) -> int:
        return profile.epochs_cnn if self.convolutional else profile.epochs_dense

    def accuracy_floor(self, profile: Profile, data_source: str = "real") -> float:
        """The test accuracy the design must reach in ``profile`` on data from ``data_source``."""
        return _lookup(self.accuracy_floors, profile, data_source, self.name, "accuracy floor")

    def compression_tolerance(self, profile: Profile, data_source: str = "real") -> float:
        """The accuracy the design may lose to compression in ``profile``."""
        return _lookup(self.compression_tolerances, profile, data_source, self.name,
                       "compression tolerance")

    @property
    def input_format(self) -> WordFormat:
        return self.hls.input_format

    @property
    def output_format(self) -> WordFormat:
        return self.hls.output_format

    @property
    def rtl_overlay(self) -> str | None:
        """The overlay with the RTL variant in place of the hls4ml IP (``<name>_rtl``)."""
        return None if self.rtl is None else f"{self.name}_rtl"


def _lookup(values: Mapping[str, float], profile: Profile, source: str, name: str,
            what: str) -> float:
    for key in (f"{profile.name}/{source}", profile.name):
        if key in values:
            return values[key]
    raise KeyError(f"{name} has no {what} for the {profile.name} profile")


# ------------------------------------------------------------------------------------- table

#: The full profile's MNIST floors are the course's targets; the ci profile trains briefly on
#: small data, so its floors only prove that a model learned (chance: 0.2 jets, 0.1 MNIST). On
#: simulated jets (no published reference) the full profile's floor and tolerance are our own:
#: measured 1.4 points lost for 6 bits + 75 % pruning on 80k simulated training jets.
_TABLE = (
    Design(
        name="jet_dnn",
        task="jets",
        summary="16 -> 64 -> 32 -> 32 -> 5, ReLU, softmax",
        network=jet_dnn,
        quantization=Quantization(bits=6),
        pruning=Pruning(sparsity=0.75),
        learning_rate=1e-3,
        # the jet tagger's logits stay within +-8: 4 integer bits address the softmax 4x finer
        hls=HLSSettings("io_parallel", "Latency", reuse_factor=1,
                        softmax_input_precision="ap_fixed<16,4>"),
        n_in=16,
        n_out=5,
        accuracy_floors={"ci": 0.45, "full": 0.76, "full/simulated": 0.6},
        compression_tolerances={"ci": 0.08, "full": 0.01, "full/simulated": 0.02},
        rtl=RTLVariant(top="jet_dnn"),
        references={
            "Vanilla": {"BRAM_18K": 45, "DSP": 123, "FF": 31, "LUT": 101},
            "Quantized+Pruned": {"BRAM_18K": 18, "DSP": 91, "FF": 20, "LUT": 114},
            "FPGA implementation": {"BRAM_18K": 3, "DSP": 87, "FF": 17, "LUT": 34},
        },
        csim_frames_per_second=100_000,
    ),
    Design(
        name="mnist_dnn",
        task="mnist",
        summary="784 -> 128 -> 64 -> 10, ReLU, softmax",
        network=mnist_dnn,
        quantization=Quantization(bits=8),
        pruning=Pruning(sparsity=0.75),
        learning_rate=1e-3,
        # 784 x 128 weights cannot all have their own multiplier: each one does 128 products;
        # the first layer takes 112, the valid reuse factor nearest 128 for its 784 x 128 shape
        # (hls4ml's Resource strategy needs one that fits: get_valid_reuse_factors(784, 128))
        hls=HLSSettings("io_parallel", "Resource", reuse_factor=128, layer_reuse={"fc1": 112}),
        n_in=784,
        n_out=10,
        accuracy_floors={"ci": 0.85, "full": 0.975},
        compression_tolerances={"ci": 0.08, "full": 0.01},
        references={
            "Quantized+Pruned": {"BRAM_18K": 149, "DSP": 4, "FF": 49, "LUT": 325},
            "FPGA implementation": {"BRAM_18K": 68, "DSP": 5, "FF": 47, "LUT": 68},
        },
    ),
    Design(
        name="mnist_cnn",
        task="mnist",
        summary="28x28x1 -> conv 8, pool, conv 16, pool, conv 16 -> 10, ReLU, softmax",
        network=mnist_cnn,
        quantization=Quantization(bits=8, activation_integer=2),
        pruning=Pruning(sparsity=0.5),
        learning_rate=2e-3,
        hls=HLSSettings("io_stream", "Latency", reuse_factor=1),
        n_in=784,
        n_out=10,
        convolutional=True,
        accuracy_floors={"ci": 0.85, "full": 0.985},
        compression_tolerances={"ci": 0.08, "full": 0.01},
        references={
            "Quantized+Pruned": {"BRAM_18K": 41, "DSP": 4, "FF": 24, "LUT": 109},
            "FPGA implementation": {"BRAM_18K": 33, "DSP": 5, "FF": 21, "LUT": 35},
        },
        csim_frames_per_second=1_000,
    ),
)

DESIGNS: dict[str, Design] = {d.name: d for d in _TABLE}


def design(name: str) -> Design:
    """The design called ``name``."""
    if name not in DESIGNS:
        raise KeyError(f"unknown design {name!r}; the course's designs are {sorted(DESIGNS)}")
    return DESIGNS[name]


def names() -> tuple[str, ...]:
    """The designs' names, in the table's order."""
    return tuple(DESIGNS)


def overlays() -> tuple[str, ...]:
    """Every overlay of the table, one folder each in ``hw_builds/``: each design's, with the
    hls4ml IP, then the RTL variants' (``<name>_rtl``)."""
    return names() + tuple(d.rtl_overlay for d in DESIGNS.values() if d.rtl is not None)


def overlay_design(overlay: str) -> Design:
    """The design an overlay of :func:`overlays` is built from."""
    for entry in DESIGNS.values():
        if overlay in (entry.name, entry.rtl_overlay):
            return entry
    raise KeyError(f"unknown overlay {overlay!r}; the overlays are {overlays()}")


def register(entry: Design) -> Design:
    """Add a design to the table (the extension point: one entry makes a new network run
    through the whole flow). A name already taken is refused."""
    if entry.name in DESIGNS:
        raise ValueError(f"a design called {entry.name!r} exists already")
    if entry.task not in ("jets", "mnist"):
        raise ValueError(f"{entry.name}: task {entry.task!r} is neither 'jets' nor 'mnist'")
    DESIGNS[entry.name] = entry
    return entry


@contextmanager
def registered(entry: Design) -> Iterator[Design]:
    """:func:`register` for the duration of a ``with`` block (tests, experiments)."""
    register(entry)
    try:
        yield entry
    finally:
        DESIGNS.pop(entry.name, None)


if __name__ == "__main__":  # `python -m pynq_ia.designs`: the overlays, for hw_builds/Makefile
    print(" ".join(overlays()))
