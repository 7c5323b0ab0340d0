"""The 16 high-level features of the hls4ml LHC jet dataset, computed with numpy.

The dataset (OpenML ``hls4ml_lhc_jets_hlf``; J. Duarte et al., JINST 13 P07027) describes each jet
by jet-substructure observables. All but two are computed on the jet after *mMDT grooming*
(modified mass-drop tagger: soft drop with beta = 0, z_cut = 0.1), which strips soft, wide-angle
radiation so that the two- and three-prong structure of W, Z and top jets stands out.

Notation for one jet with constituents i: ``z_i = pT_i / sum(pT)`` and ``R_ij`` the distance in
the (rapidity, azimuth) plane. The *energy correlation functions* (ECFs; Larkoski, Salam, Thaler
2013; generalized by Moult, Necib, Thaler 2016) are

- ``e2(b) = sum_{i<j} z_i z_j R_ij^b``
- ``e3(b) = sum_{i<j<k} z_i z_j z_k (R_ij R_ik R_jk)^b``
- ``1e3(b)``: as e3 but with only the *smallest* of the three angles, ``min(R)^b``
- ``2e3(b)``: with the product of the *two smallest* angles, ``(R_ij R_ik R_jk / max R)^b``

and the features are the ratios

==================  =====================================  ==================================
feature             definition                             tells apart
==================  =====================================  ==================================
``c1_b0``           ``e2(0) = (1 - sum_i z_i^2) / 2``      how pT is shared (no angle in it)
``c1_b{1,2}``       ``e2(b)``                              broad (gluon) vs narrow jets
``c2_b{1,2}``       ``e3(b) / e2(b)^2``                    two prongs vs one
``d2_b{1,2}``       ``e3(b) / e2(b)^3``                    two prongs vs one (W, Z vs q, g)
``d2_a1_b{1,2}``    ``e3(1) / e2(b)^(3/b)``                D2 with separate angular exponents
``m2_b{1,2}``       ``1e3(b) / e2(b)``                     two prongs, robust to grooming
``n2_b{1,2}``       ``2e3(b) / e2(b)^2``                   two prongs, robust to grooming
``mass_mmdt``       invariant mass of the groomed jet      W (80), Z (91), top (173 GeV) peaks
``zlogz``           ``sum_i z_i log z_i`` (ungroomed)      how evenly pT is shared
``multiplicity``    number of constituents (ungroomed)     gluon jets have more
==================  =====================================  ==================================

(with ``d2_a1_b1`` equal to ``d2_b1`` by definition). Everything here is vectorized numpy; the
three-point sums use a dense i x j x k tensor processed in blocks, which for the ~50-150
constituents of a 1 TeV jet is faster than enumerating triplets.
"""

from __future__ import annotations

import numpy as np

FEATURE_NAMES: tuple[str, ...] = (
    "zlogz",
    "c1_b0_mmdt",
    "c1_b1_mmdt",
    "c1_b2_mmdt",
    "c2_b1_mmdt",
    "c2_b2_mmdt",
    "d2_b1_mmdt",
    "d2_b2_mmdt",
    "d2_a1_b1_mmdt",
    "d2_a1_b2_mmdt",
    "m2_b1_mmdt",
    "m2_b2_mmdt",
    "n2_b1_mmdt",
    "n2_b2_mmdt",
    "mass_mmdt",
    "multiplicity",
)

#: elements of one block of the i x j x k tensor (bounds memory to ~100 MB per call)
_BLOCK_ELEMENTS = 2_000_000


def delta_phi(phi1, phi2) -> np.ndarray:
    """Azimuth difference wrapped to [0, pi] (broadcasting)."""
    dphi = np.abs(np.asarray(phi1) - np.asarray(phi2))
    return np.where(dphi > np.pi, 2 * np.pi - dphi, dphi)


def pairwise_distance(rapidity: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """``R_ij`` in the rapidity-azimuth plane."""
    dy = rapidity[:, None] - rapidity[None, :]
    dphi = delta_phi(phi[:, None], phi[None, :])
    return np.sqrt(dy * dy + dphi * dphi)


def zlogz(pt: np.ndarray) -> float:
    """``sum z log z`` of the pT fractions (0 for a single constituent, negative otherwise)."""
    z = pt / pt.sum()
    z = z[z > 0]
    return float(np.sum(z * np.log(z)))


def _three_point_sums(z: np.ndarray, distance: np.ndarray) -> dict[str, float]:
    """``e3``, ``1e3`` and ``2e3`` for beta = 1 and 2 in one pass over the i x j x k tensor.

    Summing over *all* (i, j, k) and dividing by 6 equals the sum over i < j < k: every term with
    a repeated index contains ``R_ii = 0`` and vanishes.
    """
    n = z.size
    sums = dict.fromkeys(("e3_1", "e3_2", "1e3_1", "1e3_2", "2e3_1", "2e3_2"), 0.0)
    rows = max(1, _BLOCK_ELEMENTS // (n * n))
    r_jk = distance[None, :, :]
    zz_jk = (z[:, None] * z[None, :])[None, :, :]
    for start in range(0, n, rows):
        stop = min(n, start + rows)
        r_ij = distance[start:stop, :, None]
        r_ik = distance[start:stop, None, :]
        weight = z[start:stop, None, None] * zz_jk
        smallest = np.minimum(np.minimum(r_ij, r_ik), r_jk)
        largest = np.maximum(np.maximum(r_ij, r_ik), r_jk)
        product = r_ij * r_ik * r_jk
        # product of the two smallest angles; where largest == 0 every angle is 0
        two_smallest = np.divide(product, largest, out=np.zeros_like(product), where=largest > 0)
        for name, angle in (("e3", product), ("1e3", smallest), ("2e3", two_smallest)):
            weighted = weight * angle
            sums[f"{name}_1"] += float(weighted.sum())
            sums[f"{name}_2"] += float((weighted * angle).sum())
    return {key: value / 6.0 for key, value in sums.items()}


def _ratio(numerator: float, denominator: float) -> float:
    # a groomed jet of a single constituent has e2 = 0: its shape ratios are defined as 0
    return numerator / denominator if denominator > 0 else 0.0


def groomed_features(pt: np.ndarray, rapidity: np.ndarray, phi: np.ndarray) -> dict[str, float]:
    """The 13 ECF-based features of one (groomed) jet from its constituents."""
    pt = np.asarray(pt, dtype=np.float64)
    if pt.ndim != 1 or pt.size == 0 or not np.all(pt > 0):
        raise ValueError("a jet needs at least one constituent, all with pT > 0")
    z = pt / pt.sum()
    distance = pairwise_distance(np.asarray(rapidity, float), np.asarray(phi, float))
    zz = z[:, None] * z[None, :]
    e2 = {
        0: float((1.0 - np.sum(z * z)) / 2.0),
        1: float(np.sum(zz * distance) / 2.0),
        2: float(np.sum(zz * distance * distance) / 2.0),
    }
    t = _three_point_sums(z, distance)
    return {
        "c1_b0_mmdt": e2[0],
        "c1_b1_mmdt": e2[1],
        "c1_b2_mmdt": e2[2],
        "c2_b1_mmdt": _ratio(t["e3_1"], e2[1] ** 2),
        "c2_b2_mmdt": _ratio(t["e3_2"], e2[2] ** 2),
        "d2_b1_mmdt": _ratio(t["e3_1"], e2[1] ** 3),
        "d2_b2_mmdt": _ratio(t["e3_2"], e2[2] ** 3),
        "d2_a1_b1_mmdt": _ratio(t["e3_1"], e2[1] ** 3),
        "d2_a1_b2_mmdt": _ratio(t["e3_1"], e2[2] ** 1.5),
        "m2_b1_mmdt": _ratio(t["1e3_1"], e2[1]),
        "m2_b2_mmdt": _ratio(t["1e3_2"], e2[2]),
        "n2_b1_mmdt": _ratio(t["2e3_1"], e2[1] ** 2),
        "n2_b2_mmdt": _ratio(t["2e3_2"], e2[2] ** 2),
    }


def invariant_mass(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray) -> float:
    """Mass of the summed four-momentum (0 when rounding makes m^2 slightly negative)."""
    m2 = e.sum() ** 2 - px.sum() ** 2 - py.sum() ** 2 - pz.sum() ** 2
    return float(np.sqrt(max(m2, 0.0)))


def kinematics(px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray):
    """Transverse momentum, rapidity and azimuth of each particle."""
    pt = np.hypot(px, py)
    rapidity = 0.5 * np.log((e + pz) / np.maximum(e - pz, 1e-12))
    return pt, rapidity, np.arctan2(py, px)


def jet_features(
    jet: np.ndarray,
    groomed: np.ndarray,
) -> np.ndarray:
    """The 16 features, in :data:`FEATURE_NAMES` order, of one jet.

    ``jet`` and ``groomed`` are (n, 4) arrays of constituent four-momenta (px, py, pz, E) of the
    ungroomed jet and of its mMDT-groomed part.
    """
    pt_all, _, _ = kinematics(*jet.T)
    pt, rapidity, phi = kinematics(*groomed.T)
    features = groomed_features(pt, rapidity, phi)
    features["zlogz"] = zlogz(pt_all)
    features["mass_mmdt"] = invariant_mass(*groomed.T)
    features["multiplicity"] = float(len(jet))
    return np.array([features[name] for name in FEATURE_NAMES], dtype=np.float64)
