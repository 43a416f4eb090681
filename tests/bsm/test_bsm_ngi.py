"""Tests of the neutrino generalized interactions family (cevns_hf.bsm.ngi): SM limit, antineutrino rule,
the kinematic factors against explicit Dirac-matrix spin traces of the Lagrangian, an independent scipy.quad
total cross section, the known behaviours (scalar/vector ratio ~ MT/E^2, c_v = -2 Q_V / A gives the SM,
equivalence of c_v with flavour-universal NSI), linearity in c_s^2 and c_t^2, the vectorised grid path and
parameter validation.

The CsI 2021 template checks need the COHERENT releases (``$CEVNS_HF_DATA``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy.integrate import quad

from cevns_hf.bsm import nsi
from cevns_hf.bsm.family import HypothesisError
from cevns_hf.bsm.ngi import FAMILY, NGIModel, scalar_tensor_factors
from cevns_hf.detectors import csi2021
from cevns_hf.physics.cevns import max_recoil, nuclear_form_factors
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2, HBARC_MEV_FM, SIN2_THETA_W
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127, Nucleus
from cevns_hf.sources.sns_pidar import FLAVOURS

SM = StandardModel()
E_NU = np.array([10.0, 20.0, 29.8, 40.0, 52.0])
E_ES = np.array([30.0])
NUCLEI = (CS133, I127, AR40)
POINT = {"c_s": 0.03, "c_v": -0.08, "c_t": 0.05}


def _points(nucleus: Nucleus, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(E, T) pairs covering 0 .. 1.2 T_max(E) (the last points are beyond the end point)."""
    e = np.repeat(E_NU, n)
    t = np.concatenate([np.linspace(0.0, 1.2, n) * max_recoil(x, nucleus.mass) for x in E_NU])
    return e, t


def _prefactor(nucleus: Nucleus) -> float:
    return G_FERMI**2 * nucleus.mass / math.pi * HBARC2_MEV2_CM2


def _charges(t: np.ndarray, nucleus: Nucleus) -> tuple[np.ndarray, np.ndarray]:
    """(Q_V, A_F) with the package's form factors."""
    f_z, f_n = nuclear_form_factors(t, nucleus)
    return (0.5 - 2 * SIN2_THETA_W) * nucleus.z * f_z - 0.5 * nucleus.n * f_n, nucleus.z * f_z + nucleus.n * f_n


@pytest.fixture(scope="module")
def sm_templates() -> Any:
    return csi2021.templates(SM)


# --- Standard-Model limit -----------------------------------------------------------------------------


@pytest.mark.parametrize("model", [FAMILY.model(), NGIModel(), FAMILY.model({"c_s": 0.0, "c_v": 0.0, "c_t": 0.0})])
def test_sm_limit_cross_sections(model: Any) -> None:
    for nucleus in NUCLEI:
        e, t = _points(nucleus)
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.cevns(e, t, nucleus, flavour), SM.cevns(e, t, nucleus, flavour), rtol=1e-12, atol=0
            )
    t_e = np.linspace(0.0, 0.06, 50)
    for element in ("Cs", "I"):
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.electron(E_ES, t_e, element, flavour),
                SM.electron(E_ES, t_e, element, flavour),
                rtol=1e-12,
                atol=0,
            )


def test_sm_limit_templates(sm_templates: Any) -> None:
    tpl = csi2021.templates(FAMILY.model())
    for sample in ("cevns", "es"):
        assert tpl.sample(sample).total == pytest.approx(sm_templates.sample(sample).total, rel=1e-12, abs=0)
    assert tpl.sample("cevns").total == pytest.approx(324.15, abs=0.01)


def test_sm_limit_radiative() -> None:
    base = StandardModel(radiative=True, sin2_theta_w=0.24)
    model = NGIModel(sm=base)
    e, t = _points(I127)
    for flavour in FLAVOURS:
        np.testing.assert_allclose(model.cevns(e, t, I127, flavour), base.cevns(e, t, I127, flavour), rtol=1e-12)


def test_electron_scattering_unchanged() -> None:
    model = FAMILY.model(POINT)
    t_e = np.linspace(0.0, 0.06, 50)
    for flavour in FLAVOURS:
        np.testing.assert_array_equal(model.electron(E_ES, t_e, "I", flavour), SM.electron(E_ES, t_e, "I", flavour))


# --- antineutrino rule ----------------------------------------------------------------------------------


@pytest.mark.parametrize("values", [{"c_s": 0.1}, {"c_v": -0.3}, {"c_t": 0.2}, {"c_s": 0.1, "c_v": 0.2}])
def test_antineutrino_same_without_scalar_tensor_interference(values: dict[str, float]) -> None:
    model = FAMILY.model(values)
    for nucleus in NUCLEI:
        e, t = _points(nucleus)
        np.testing.assert_array_equal(model.cevns(e, t, nucleus, "nu_mu_bar"), model.cevns(e, t, nucleus, "nu_mu"))


def test_scalar_tensor_interference_flips_for_antineutrinos() -> None:
    model = FAMILY.model(POINT)
    e, t = _points(CS133)
    _, a_f = _charges(t, CS133)
    _, _, k_st = scalar_tensor_factors(e, t, CS133.mass)
    diff = model.cevns(e, t, CS133, "nu_mu_bar") - model.cevns(e, t, CS133, "nu_mu")
    want = 2.0 * _prefactor(CS133) * POINT["c_s"] * POINT["c_t"] / math.sqrt(2.0) * a_f**2 * k_st
    np.testing.assert_allclose(diff, want, rtol=1e-6, atol=1e-12 * np.abs(want).max())
    assert np.abs(diff).max() > 0


# --- kinematic factors from the Lagrangian (explicit Dirac matrices) ------------------------------------

_I2, _Z2 = np.eye(2), np.zeros((2, 2))
_PAULI = (np.array([[0, 1], [1, 0]]), np.array([[0, -1j], [1j, 0]]), np.array([[1, 0], [0, -1]]))
_GAMMA = [np.block([[_I2, _Z2], [_Z2, -_I2]]).astype(complex)] + [
    np.block([[_Z2, s], [-s, _Z2]]).astype(complex) for s in _PAULI
]
_G5 = 1j * _GAMMA[0] @ _GAMMA[1] @ _GAMMA[2] @ _GAMMA[3]
_ONE = np.eye(4, dtype=complex)
_METRIC = (1.0, -1.0, -1.0, -1.0)
_SIGMA = [[0.5j * (_GAMMA[m] @ _GAMMA[n] - _GAMMA[n] @ _GAMMA[m]) for n in range(4)] for m in range(4)]


def _slash(p: np.ndarray) -> np.ndarray:
    return sum(_METRIC[m] * p[m] * _GAMMA[m] for m in range(4))


def _bar(a: np.ndarray) -> np.ndarray:
    return _GAMMA[0] @ a.conj().T @ _GAMMA[0]


def _traced_dxs(e: float, t: float, m: float, *, c_s: float, c_v: float, c_t: float, anti: bool) -> float:
    """dsigma/dT / (G_F^2 M / pi) of L = -(G_F/sqrt2) sum_a C_a [nu Gamma^a (1 - g5) nu][N Gamma_a N] (+h.c.)
    for a point-like Dirac nucleus, from explicit spin traces (massless neutrino; the antineutrino is
    right-handed and sees the hermitian conjugate of the S and T operators)."""
    e_out = e - t
    cos = 1.0 - m * t / (e * e_out)
    k = np.array([e, 0.0, 0.0, e])
    kp = np.array([e_out, e_out * math.sqrt(1.0 - cos * cos), 0.0, e_out * cos])
    p = np.array([m, 0.0, 0.0, 0.0])
    pp = k + p - kp
    p_l, p_r = (_ONE - _G5) / 2, (_ONE + _G5) / 2
    chir_st = p_r if anti else p_l
    terms = [(2 * c_s * chir_st, _ONE)]
    terms += [(2 * c_v * _METRIC[mu] * _GAMMA[mu] @ p_l, _GAMMA[mu]) for mu in range(4)]
    terms += [
        (2 * c_t * _METRIC[mu] * _METRIC[nu] * _SIGMA[mu][nu] @ chir_st, _SIGMA[mu][nu])
        for mu in range(4)
        for nu in range(4)
    ]
    lep_in, lep_out = (kp, k) if anti else (k, kp)
    total = 0.0
    for a_i, n_i in terms:
        for a_j, n_j in terms:
            lep = np.trace(_slash(lep_out) @ a_i @ _slash(lep_in) @ _bar(a_j))
            nuc = np.trace((_slash(pp) + m * _ONE) @ n_i @ (_slash(p) + m * _ONE) @ _bar(n_j))
            total += (lep * nuc).real
    msq = total / 2.0 / 2.0  # nucleus spin average; (G_F / sqrt2)^2 = G_F^2 / 2
    return msq / (32.0 * math.pi * m * e * e) / (m / math.pi)


@pytest.mark.parametrize("flavour", ["nu_mu", "nu_mu_bar"])
def test_cross_section_matches_dirac_traces(flavour: str) -> None:
    """The model's bracket equals the traced Lagrangian with C_V = Q_V + c_v A_F, C_S = c_s A_F,
    C_T = c_t A_F / (2 sqrt2), up to the O(T^2/E^2, T/M) terms both drop (< 1e-6 here)."""
    values = {"c_s": 0.4, "c_v": -0.3, "c_t": 0.5}
    model = FAMILY.model(values)
    e = np.array([29.8, 29.8, 29.8, 45.0, 45.0])
    t = np.array([1e-4, 0.005, 0.012, 0.01, 0.03])
    q_v, a_f = _charges(t, CS133)
    got = model.cevns(e, t, CS133, flavour) / _prefactor(CS133)
    for k in range(t.size):
        want = _traced_dxs(
            e[k],
            t[k],
            CS133.mass,
            c_s=values["c_s"] * a_f[k],
            c_v=q_v[k] + values["c_v"] * a_f[k],
            c_t=values["c_t"] * a_f[k] / (2 * math.sqrt(2)),
            anti=flavour == "nu_mu_bar",
        )
        assert got[k] == pytest.approx(want, rel=1e-6)


# --- independent computation ----------------------------------------------------------------------------


def _helm(q_fm: float, r_rms: float, s: float = 0.9) -> float:
    """Helm form factor (Lewin & Smith 1996), written out independently."""
    r0 = math.sqrt(5.0 / 3.0 * (r_rms**2 - 3.0 * s**2))
    x = q_fm * r0
    if x < 1e-6:
        return 1.0
    return 3.0 * (math.sin(x) / x**2 - math.cos(x) / x) / x * math.exp(-0.5 * (q_fm * s) ** 2)


def _ngi_dxs_independent(e: float, t: float, nucleus: Nucleus, c: dict[str, float], anti: bool) -> float:
    """The module's documented formula written out (tree-level SM charges, Helm form factors)."""
    m = nucleus.mass
    q = math.sqrt(2.0 * m * t + t * t) / HBARC_MEV_FM
    fz, fn = _helm(q, nucleus.r_p), _helm(q, nucleus.r_n)
    q_v = (0.5 - 2.0 * SIN2_THETA_W) * nucleus.z * fz - 0.5 * nucleus.n * fn
    a_f = nucleus.z * fz + nucleus.n * fn
    y, x = t / e, m * t / (e * e)
    sign = 1.0 if anti else -1.0
    bracket = (
        (q_v + c["c_v"] * a_f) ** 2 * (1.0 - y - x / 2.0)
        + (c["c_s"] * a_f) ** 2 * x / 2.0
        + (c["c_t"] * a_f) ** 2 * (1.0 - y - x / 4.0)
        + sign * c["c_s"] * c["c_t"] * a_f**2 * y / math.sqrt(2.0)
    )
    return G_FERMI**2 * m / math.pi * bracket * HBARC2_MEV2_CM2


@pytest.mark.parametrize("flavour", ["nu_e", "nu_mu_bar"])
@pytest.mark.parametrize("nucleus", [CS133, AR40])
def test_total_cross_section_against_quad(flavour: str, nucleus: Nucleus) -> None:
    model = FAMILY.model(POINT)
    e = 30.0
    t_max = float(max_recoil(e, nucleus.mass))

    def model_dxs(t: float) -> float:
        return float(model.cevns(np.array([e]), np.array([t]), nucleus, flavour)[0])

    def indep_dxs(t: float) -> float:
        return _ngi_dxs_independent(e, t, nucleus, POINT, anti=flavour.endswith("_bar"))

    got, _ = quad(model_dxs, 0, t_max, epsabs=0, epsrel=1e-11, limit=200)
    want, _ = quad(indep_dxs, 0, t_max, epsabs=0, epsrel=1e-11, limit=200)
    assert got == pytest.approx(want, rel=1e-9)
    sm, _ = quad(lambda t: float(SM.cevns(np.array([e]), np.array([t]), nucleus, flavour)[0]), 0, t_max, epsrel=1e-10)
    assert abs(got / sm - 1) > 1e-3


# --- known behaviour -------------------------------------------------------------------------------------


def test_scalar_over_vector_vanishes_like_mt_over_e2() -> None:
    """(sigma(c_s) - sigma_SM) / sigma_SM -> c_s^2 A^2 / (2 Q_V^2) * M T / E^2 as T -> 0 (zero at T = 0)."""
    c_s = 0.2
    model = FAMILY.model({"c_s": c_s})
    e = np.full(6, 30.0)
    t = np.array([0.0, 1e-9, 1e-8, 1e-7, 1e-6, 1e-5])
    sm = SM.cevns(e, t, CS133, "nu_e")
    ratio = model.cevns(e, t, CS133, "nu_e") / sm - 1.0
    assert ratio[0] == 0.0
    q_v0 = (0.5 - 2 * SIN2_THETA_W) * CS133.z - 0.5 * CS133.n
    scaled = ratio[1:] / (CS133.mass * t[1:] / e[1:] ** 2)
    np.testing.assert_allclose(scaled, c_s**2 * CS133.a**2 / (2 * q_v0**2), rtol=1e-3)
    # and a tensor term does not vanish at T = 0: it adds c_t^2 A^2 / Q_V^2
    ratio_t = FAMILY.model({"c_t": c_s}).cevns(e[:1], t[:1], CS133, "nu_e") / sm[:1] - 1.0
    np.testing.assert_allclose(ratio_t, c_s**2 * CS133.a**2 / q_v0**2, rtol=1e-12)


@pytest.mark.parametrize("nucleus", [CS133, I127, AR40])
def test_vector_minus_twice_weak_charge_gives_sm(nucleus: Nucleus) -> None:
    """c_v A = -2 Q_V turns Q_V into -Q_V: exactly the SM when F_Z = F_N (r_n = r_p), all flavours."""
    same = nucleus.with_radii(r_n=nucleus.r_p)
    q_v0 = (0.5 - 2 * SIN2_THETA_W) * nucleus.z - 0.5 * nucleus.n
    model = FAMILY.model({"c_v": -2.0 * q_v0 / nucleus.a})
    e, t = _points(same)
    for flavour in FLAVOURS:
        np.testing.assert_allclose(model.cevns(e, t, same, flavour), SM.cevns(e, t, same, flavour), rtol=1e-12)


def test_vector_equals_universal_nsi() -> None:
    """c_v per nucleon = flavour-universal diagonal vector NSI with eps^u = eps^d = c_v / 3."""
    c_v = 0.27
    eps = c_v / 3.0
    nsi_model = nsi.FAMILY.model({f"eps_{p}_{q}": eps for p in ("ee", "mumu") for q in ("u", "d")})
    model = FAMILY.model({"c_v": c_v})
    for nucleus in NUCLEI:
        e, t = _points(nucleus)
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.cevns(e, t, nucleus, flavour), nsi_model.cevns(e, t, nucleus, flavour), rtol=1e-12
            )


def test_kinematic_factors() -> None:
    m = CS133.mass
    e = np.array([30.0, 30.0, 30.0, 30.0, -1.0])
    t_max = float(max_recoil(30.0, m))
    t = np.array([0.0, 0.5 * t_max, t_max * (1 - 1e-9), 1.01 * t_max, 0.001])
    k_s, k_t, k_st = scalar_tensor_factors(e, t, m)
    np.testing.assert_allclose(k_s[:3], m * t[:3] / (2 * 30.0**2), rtol=1e-14)
    np.testing.assert_allclose(k_t[:3], 1 - t[:3] / 30.0 - m * t[:3] / (4 * 30.0**2), rtol=1e-14)
    np.testing.assert_allclose(k_st[:3], t[:3] / 30.0, rtol=1e-14)
    for factor in (k_s, k_t, k_st):
        assert np.all(factor[3:] == 0)
    assert k_t[2] > 0.49  # the tensor factor does not vanish at the end point (point-like spin-1/2 target)


# --- linear POIs -----------------------------------------------------------------------------------------


def test_linear_poi_declarations() -> None:
    assert {(poi.name, poi.parameter) for poi in FAMILY.linear_pois} == {("c_s_sq", "c_s"), ("c_t_sq", "c_t")}
    for poi in FAMILY.linear_pois:
        assert poi.to_poi(-0.3) == pytest.approx(0.09)
        assert poi.from_poi(poi.to_poi(0.3)) == pytest.approx(0.3)


@pytest.mark.parametrize("parameter", ["c_s", "c_t"])
def test_rate_linear_in_squared_coupling(parameter: str, sm_templates: Any) -> None:
    n0 = sm_templates.sample("cevns").nominal
    slopes = [
        (csi2021.templates(FAMILY.model({parameter: v})).sample("cevns").nominal - n0) / v**2
        for v in (0.02, -0.1, 0.5, 2.0)
    ]
    for slope in slopes[1:]:
        np.testing.assert_allclose(slope, slopes[0], rtol=1e-8, atol=1e-12 * np.abs(slopes[0]).max())
    assert slopes[0].sum() > 0


def test_vector_is_not_linear_in_square() -> None:
    """c_v interferes with the SM: no c_v^2 POI."""
    n0 = csi2021.templates(SM).sample("cevns").total
    up = csi2021.templates(FAMILY.model({"c_v": 0.05})).sample("cevns").total - n0
    down = csi2021.templates(FAMILY.model({"c_v": -0.05})).sample("cevns").total - n0
    assert up * down < 0


# --- vectorised grid ---------------------------------------------------------------------------------


def test_grid_equals_loop() -> None:
    rng = np.random.default_rng(11)
    h = 6
    grid = {name: rng.uniform(-0.4, 0.4, size=(h, 1)) for name in FAMILY.parameter_names}
    grid_model = FAMILY.model(grid)
    singles = [FAMILY.model({name: float(v[k, 0]) for name, v in grid.items()}) for k in range(h)]
    e, t = _points(CS133, n=15)
    t_e = np.linspace(0.0, 0.05, 7)
    for flavour in FLAVOURS:
        got = grid_model.cevns(e, t, CS133, flavour)
        assert got.shape == (h, e.size)
        for k, single in enumerate(singles):
            np.testing.assert_allclose(got[k], single.cevns(e, t, CS133, flavour), rtol=1e-13)
        es = grid_model.electron(E_ES, t_e, "Cs", flavour)
        assert es.shape == (h, t_e.size)
        np.testing.assert_array_equal(es[3], SM.electron(E_ES, t_e, "Cs", flavour))
    engine = csi2021.setup().engine
    spectra = engine.spectra(grid_model, "cevns")
    assert spectra.shape[0] == h
    for k, single in enumerate(singles):
        np.testing.assert_allclose(spectra[k], engine.spectra(single, "cevns"), rtol=1e-12)


def test_scalar_hypothesis_shape() -> None:
    e, t = _points(AR40, n=9)
    assert FAMILY.model(POINT).cevns(e, t, AR40, "nu_e").shape == e.shape
    assert FAMILY.model(POINT).electron(E_ES, np.linspace(0, 0.05, 4), "Cs", "nu_e").shape == (4,)


# --- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"c_s": 5.01},
        {"c_v": -7.0},
        {"c_t": float("nan")},
        {"c_s": float("-inf")},
        {"c_p": 0.1},
        {"c_t": np.array([[0.1], [-9.0]])},
    ],
)
def test_invalid_parameters(values: dict[str, Any]) -> None:
    with pytest.raises(HypothesisError):
        FAMILY.model(values)


def test_family_contract() -> None:
    assert FAMILY.name == "ngi"
    assert FAMILY.parameter_names == ("c_s", "c_v", "c_t")
    assert all(p.sm == 0.0 and p.unit == "" for p in FAMILY.parameters)
    assert FAMILY.references
