"""Pythia 8 + FastJet jet simulation: determinism, work split, physics of a small sample."""

import numpy as np
import pytest

from pynq_ia import jet_simulation
from pynq_ia.jet_features import FEATURE_NAMES
from pynq_ia.jet_simulation import CHUNK_JETS, CLASS_NAMES, chunk_tasks, simulate_chunk


def test_chunks_cover_every_class_with_unique_seeds():
    tasks = chunk_tasks(2 * CHUNK_JETS + 7, seed=3)
    for jet_class in CLASS_NAMES:
        sizes = [n for c, n, _ in tasks if c == jet_class]
        assert sizes == [CHUNK_JETS, CHUNK_JETS, 7]
    seeds = [s for _, _, s in tasks]
    assert len(set(seeds)) == len(seeds) and all(0 < s <= 900_000_000 for s in seeds)
    assert chunk_tasks(2 * CHUNK_JETS + 7, seed=3) == tasks
    assert {s for *_, s in chunk_tasks(10, seed=4)}.isdisjoint({s for *_, s in chunk_tasks(10, 3)})


def test_unknown_class_is_rejected():
    with pytest.raises(ValueError, match="unknown jet class"):
        jet_simulation.pythia_settings("h", 1)


@pytest.mark.slow
def test_w_jets_are_reproducible_and_peak_at_the_w_mass():
    x, timing = simulate_chunk(("w", 40, 12345))
    again, _ = simulate_chunk(("w", 40, 12345))
    np.testing.assert_array_equal(x, again)
    assert x.shape == (40, len(FEATURE_NAMES)) and np.isfinite(x).all()
    mass = x[:, FEATURE_NAMES.index("mass_mmdt")]
    assert 65 < np.median(mass) < 95
    assert timing.events > 0 and timing.generation > 0 and timing.features > 0


@pytest.mark.slow
def test_result_does_not_depend_on_the_number_of_workers():
    one = jet_simulation.simulate_jets(4, seed=9, workers=1, progress=False)
    two = jet_simulation.simulate_jets(4, seed=9, workers=2, progress=False)
    np.testing.assert_array_equal(one.x, two.x)
    np.testing.assert_array_equal(one.y, np.repeat(np.arange(len(CLASS_NAMES)), 4))
    assert two.workers == 2 and two.timing.events > 0


def test_rejects_non_positive_sizes():
    with pytest.raises(ValueError):
        jet_simulation.simulate_jets(0)
