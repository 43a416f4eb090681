"""Tests of the vector NSI family (cevns_hf.bsm.nsi): SM limit, flavour and antineutrino rules, an
independent scipy.quad total cross section, the up/down cancellation directions, linearity in the squared
flavour-changing couplings, the vectorised grid path and parameter validation.

The CsI 2021 template checks need the COHERENT releases (``$CEVNS_HF_DATA``).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pytest
from scipy.integrate import quad

from cevns_hf.bsm.family import HypothesisError
from cevns_hf.bsm.nsi import FAMILY, NSIModel
from cevns_hf.detectors import csi2021
from cevns_hf.physics.cevns import max_recoil
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2, HBARC_MEV_FM, SIN2_THETA_W
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127, Nucleus
from cevns_hf.sources.sns_pidar import FLAVOURS

SM = StandardModel()
E_NU = np.array([10.0, 20.0, 29.8, 40.0, 52.0])
E_ES = np.array([30.0])
NUCLEI = (CS133, I127, AR40)
ALL_ONE_PERCENT: dict[str, float] = {name: 0.01 * (k + 1) * (-1) ** k for k, name in enumerate(FAMILY.parameter_names)}


def _points(nucleus: Nucleus, n: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """(E, T) pairs covering 0 .. 1.2 T_max(E) (the last points are beyond the end point)."""
    e = np.repeat(E_NU, n)
    t = np.concatenate([np.linspace(0.0, 1.2, n) * max_recoil(x, nucleus.mass) for x in E_NU])
    return e, t


@pytest.fixture(scope="module")
def sm_templates() -> Any:
    return csi2021.templates(SM)


# --- Standard-Model limit -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", [FAMILY.model(), NSIModel(), FAMILY.model(dict.fromkeys(FAMILY.parameter_names, 0.0))]
)
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
    model = NSIModel(sm=base)
    e, t = _points(CS133)
    for flavour in FLAVOURS:
        np.testing.assert_allclose(model.cevns(e, t, CS133, flavour), base.cevns(e, t, CS133, flavour), rtol=1e-12)


# --- flavour and antineutrino rules -----------------------------------------------------------------


def test_antineutrino_same_cross_section() -> None:
    model = FAMILY.model(ALL_ONE_PERCENT)
    for nucleus in NUCLEI:
        e, t = _points(nucleus)
        np.testing.assert_array_equal(model.cevns(e, t, nucleus, "nu_mu_bar"), model.cevns(e, t, nucleus, "nu_mu"))


@pytest.mark.parametrize(
    ("coupling", "changes"),
    [
        ("eps_ee_u", {"nu_e"}),
        ("eps_ee_d", {"nu_e"}),
        ("eps_mumu_u", {"nu_mu", "nu_mu_bar"}),
        ("eps_mumu_d", {"nu_mu", "nu_mu_bar"}),
        ("eps_emu_u", {"nu_e", "nu_mu", "nu_mu_bar"}),
        ("eps_emu_d", {"nu_e", "nu_mu", "nu_mu_bar"}),
        ("eps_etau_u", {"nu_e"}),
        ("eps_etau_d", {"nu_e"}),
        ("eps_mutau_u", {"nu_mu", "nu_mu_bar"}),
        ("eps_mutau_d", {"nu_mu", "nu_mu_bar"}),
    ],
)
def test_flavour_dependence(coupling: str, changes: set[str]) -> None:
    model = FAMILY.model({coupling: 0.05})
    e, t = _points(CS133)
    for flavour in FLAVOURS:
        bsm, sm = model.cevns(e, t, CS133, flavour), SM.cevns(e, t, CS133, flavour)
        if flavour in changes:
            assert not np.allclose(bsm, sm, rtol=1e-6, atol=0)
        else:
            np.testing.assert_array_equal(bsm, sm)


def test_symmetric_flavour_changing_coupling() -> None:
    """eps_emu = eps_mue: nu_e -> nu_mu and nu_mu -> nu_e add the same |amplitude|^2."""
    e, t = _points(I127)
    model = FAMILY.model({"eps_emu_u": 0.07, "eps_emu_d": -0.02})
    excess_e = model.cevns(e, t, I127, "nu_e") - SM.cevns(e, t, I127, "nu_e")
    excess_mu = model.cevns(e, t, I127, "nu_mu") - SM.cevns(e, t, I127, "nu_mu")
    np.testing.assert_allclose(excess_e, excess_mu, rtol=1e-9, atol=1e-60)


def test_electron_scattering_unchanged() -> None:
    model = FAMILY.model(ALL_ONE_PERCENT)
    t_e = np.linspace(0.0, 0.06, 50)
    for flavour in FLAVOURS:
        np.testing.assert_array_equal(model.electron(E_ES, t_e, "Cs", flavour), SM.electron(E_ES, t_e, "Cs", flavour))


# --- independent computation ----------------------------------------------------------------------------


def _helm(q_fm: float, r_rms: float, s: float = 0.9) -> float:
    """Helm form factor (Lewin & Smith 1996), written out independently."""
    r0 = math.sqrt(5.0 / 3.0 * (r_rms**2 - 3.0 * s**2))
    x = q_fm * r0
    j1 = math.sin(x) / x**2 - math.cos(x) / x if x > 1e-6 else x / 3.0
    return 3.0 * j1 / x * math.exp(-0.5 * (q_fm * s) ** 2) if x > 1e-6 else 1.0


def _nsi_dxs_independent(e: float, t: float, nucleus: Nucleus, eps: dict[str, float], alpha: str) -> float:
    """physics.md 6.3 (Barranco et al.; Giunti 2020) written out: tree-level charges, Helm form factors."""
    m = nucleus.mass
    q = math.sqrt(2.0 * m * t + t * t) / HBARC_MEV_FM
    fz, fn = _helm(q, nucleus.r_p), _helm(q, nucleus.r_n)
    z, n = nucleus.z, nucleus.n
    gp, gn = 0.5 - 2.0 * SIN2_THETA_W, -0.5

    def e_(a: str, b: str, quark: str) -> float:
        key = f"eps_{a}{b}_{quark}" if f"eps_{a}{b}_{quark}" in eps else f"eps_{b}{a}_{quark}"
        return eps.get(key, 0.0)

    q2 = ((gp + 2 * e_(alpha, alpha, "u") + e_(alpha, alpha, "d")) * z * fz
          + (gn + e_(alpha, alpha, "u") + 2 * e_(alpha, alpha, "d")) * n * fn) ** 2  # fmt: skip
    for beta in ("e", "mu", "tau"):
        if beta != alpha:
            u, d = e_(alpha, beta, "u"), e_(alpha, beta, "d")
            q2 += ((2 * u + d) * z * fz + (u + 2 * d) * n * fn) ** 2
    kin = 1.0 - t / e - m * t / (2.0 * e * e)
    return G_FERMI**2 * m / math.pi * kin * q2 * HBARC2_MEV2_CM2


@pytest.mark.parametrize(("flavour", "alpha"), [("nu_e", "e"), ("nu_mu", "mu"), ("nu_mu_bar", "mu")])
def test_total_cross_section_against_quad(flavour: str, alpha: str) -> None:
    """sigma(E = 30 MeV) on Cs-133 with all ten couplings non-zero: model vs the formula written out here."""
    eps = {name: 0.1 * (k + 1) * (-1) ** k for k, name in enumerate(FAMILY.parameter_names)}
    model = FAMILY.model(eps)
    e = 30.0
    t_max = float(max_recoil(e, CS133.mass))
    got, _ = quad(
        lambda t: float(model.cevns(np.array([e]), np.array([t]), CS133, flavour)[0]),
        0,
        t_max,
        epsabs=0,
        epsrel=1e-11,
        limit=200,
    )
    want, _ = quad(lambda t: _nsi_dxs_independent(e, t, CS133, eps, alpha), 0, t_max, epsabs=0, epsrel=1e-11, limit=200)
    assert got == pytest.approx(want, rel=1e-9)
    assert got > 1e-40


def test_flavour_changing_amplitude_has_neutron_part() -> None:
    """The flavour-changing excess is |(2u + d) Z F_Z + (u + 2d) N F_N|^2 (not proton-only): at T = 0,
    excess / SM = (0.2 Z + 0.4 N)^2 / Q_SM^2 for eps_etau_d = 0.2."""
    t0 = np.zeros_like(E_NU)
    model = FAMILY.model({"eps_etau_d": 0.2})
    sm = SM.cevns(E_NU, t0, CS133, "nu_e")
    excess = model.cevns(E_NU, t0, CS133, "nu_e") - sm
    want = (0.2 * CS133.z + 0.4 * CS133.n) ** 2 / _sm_weak_charge(CS133) ** 2
    np.testing.assert_allclose(excess / sm, want, rtol=1e-12)


# --- known behaviour: up/down cancellation directions -------------------------------------------------


def _sm_weak_charge(nucleus: Nucleus) -> float:
    return (0.5 - 2 * SIN2_THETA_W) * nucleus.z - 0.5 * nucleus.n


@pytest.mark.parametrize("eps_u", [-0.3, 0.05, 0.4])
def test_cancellation_line_gives_sm(eps_u: float) -> None:
    """(2 eps_u + eps_d) Z + (eps_u + 2 eps_d) N = 0, i.e. eps_d = -eps_u (2Z+N)/(Z+2N): exactly the SM when
    F_Z = F_N (a Cs nucleus with r_n = r_p, all T), and at T -> 0 for the real Cs."""
    z, n = CS133.z, CS133.n
    eps_d = -eps_u * (2 * z + n) / (z + 2 * n)
    model = FAMILY.model({"eps_ee_u": eps_u, "eps_ee_d": eps_d})
    same_radii = CS133.with_radii(r_n=CS133.r_p)
    e, t = _points(same_radii)
    np.testing.assert_allclose(model.cevns(e, t, same_radii, "nu_e"), SM.cevns(e, t, same_radii, "nu_e"), rtol=1e-12)
    t_low = np.full(5, 1e-10)
    np.testing.assert_allclose(model.cevns(E_NU, t_low, CS133, "nu_e"), SM.cevns(E_NU, t_low, CS133, "nu_e"), rtol=1e-8)
    # with F_Z != F_N at real recoils the cancellation is only approximate
    t_real = np.full(5, 0.015)
    assert not np.allclose(
        model.cevns(E_NU, t_real, CS133, "nu_e"), SM.cevns(E_NU, t_real, CS133, "nu_e"), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize("eps_u", [0.0, 0.2, -0.2])
def test_sign_flipped_solution_gives_sm(eps_u: float) -> None:
    """The second degenerate solution: the NSI shift equals -2 Q_SM, so Q -> -Q_SM and Q^2 is unchanged."""
    z, n = CS133.z, CS133.n
    eps_d = (-2.0 * _sm_weak_charge(CS133) - eps_u * (2 * z + n)) / (z + 2 * n)
    model = FAMILY.model({"eps_ee_u": eps_u, "eps_ee_d": eps_d})
    same_radii = CS133.with_radii(r_n=CS133.r_p)
    e, t = _points(same_radii)
    np.testing.assert_allclose(model.cevns(e, t, same_radii, "nu_e"), SM.cevns(e, t, same_radii, "nu_e"), rtol=1e-12)
    # the same for nu_mu with the mumu couplings
    model_mu = FAMILY.model({"eps_mumu_u": eps_u, "eps_mumu_d": eps_d})
    for flavour in ("nu_mu", "nu_mu_bar"):
        np.testing.assert_allclose(
            model_mu.cevns(e, t, same_radii, flavour), SM.cevns(e, t, same_radii, flavour), rtol=1e-12
        )


# --- linear POIs -----------------------------------------------------------------------------------------


def test_linear_poi_declarations() -> None:
    names = {poi.name for poi in FAMILY.linear_pois}
    assert names == {f"eps_{p}_{q}_sq" for p in ("emu", "etau", "mutau") for q in ("u", "d")}
    for poi in FAMILY.linear_pois:
        assert poi.parameter in FAMILY.parameter_names
        assert poi.to_poi(-0.3) == pytest.approx(0.09)
        assert poi.from_poi(poi.to_poi(0.3)) == pytest.approx(0.3)


@pytest.mark.parametrize("parameter", ["eps_emu_u", "eps_etau_d", "eps_mutau_u"])
def test_rate_linear_in_squared_flavour_changing_coupling(parameter: str, sm_templates: Any) -> None:
    n0 = sm_templates.sample("cevns").nominal
    slopes = []
    for value in (0.05, -0.2, 0.5, 1.5):
        n = csi2021.templates(FAMILY.model({parameter: value})).sample("cevns").nominal
        slopes.append((n - n0) / value**2)
    for slope in slopes[1:]:
        np.testing.assert_allclose(slope, slopes[0], rtol=1e-8, atol=1e-12 * np.abs(slopes[0]).max())
    assert slopes[0].sum() > 0


# --- vectorised grid ---------------------------------------------------------------------------------


def test_grid_equals_loop() -> None:
    rng = np.random.default_rng(7)
    h = 5
    grid = {name: rng.uniform(-0.5, 0.5, size=(h, 1)) for name in FAMILY.parameter_names}
    grid_model = FAMILY.model(grid)
    e, t = _points(I127, n=15)
    for flavour in FLAVOURS:
        got = grid_model.cevns(e, t, I127, flavour)
        assert got.shape == (h, e.size)
        for k in range(h):
            single = FAMILY.model({name: float(v[k, 0]) for name, v in grid.items()})
            np.testing.assert_allclose(got[k], single.cevns(e, t, I127, flavour), rtol=1e-13)
        es = grid_model.electron(E_ES, np.linspace(0.0, 0.05, 7), "I", flavour)
        assert es.shape == (h, 7)
        np.testing.assert_array_equal(es[2], SM.electron(E_ES, np.linspace(0.0, 0.05, 7), "I", flavour))
    engine = csi2021.setup().engine
    spectra = engine.spectra(grid_model, "cevns")
    assert spectra.shape[0] == h
    for k in range(h):
        single = FAMILY.model({name: float(v[k, 0]) for name, v in grid.items()})
        np.testing.assert_allclose(spectra[k], engine.spectra(single, "cevns"), rtol=1e-12)


def test_scalar_hypothesis_shape() -> None:
    e, t = _points(AR40, n=9)
    assert FAMILY.model(ALL_ONE_PERCENT).cevns(e, t, AR40, "nu_e").shape == e.shape
    assert FAMILY.model(ALL_ONE_PERCENT).electron(E_ES, np.linspace(0, 0.05, 4), "Cs", "nu_e").shape == (4,)


# --- validation -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {"eps_ee_u": 5.5},
        {"eps_mutau_d": -6.0},
        {"eps_emu_u": float("nan")},
        {"eps_etau_u": float("inf")},
        {"eps_tautau_u": 0.1},
        {"eps_ee_u": np.array([[0.1], [7.0]])},
    ],
)
def test_invalid_parameters(values: dict[str, Any]) -> None:
    with pytest.raises(HypothesisError):
        FAMILY.model(values)


def test_family_contract() -> None:
    assert FAMILY.name == "nsi"
    assert FAMILY.parameter_names == tuple(
        f"eps_{p}_{q}" for p in ("ee", "mumu", "emu", "etau", "mutau") for q in ("u", "d")
    )
    assert all(p.sm == 0.0 and p.unit == "" for p in FAMILY.parameters)
    assert dataclasses.is_dataclass(FAMILY.model())
    assert FAMILY.references
