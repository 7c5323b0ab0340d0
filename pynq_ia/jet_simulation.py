"""Jets simulated like the hls4ml LHC jet dataset, with Pythia 8 and FastJet.

Used when the real dataset (OpenML ``hls4ml_lhc_jets_hlf``) cannot be downloaded. The recipe
follows the dataset's: proton-proton collisions at 13 TeV with a hard process that yields the
wanted kind of jet near pT = 1 TeV; all visible final-state particles with |eta| < 2.5 clustered
with anti-kT, R = 0.8; jets with 800 < pT < 1200 GeV and |eta| < 2 kept when they match their
origin (the hard parton for q and g; the W, Z or top with all its decay quarks inside the jet);
then mMDT grooming (soft drop beta = 0, z_cut = 0.1, with C/A reclustering) and the 16 features of
:mod:`pynq_ia.jet_features`. There is no detector simulation, so the jets are cleaner than the
dataset's: results on them are labelled *simulated* and are not comparable to published ones.

Generation runs in worker processes (one per core), each on a chunk of jets with its own seed, so
the result depends only on (recipe version, seed, jets per class), never on the number of cores.
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from pynq_ia.jet_features import FEATURE_NAMES, delta_phi, jet_features

#: bump when anything below changes what is generated: it is part of every cache key
RECIPE_VERSION = 1

#: class order of the OpenML dataset (alphabetical, as sklearn's LabelEncoder gives it)
CLASS_NAMES: tuple[str, ...] = ("g", "q", "t", "w", "z")

COLLISION = (
    "Beams:eCM = 13000.",
    "PhaseSpace:pTHatMin = 900.",
    "PhaseSpace:pTHatMax = 1100.",
)
_HADRONIC_W = ("24:onMode = off", "24:onIfAny = 1 2 3 4 5")
#: Pythia 8 hard processes per class
PROCESSES: dict[str, tuple[str, ...]] = {
    "g": ("HardQCD:gg2gg = on", "HardQCD:qqbar2gg = on"),
    "q": ("HardQCD:qq2qq = on", "HardQCD:qqbar2qqbarNew = on"),
    "t": ("Top:gg2ttbar = on", "Top:qqbar2ttbar = on", *_HADRONIC_W),
    "w": ("WeakDoubleBoson:ffbar2WW = on", *_HADRONIC_W),
    "z": (
        "WeakDoubleBoson:ffbar2gmZgmZ = on",
        "WeakZ0:gmZmode = 2",  # Z only, no photon
        "23:onMode = off",
        "23:onIfAny = 1 2 3 4 5",
    ),
}
#: the particle whose jet defines the class: PDG id (absolute) of the hard outgoing object
_ORIGIN_IDS = {"g": {21}, "q": {1, 2, 3}, "t": {6}, "w": {24}, "z": {23}}
_INVISIBLE = (12, 14, 16)

JET_RADIUS = 0.8
PARTICLE_ETA_MAX = 2.5
JET_ETA_MAX = 2.0
JET_PT_RANGE = (800.0, 1200.0)
MMDT_ZCUT = 0.1
EVENTS_PER_BATCH = 100
#: jets per work unit: small enough to spread over cores, large enough to amortize Pythia's init
CHUNK_JETS = 250


@dataclass
class Timing:
    """Seconds spent per stage (summed over workers) and events generated."""

    generation: float = 0.0
    clustering: float = 0.0
    grooming: float = 0.0
    features: float = 0.0
    events: int = 0

    def add(self, other: Timing) -> None:
        for name in ("generation", "clustering", "grooming", "features", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    @property
    def total(self) -> float:
        return self.generation + self.clustering + self.grooming + self.features


@dataclass
class SimulatedJets:
    """Features ``x`` (n, 16), labels ``y`` (indices into :data:`CLASS_NAMES`) and timings."""

    x: np.ndarray
    y: np.ndarray
    seed: int
    jets_per_class: int
    timing: Timing = field(default_factory=Timing)
    wall_seconds: float = 0.0
    workers: int = 1


def pythia_settings(jet_class: str, seed: int) -> list[str]:
    """All Pythia settings for one class and seed."""
    if jet_class not in PROCESSES:
        raise ValueError(f"unknown jet class {jet_class!r}; expected one of {CLASS_NAMES}")
    return [
        *COLLISION,
        *PROCESSES[jet_class],
        "Random:setSeed = on",
        f"Random:seed = {seed}",
        "Next:numberCount = 0",
        "Print:quiet = on",
    ]


def _delta_r(eta1: float, phi1: float, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    return np.hypot(eta1 - eta2, delta_phi(phi1, phi2))


def _last_copy(index: int, ids: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> int:
    """Follow Pythia's carbon copies (one daughter with the same id) to the decaying particle."""
    while d1[index] > 0 and (d2[index] in (0, d1[index])) and ids[d1[index]] == ids[index]:
        index = int(d1[index])
    return index


def _decay_quarks(index: int, ids: np.ndarray, d1: np.ndarray, d2: np.ndarray) -> list[int]:
    """Quarks from the decay of a W, Z or top (for the top: the b and the W's quarks)."""
    index = _last_copy(index, ids, d1, d2)
    quarks = []
    if d1[index] <= 0:
        return quarks
    for daughter in range(int(d1[index]), int(max(d2[index], d1[index])) + 1):
        if abs(ids[daughter]) == 24:
            quarks += _decay_quarks(daughter, ids, d1, d2)
        elif 1 <= abs(ids[daughter]) <= 5:
            quarks.append(daughter)
    return quarks


def _eta_phi(px, py, pz) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(px, py)
    return np.arcsinh(pz / np.maximum(pt, 1e-12)), np.arctan2(py, px)


def _truth_targets(jet_class: str, event: dict[str, np.ndarray]) -> list[np.ndarray]:
    """For each hard outgoing object of the wanted kind: (eta, phi) of it and its decay quarks."""
    ids, d1, d2 = event["id"], event["d1"], event["d2"]
    targets = []
    for index in (5, 6):  # Pythia's event record: 5 and 6 are the hard process' outgoing pair
        if abs(ids[index]) not in _ORIGIN_IDS[jet_class]:
            continue
        members = [index]
        if jet_class in ("t", "w", "z"):
            members = [_last_copy(index, ids, d1, d2), *_decay_quarks(index, ids, d1, d2)]
            expected_quarks = 3 if jet_class == "t" else 2
            if len(members) != 1 + expected_quarks:
                continue  # a leptonic decay slipped through: not a hadronic jet
        eta, phi = _eta_phi(event["px"][members], event["py"][members], event["pz"][members])
        targets.append(np.stack([eta, phi], axis=1))
    return targets


def _matches(jet_eta: float, jet_phi: float, targets: list[np.ndarray]) -> bool:
    return any(np.all(_delta_r(jet_eta, jet_phi, t[:, 0], t[:, 1]) < JET_RADIUS) for t in targets)


def _events(pythia, n_events: int) -> Iterator[dict[str, np.ndarray]]:
    """One batch of events as per-event numpy arrays."""
    import awkward as ak

    batch = pythia.nextBatch(n_events).prt
    counts = ak.to_numpy(ak.num(batch))
    columns = {
        "id": batch.id,
        "status": batch.status,
        "d1": batch.daughter1,
        "d2": batch.daughter2,
        "px": batch.p.px,
        "py": batch.p.py,
        "pz": batch.p.pz,
        "e": batch.p.e,
    }
    flat = {name: ak.to_numpy(ak.flatten(values)) for name, values in columns.items()}
    offsets = np.concatenate([[0], np.cumsum(counts)])
    for start, stop in itertools.pairwise(offsets):
        yield {name: values[start:stop] for name, values in flat.items()}


def _visible_particles(event: dict[str, np.ndarray]) -> np.ndarray:
    """(n, 4) four-momenta of final-state visible particles inside the acceptance."""
    keep = (event["status"] > 0) & ~np.isin(np.abs(event["id"]), _INVISIBLE)
    p4 = np.stack([event["px"], event["py"], event["pz"], event["e"]], axis=1)[keep]
    eta, _ = _eta_phi(p4[:, 0], p4[:, 1], p4[:, 2])
    return p4[np.abs(eta) < PARTICLE_ETA_MAX]


def _as_momenta(arrays: list[np.ndarray]):
    """A jagged awkward array of Momentum4D records from a list of (n, 4) arrays."""
    import awkward as ak

    counts = np.array([len(a) for a in arrays])
    flat = np.concatenate(arrays) if arrays else np.zeros((0, 4))
    records = ak.zip(
        {"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]},
        with_name="Momentum4D",
    )
    return ak.unflatten(records, counts)


def _to_numpy_lists(momenta) -> list[np.ndarray]:
    import awkward as ak

    counts = ak.to_numpy(ak.num(momenta))
    flat = np.stack([ak.to_numpy(ak.flatten(momenta[c])) for c in ("px", "py", "pz", "E")], 1)
    return np.split(flat, np.cumsum(counts)[:-1])


def select_jets(jet_class: str, events: list[dict[str, np.ndarray]]) -> list[np.ndarray]:
    """Anti-kT jets of the events that pass the kinematic cuts and match their origin."""
    import fastjet

    particles = [_visible_particles(event) for event in events]
    sequence = fastjet.ClusterSequence(
        _as_momenta(particles), fastjet.JetDefinition(fastjet.antikt_algorithm, JET_RADIUS)
    )
    selected = []
    for event, jets in zip(events, sequence.constituents(min_pt=JET_PT_RANGE[0]), strict=True):
        targets = _truth_targets(jet_class, event)
        if not targets:
            continue
        for constituents in _to_numpy_lists(jets) if len(jets) else []:
            jet = constituents.sum(axis=0)
            pt = float(np.hypot(jet[0], jet[1]))
            eta, phi = (float(v[0]) for v in _eta_phi(jet[None, 0], jet[None, 1], jet[None, 2]))
            in_window = JET_PT_RANGE[0] < pt < JET_PT_RANGE[1] and abs(eta) < JET_ETA_MAX
            if in_window and _matches(eta, phi, targets):
                selected.append(constituents)
    return selected


def groom(jets: list[np.ndarray]) -> list[np.ndarray]:
    """mMDT (soft drop with beta = 0, z_cut = 0.1) groomed constituents of each jet."""
    import fastjet

    if not jets:
        return []
    # each jet becomes one "event" reclustered into exactly one C/A jet, then groomed
    sequence = fastjet.ClusterSequence(
        _as_momenta(jets), fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)
    )
    groomed = sequence.exclusive_jets_softdrop_grooming(
        njets=1, beta=0.0, symmetry_cut=MMDT_ZCUT, R0=JET_RADIUS
    )
    return _to_numpy_lists(groomed.constituents)


def simulate_chunk(task: tuple[str, int, int]) -> tuple[np.ndarray, Timing]:
    """Generate ``n_jets`` jets of one class with one seed: features (n_jets, 16) and timings."""
    import pythia8mc

    jet_class, n_jets, seed = task
    timing = Timing()
    pythia = pythia8mc.Pythia("", False)
    for setting in pythia_settings(jet_class, seed):
        if not pythia.readString(setting):
            raise RuntimeError(f"Pythia rejected the setting {setting!r}")
    if not pythia.init():
        raise RuntimeError(f"Pythia failed to initialize for class {jet_class!r}")

    features: list[np.ndarray] = []
    while len(features) < n_jets:
        start = time.perf_counter()
        events = list(_events(pythia, EVENTS_PER_BATCH))
        timing.generation += time.perf_counter() - start
        timing.events += len(events)

        start = time.perf_counter()
        jets = select_jets(jet_class, events)[: n_jets - len(features)]
        timing.clustering += time.perf_counter() - start

        start = time.perf_counter()
        groomed = groom(jets)
        timing.grooming += time.perf_counter() - start

        start = time.perf_counter()
        features += [jet_features(jet, g) for jet, g in zip(jets, groomed, strict=True)]
        timing.features += time.perf_counter() - start
    return np.stack(features), timing


def chunk_tasks(jets_per_class: int, seed: int) -> list[tuple[str, int, int]]:
    """The work units: (class, jets, Pythia seed), each seed unique and within Pythia's range."""
    tasks = []
    for class_index, jet_class in enumerate(CLASS_NAMES):
        for chunk, start in enumerate(range(0, jets_per_class, CHUNK_JETS)):
            n_jets = min(CHUNK_JETS, jets_per_class - start)
            chunk_seed = 1 + (seed * 1_000_003 + class_index * 10_007 + chunk) % 900_000_000
            tasks.append((jet_class, n_jets, chunk_seed))
    return tasks


def simulate_jets(
    jets_per_class: int, *, seed: int = 0, workers: int | None = None, progress: bool = True
) -> SimulatedJets:
    """Simulate ``jets_per_class`` jets of each class (see the module docstring)."""
    if jets_per_class <= 0:
        raise ValueError("jets_per_class must be positive")
    from tqdm.auto import tqdm

    tasks = chunk_tasks(jets_per_class, seed)
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    start = time.perf_counter()
    timing = Timing()
    # spawn: the caller may have imported TensorFlow, whose threads do not survive a fork
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        results = pool.map(simulate_chunk, tasks)
        x_parts = []
        for x_chunk, chunk_timing in tqdm(
            results, total=len(tasks), desc="simulating jets", unit="chunk", disable=not progress
        ):
            x_parts.append(x_chunk)
            timing.add(chunk_timing)
    y = np.concatenate([np.full(n, CLASS_NAMES.index(c), dtype=np.int64) for c, n, _ in tasks])
    x = np.concatenate(x_parts)
    assert x.shape == (len(CLASS_NAMES) * jets_per_class, len(FEATURE_NAMES))
    return SimulatedJets(
        x=x,
        y=y,
        seed=seed,
        jets_per_class=jets_per_class,
        timing=timing,
        wall_seconds=time.perf_counter() - start,
        workers=workers,
    )


__all__ = ["CLASS_NAMES", "FEATURE_NAMES", "SimulatedJets", "simulate_jets"]
