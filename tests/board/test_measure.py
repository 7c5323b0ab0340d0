"""The measurement helpers of chapter 8."""

import numpy as np
import pytest

from pynq_ia.board.measure import accuracy, fit_cost_model, one_vs_rest_auc, sweep_sizes


def test_cost_model_recovers_fixed_and_per_frame_costs():
    rng = np.random.default_rng(0)
    batches = [2**k for k in range(14)]
    rows = [
        {"batch": b, "seconds": (100e-6 + 40e-6 * b) * rng.uniform(0.97, 1.03)} for b in batches
    ]
    model = fit_cost_model(rows)
    assert model["fixed_us"] == pytest.approx(100, rel=0.15)
    assert model["per_frame_us"] == pytest.approx(40, rel=0.05)


def test_auc_of_perfect_random_and_tied_scores():
    labels = np.array([0, 0, 1, 1])
    perfect = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8], [0.1, 0.9]])
    assert one_vs_rest_auc(perfect, labels) == [1.0, 1.0]
    assert one_vs_rest_auc(np.full((4, 2), 0.5), labels) == [0.5, 0.5]  # ties count one half
    assert np.isnan(one_vs_rest_auc(perfect, np.zeros(4, int))[1])  # no positive frame


def test_accuracy_and_sweep_sizes():
    assert accuracy(np.eye(3)[[0, 1, 2, 0]], np.array([0, 1, 1, 0])) == 0.75
    assert sweep_sizes(300) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
    assert sweep_sizes(1) == [1]
