"""The vectorized features against brute-force sums and against FastJet-contrib's correlators."""

import itertools

import numpy as np
import pytest

from pynq_ia import jet_features
from pynq_ia.jet_features import FEATURE_NAMES, groomed_features
from pynq_ia.jet_features import jet_features as features_of


def _random_jet(rng, n):
    pt = rng.exponential(30.0, n) + 0.5
    rapidity = rng.normal(0.3, 0.25, n)
    phi = np.mod(rng.normal(3.1, 0.25, n), 2 * np.pi)  # straddles the 0 / 2 pi seam
    return pt, rapidity, phi


def _four_momenta(pt, rapidity, phi, mass=0.14):
    mt = np.sqrt(pt**2 + mass**2)
    return np.stack(
        [pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(rapidity), mt * np.cosh(rapidity)], 1
    )


def _brute_force(pt, rapidity, phi):
    z = pt / pt.sum()
    n = len(z)

    def r(i, j):
        dphi = abs(phi[i] - phi[j])
        dphi = min(dphi, 2 * np.pi - dphi)
        return np.hypot(rapidity[i] - rapidity[j], dphi)

    e2 = {
        b: sum(z[i] * z[j] * r(i, j) ** b for i, j in itertools.combinations(range(n), 2))
        for b in (0, 1, 2)
    }
    e3, e3_min, e3_two = {1: 0.0, 2: 0.0}, {1: 0.0, 2: 0.0}, {1: 0.0, 2: 0.0}
    for i, j, k in itertools.combinations(range(n), 3):
        angles = sorted([r(i, j), r(i, k), r(j, k)])
        w = z[i] * z[j] * z[k]
        for b in (1, 2):
            e3[b] += w * (angles[0] * angles[1] * angles[2]) ** b
            e3_min[b] += w * angles[0] ** b
            e3_two[b] += w * (angles[0] * angles[1]) ** b
    return {
        "c1_b0_mmdt": e2[0],
        "c1_b1_mmdt": e2[1],
        "c1_b2_mmdt": e2[2],
        "c2_b1_mmdt": e3[1] / e2[1] ** 2,
        "c2_b2_mmdt": e3[2] / e2[2] ** 2,
        "d2_b1_mmdt": e3[1] / e2[1] ** 3,
        "d2_b2_mmdt": e3[2] / e2[2] ** 3,
        "d2_a1_b1_mmdt": e3[1] / e2[1] ** 3,
        "d2_a1_b2_mmdt": e3[1] / e2[2] ** 1.5,
        "m2_b1_mmdt": e3_min[1] / e2[1],
        "m2_b2_mmdt": e3_min[2] / e2[2],
        "n2_b1_mmdt": e3_two[1] / e2[1] ** 2,
        "n2_b2_mmdt": e3_two[2] / e2[2] ** 2,
    }


@pytest.mark.parametrize("n", [3, 5, 12])
def test_matches_brute_force(n):
    pt, rapidity, phi = _random_jet(np.random.default_rng(n), n)
    got = groomed_features(pt, rapidity, phi)
    expected = _brute_force(pt, rapidity, phi)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-9), name


def test_blocking_does_not_change_the_result(monkeypatch):
    pt, rapidity, phi = _random_jet(np.random.default_rng(7), 40)
    whole = groomed_features(pt, rapidity, phi)
    monkeypatch.setattr(jet_features, "_BLOCK_ELEMENTS", 40 * 40 * 3)  # 3 rows per block
    blocked = groomed_features(pt, rapidity, phi)
    assert blocked == pytest.approx(whole, rel=1e-12)


def test_single_constituent_has_zero_shapes():
    values = groomed_features(np.array([50.0]), np.array([0.1]), np.array([1.0]))
    assert all(v == 0.0 for v in values.values())


def test_rejects_empty_or_non_positive_pt():
    with pytest.raises(ValueError):
        groomed_features(np.array([]), np.array([]), np.array([]))
    with pytest.raises(ValueError):
        groomed_features(np.array([1.0, -1.0]), np.zeros(2), np.zeros(2))


def test_jet_features_order_and_ungroomed_parts():
    rng = np.random.default_rng(3)
    jet = _four_momenta(*_random_jet(rng, 20))
    groomed = jet[:12]
    values = dict(zip(FEATURE_NAMES, features_of(jet, groomed), strict=True))
    assert values["multiplicity"] == 20
    z = np.hypot(jet[:, 0], jet[:, 1])
    z = z / z.sum()
    assert values["zlogz"] == pytest.approx(np.sum(z * np.log(z)))
    total = groomed.sum(0)
    assert values["mass_mmdt"] == pytest.approx(
        np.sqrt(total[3] ** 2 - total[0] ** 2 - total[1] ** 2 - total[2] ** 2)
    )


def test_agrees_with_fastjet_contrib_energy_correlators():
    """FastJet-contrib's EnergyCorrelator (C++) computes the same observables independently."""
    ak = pytest.importorskip("awkward")
    fastjet = pytest.importorskip("fastjet")
    rng = np.random.default_rng(11)
    jets = [_four_momenta(*_random_jet(rng, n)) for n in (6, 15, 30)]
    counts = [len(j) for j in jets]
    flat = np.concatenate(jets)
    momenta = ak.unflatten(
        ak.zip(
            {"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "E": flat[:, 3]},
            with_name="Momentum4D",
        ),
        counts,
    )
    sequence = fastjet.ClusterSequence(
        momenta, fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)
    )

    def contrib(**kwargs):
        return np.asarray(sequence.exclusive_jets_energy_correlator(njets=1, **kwargs)).ravel()

    ours = np.array([list(groomed_features(*jet_features.kinematics(*j.T)).values()) for j in jets])
    names = list(groomed_features(*jet_features.kinematics(*jets[0].T)))
    column = {name: ours[:, i] for i, name in enumerate(names)}
    for beta in (1, 2):
        e2 = contrib(func="generic", npoint=2, beta=beta)
        np.testing.assert_allclose(column[f"c1_b{beta}_mmdt"], e2, rtol=1e-6)
        np.testing.assert_allclose(
            column[f"d2_b{beta}_mmdt"],
            contrib(func="generic", npoint=3, beta=beta) / e2**3,
            rtol=1e-6,
        )
        np.testing.assert_allclose(
            column[f"m2_b{beta}_mmdt"], contrib(func="mseries", npoint=2, beta=beta), rtol=1e-6
        )
        np.testing.assert_allclose(
            column[f"n2_b{beta}_mmdt"], contrib(func="nseries", npoint=2, beta=beta), rtol=1e-6
        )
    np.testing.assert_allclose(
        column["d2_a1_b2_mmdt"], contrib(func="generalizedd2", alpha=1, beta=2), rtol=1e-6
    )
