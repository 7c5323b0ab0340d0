"""The board's numpy-only AUC against scikit-learn's (not installed in the board venv)."""

import numpy as np

from pynq_ia.board.measure import one_vs_rest_auc


def test_numpy_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 500)
    scores = np.round(rng.dirichlet(np.ones(3), 500) + 0.3 * np.eye(3)[labels], 2)  # with ties
    expected = [roc_auc_score(labels == c, scores[:, c]) for c in range(3)]
    np.testing.assert_allclose(one_vs_rest_auc(scores, labels), expected, rtol=1e-12)
