"""Benchmark: how fast the course simulates jets, and where the time goes.

Prints, in one run:
- jets simulated per second per core (one worker), with the share of time spent in event
  generation (Pythia 8), clustering and truth matching, grooming (FastJet) and features (numpy);
- the same simulation on all cores, as a speed-up ratio against the one-worker run;
- our numpy energy-correlation features against FastJet-contrib's C++ EnergyCorrelator on the
  same groomed jets (a ratio: > 1 means ours is slower).

Usage: python bench/jet_simulation.py [--jets-per-class N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from pynq_ia import jet_features, jet_simulation


def stage_shares(timing: jet_simulation.Timing) -> str:
    parts = {
        "generation": timing.generation,
        "clustering+matching": timing.clustering,
        "grooming": timing.grooming,
        "features": timing.features,
    }
    return ", ".join(f"{name} {value / timing.total:.0%}" for name, value in parts.items())


def features_vs_contrib(jet_class: str, n_jets: int) -> tuple[float, float]:
    """Seconds per jet for our groomed features and for FastJet-contrib's correlators."""
    import awkward as ak
    import fastjet
    import pythia8mc

    pythia = pythia8mc.Pythia("", False)
    for setting in jet_simulation.pythia_settings(jet_class, 777):
        pythia.readString(setting)
    pythia.init()
    jets: list[np.ndarray] = []
    while len(jets) < n_jets:
        events = list(jet_simulation._events(pythia, jet_simulation.EVENTS_PER_BATCH))
        jets += jet_simulation.select_jets(jet_class, events)
    groomed = jet_simulation.groom(jets[:n_jets])

    start = time.perf_counter()
    for jet in groomed:
        jet_features.groomed_features(*jet_features.kinematics(*jet.T))
    ours = (time.perf_counter() - start) / n_jets

    momenta = jet_simulation._as_momenta(groomed)
    start = time.perf_counter()
    sequence = fastjet.ClusterSequence(
        momenta, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)
    )
    for beta in (1, 2):  # the same observables: e2, e3, M2, N2 series and D2(1, 2)
        for func, npoint in (("generic", 2), ("generic", 3), ("mseries", 2), ("nseries", 2)):
            ak.to_numpy(
                sequence.exclusive_jets_energy_correlator(
                    njets=1, func=func, npoint=npoint, beta=beta
                )
            )
    sequence.exclusive_jets_energy_correlator(njets=1, func="generalizedd2", alpha=1, beta=2)
    contrib = (time.perf_counter() - start) / n_jets
    return ours, contrib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets-per-class", type=int, default=100)
    args = parser.parse_args()
    n = args.jets_per_class
    cores = os.cpu_count() or 1

    one = jet_simulation.simulate_jets(n, seed=1, workers=1, progress=False)
    jets = one.x.shape[0]
    print(
        f"1 worker : {jets} jets in {one.wall_seconds:.1f} s = "
        f"{jets / one.wall_seconds:.0f} jets/s/core ({one.timing.events} events)"
    )
    print(f"           time per stage: {stage_shares(one.timing)}")

    many = jet_simulation.simulate_jets(n, seed=1, workers=cores, progress=False)
    print(
        f"{cores} workers: {jets} jets in {many.wall_seconds:.1f} s = "
        f"{jets / many.wall_seconds:.0f} jets/s, {jets / many.wall_seconds / cores:.0f} "
        f"jets/s/core; speed-up x{one.wall_seconds / many.wall_seconds:.2f} over 1 worker"
    )
    assert np.array_equal(one.x, many.x), "results must not depend on the number of workers"

    for jet_class in ("q", "t"):
        ours, contrib = features_vs_contrib(jet_class, min(n, 100))
        print(
            f"features ({jet_class} jets): numpy {ours * 1e3:.2f} ms/jet, FastJet-contrib C++ "
            f"{contrib * 1e3:.2f} ms/jet, ratio numpy/contrib {ours / contrib:.2f}"
        )


if __name__ == "__main__":
    main()
