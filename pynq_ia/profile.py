"""The one switch between a fast "ci" run and the "full" course.

``PYNQ_IA_PROFILE=ci|full`` selects the profile; when it is unset, ``CI=true`` (as set by CI
services) selects ``ci`` and anything else ``full``. Every size and epoch count that differs
between the two lives here and nowhere else, so both profiles run the very same code paths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass

PROFILE_ENV = "PYNQ_IA_PROFILE"
_TRUTHY = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Profile:
    """Dataset sizes and training lengths of one profile."""

    name: str
    #: simulated jets generated per class (Pythia 8 + FastJet)
    simulated_jets_per_class: int
    #: cap on the jets used from the real OpenML dataset (None: all ~830k)
    real_jets_limit: int | None
    #: cap on MNIST training / test images (None: all 60k / 10k)
    mnist_train_limit: int | None
    mnist_test_limit: int | None
    #: maximum epochs (early stopping usually ends training sooner)
    epochs_dense: int
    epochs_cnn: int
    batch_size: int
    #: what chapter 6 synthesizes with yosys: "network" (minutes) or its "last_stage" (seconds)
    rtl_synthesis: str
    #: what chapter 6 synthesizes of each variant of the jet tagger (post-training, QKeras,
    #: QKeras + pruning): "network", or "LAYER:N", the first N outputs of a layer (seconds)
    rtl_variant_synthesis: str
    #: what chapter 6 synthesizes of the AXI-stream IP: "stream_ip", the wrapper and the whole
    #: core (about a minute), or "axis_wrapper", the wrapper alone around a black-box core
    #: (seconds)
    rtl_stream_synthesis: str

    def as_dict(self) -> dict[str, object]:
        """The profile as a plain dict, for provenance records."""
        return asdict(self)


PROFILES: dict[str, Profile] = {
    "ci": Profile(
        name="ci",
        simulated_jets_per_class=1_000,
        real_jets_limit=50_000,
        mnist_train_limit=6_000,
        mnist_test_limit=1_000,
        epochs_dense=15,
        epochs_cnn=8,
        batch_size=128,
        rtl_synthesis="last_stage",
        rtl_variant_synthesis="relu1:2",
        rtl_stream_synthesis="axis_wrapper",
    ),
    "full": Profile(
        name="full",
        simulated_jets_per_class=20_000,
        real_jets_limit=None,
        mnist_train_limit=None,
        mnist_test_limit=None,
        epochs_dense=60,
        epochs_cnn=30,
        batch_size=512,
        rtl_synthesis="network",
        rtl_variant_synthesis="network",
        rtl_stream_synthesis="stream_ip",
    ),
}


def profile_name(environ: Mapping[str, str] | None = None) -> str:
    """Name of the active profile (see the module docstring for the rule)."""
    env = os.environ if environ is None else environ
    name = env.get(PROFILE_ENV, "").strip().lower()
    if not name:
        name = "ci" if env.get("CI", "").strip().lower() in _TRUTHY else "full"
    if name not in PROFILES:
        raise ValueError(
            f"{PROFILE_ENV}={name!r} is not a profile; choose one of {sorted(PROFILES)}"
        )
    return name


def active_profile(environ: Mapping[str, str] | None = None) -> Profile:
    """The active :class:`Profile`."""
    return PROFILES[profile_name(environ)]
