"""Tests of the neutrino electromagnetic-property families: magnetic moment, charge radius, millicharge.

Checks per family: the SM limit (cross sections and the CsI 2021 templates), the antineutrino and flavour
rules, a total cross section at E = 30 MeV against the paper's formula written out here with its own Helm
form factor and integrated with scipy quad, the known behaviours (1/T rise of the magnetic moment, the
charge-radius degeneracy and its equivalence with a sin^2(theta_W) shift, the 1/(2MT) millicharge
enhancement and its equivalence with a charge radius), the (H, 1) grid path, and the parameter checks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import integrate
from scipy.special import spherical_jn

from cevns_hf.bsm import charge_radius, magnetic_moment, millicharge
from cevns_hf.bsm.family import HypothesisError
from cevns_hf.detectors import csi2021
from cevns_hf.physics.cevns import max_recoil
from cevns_hf.physics.constants import ALPHA_EM, G_FERMI, HBARC2_MEV2_CM2, HBARC_MEV_FM, M_ELECTRON, SIN2_THETA_W
from cevns_hf.physics.electron import es_max_recoil, z_effective
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127, Nucleus
from cevns_hf.sources.sns_pidar import FLAVOURS

FAMILIES: tuple[ModuleType, ...] = (magnetic_moment, charge_radius, millicharge)
#: A non-zero point of every parameter of each family (moderate effects: O(1-100%) on CsI CEvNS).
POINTS: dict[str, dict[str, float]] = {
    "magnetic_moment": {"mu_nu_e": 3e-9, "mu_nu_mu": -2e-9, "mu_emu": 1e-9, "mu_etau": 2e-9, "mu_mutau": 1.5e-9},
    "charge_radius": {"r2_ee": -20.0, "r2_mumu": 8.0, "r2_emu": 10.0, "r2_etau": -5.0, "r2_mutau": 7.0},
    "millicharge": {"q_ee": 1e-8, "q_mumu": -2e-8, "q_emu": 5e-9, "q_etau": -1e-8, "q_mutau": 3e-9},
}
NUCLEI = (CS133, I127, AR40)
ELEMENTS = ("Cs", "I", "Ar")
E_NU = 30.0
#: Helm skin thickness [fm] (Lewin & Smith 1996), restated here for the independent form factor.
HELM_S = 0.9
#: Coupling per unit <r^2> = 1e-32 cm^2: sqrt(2) pi alpha / (3 G_F) * 1e-32 cm^2 / (hbar c)^2.
K_CR = math.sqrt(2.0) * math.pi * ALPHA_EM / (3.0 * G_FERMI) * 1e-32 / HBARC2_MEV2_CM2


def _points(nucleus: Nucleus, e_nu: float = E_NU, n: int = 40) -> tuple[npt.NDArray[np.float64], ...]:
    """(E, T) points spanning (0, T_max], a few above T_max."""
    t_max = float(max_recoil(e_nu, nucleus.mass))
    t = np.concatenate([np.geomspace(1e-6, 1.0, n) * t_max, [1.0001 * t_max, 2.0 * t_max]])
    return np.full_like(t, e_nu), t


def _es_points(e_nu: float = E_NU, n: int = 40) -> tuple[npt.NDArray[np.float64], ...]:
    t_max = float(es_max_recoil(e_nu))
    t = np.concatenate([np.geomspace(1e-7, 1.0, n) * t_max, [1.0001 * t_max]])
    return np.full_like(t, e_nu), t


def _helm(t: float, nucleus: Nucleus, r_rms: float) -> float:
    """Helm form factor written out independently: 3 j1(q R0)/(q R0) exp(-q^2 s^2 / 2)."""
    q = math.sqrt(2.0 * nucleus.mass * t + t * t) / HBARC_MEV_FM
    r0 = math.sqrt(5.0 / 3.0 * (r_rms**2 - 3.0 * HELM_S**2))
    x = q * r0
    return (3.0 * spherical_jn(1, x) / x if x > 1e-8 else 1.0) * math.exp(-0.5 * (q * HELM_S) ** 2)


def _sm_cevns_indep(
    e: float, t: float, nucleus: Nucleus, *, dgv_p: float = 0.0, extra_sq: float = 0.0, mm_sq: float = 0.0
) -> float:
    """Cadeddu et al. 2020 / Vogel-Engel written out: weak part with g_V^p + dgv_p, incoherent proton part
    Z^2 F_Z^2 extra_sq, and the magnetic-moment part with (mu/mu_B)^2 = mm_sq [cm^2/MeV]."""
    f_z, f_n = _helm(t, nucleus, nucleus.r_p), _helm(t, nucleus, nucleus.r_n)
    gv_p, gv_n = 0.5 - 2.0 * SIN2_THETA_W + dgv_p, -0.5
    kin = 1.0 - t / e - nucleus.mass * t / (2.0 * e * e)
    weak = G_FERMI**2 * nucleus.mass / math.pi * kin
    weak *= (gv_p * nucleus.z * f_z + gv_n * nucleus.n * f_n) ** 2 + (nucleus.z * f_z) ** 2 * extra_sq
    mm = math.pi * ALPHA_EM**2 / M_ELECTRON**2 * (1.0 / t - 1.0 / e) * (nucleus.z * f_z) ** 2 * mm_sq
    return (weak + mm) * HBARC2_MEV2_CM2


def _quad(f: Callable[[float], float], lo: float, hi: float) -> float:
    value, _ = integrate.quad(f, lo, hi, epsrel=1e-11, epsabs=0.0, limit=200)
    return float(value)


def _scalar_cevns(model: Any, nucleus: Nucleus, flavour: str) -> Callable[[float], float]:
    return lambda t: float(model.cevns(np.array([E_NU]), np.array([t]), nucleus, flavour)[0])


# ------------------------------------------------------------------------------------------ all families


@pytest.mark.parametrize("family", FAMILIES, ids=lambda m: m.FAMILY.name)
@pytest.mark.parametrize(
    "base", [StandardModel(), StandardModel(sin2_theta_w=0.24, radiative=True)], ids=["tree", "rad"]
)
def test_zero_coupling_is_the_sm(family: ModuleType, base: StandardModel) -> None:
    """Zero couplings (family defaults, or explicit zeros on another SM base) give the SM exactly."""
    zeros = dict.fromkeys(family.FAMILY.parameter_names, 0.0)
    models = [family.FAMILY.model({}), family.FAMILY.model(zeros)] if base == StandardModel() else []
    models.append(family.FAMILY.make_model(zeros).__class__(**zeros, sm=base))
    for model in models:
        for nucleus, element in zip(NUCLEI, ELEMENTS, strict=True):
            e, t = _points(nucleus)
            te_e, te = _es_points()
            for flavour in FLAVOURS:
                np.testing.assert_allclose(
                    model.cevns(e, t, nucleus, flavour), base.cevns(e, t, nucleus, flavour), rtol=1e-12, atol=0
                )
                np.testing.assert_allclose(
                    model.electron(te_e, te, element, flavour),
                    base.electron(te_e, te, element, flavour),
                    rtol=1e-12,
                    atol=0,
                )
                assert model.flux_factor(flavour, e, 19.3) == 1.0


@pytest.mark.parametrize("family", FAMILIES, ids=lambda m: m.FAMILY.name)
def test_zero_coupling_csi2021_templates(family: ModuleType) -> None:
    sm = csi2021.templates()
    bsm = csi2021.templates(family.FAMILY.model({}))
    assert sm.sample("cevns").total == pytest.approx(324.15, abs=0.01)
    for name in ("cevns", "es"):
        assert bsm.sample(name).total == pytest.approx(sm.sample(name).total, rel=1e-12, abs=0)
        np.testing.assert_allclose(bsm.sample(name).nominal, sm.sample(name).nominal, rtol=1e-12, atol=0)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda m: m.FAMILY.name)
def test_grid_equals_loop(family: ModuleType) -> None:
    """Parameters as (H, 1) arrays give (H, n_points), equal to a loop over scalar hypotheses."""
    point = POINTS[family.FAMILY.name]
    scales = np.array([0.0, 0.5, 1.0, -1.3])[:, None]
    grid = family.FAMILY.model({k: v * scales for k, v in point.items()})
    scalar_models = [family.FAMILY.model({k: v * float(s) for k, v in point.items()}) for s in scales[:, 0]]
    e, t = _points(CS133)
    te_e, te = _es_points()
    for flavour in FLAVOURS:
        xs = grid.cevns(e, t, CS133, flavour)
        assert xs.shape == (len(scales), len(t))
        np.testing.assert_allclose(xs, [m.cevns(e, t, CS133, flavour) for m in scalar_models], rtol=1e-13, atol=0)
        es = grid.electron(te_e, te, "Cs", flavour)
        assert es.shape == (len(scales), len(te))
        np.testing.assert_allclose(es, [m.electron(te_e, te, "Cs", flavour) for m in scalar_models], rtol=1e-13, atol=0)
        assert scalar_models[2].cevns(e, t, CS133, flavour).shape == t.shape
    engine = csi2021.setup().engine
    for process in ("cevns", "es"):
        batch = engine.spectra(grid, process)
        loop = np.stack([engine.spectra(m, process) for m in scalar_models])
        assert batch.shape == loop.shape
        np.testing.assert_allclose(batch, loop, rtol=1e-12, atol=0)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda m: m.FAMILY.name)
def test_invalid_parameters_raise(family: ModuleType) -> None:
    fam = family.FAMILY
    for p in fam.parameters:
        assert p.sm == 0.0
        for bad in (math.inf, math.nan, 2.0 * p.hi, -2.0 * p.hi, np.array([[0.0], [2.0 * p.hi]])):
            with pytest.raises(HypothesisError, match=p.name):
                fam.model({p.name: bad})
        fam.model({p.name: -0.5 * p.hi})  # any sign is allowed
    with pytest.raises(HypothesisError, match="no parameter"):
        fam.model({"sin2_theta_w": 0.2})


# ------------------------------------------------------------------------------------------ magnetic moment


def test_magnetic_moment_family_contract() -> None:
    fam = magnetic_moment.FAMILY
    assert fam.name == "magnetic_moment"
    assert fam.parameter_names == ("mu_nu_e", "mu_nu_mu", "mu_emu", "mu_etau", "mu_mutau")
    assert all(p.unit == "mu_B" for p in fam.parameters)
    pois = {poi.name: poi for poi in fam.linear_pois}
    assert set(pois) == {"mu_nu_e_sq", "mu_nu_mu_sq"}
    for poi in pois.values():
        assert poi.unit == "mu_B^2"
        assert poi.to_poi(-3e-9) == pytest.approx(9e-18, rel=1e-14)
        assert poi.from_poi(poi.to_poi(4e-9)) == pytest.approx(4e-9, rel=1e-14)
        with pytest.raises(HypothesisError):
            poi.from_poi(-1e-18)


def test_magnetic_moment_rate_linear_in_mu_squared() -> None:
    """The CsI CEvNS and ES totals change linearly in mu_nu_e^2 (the LinearPOI contract)."""
    sm = csi2021.templates()
    changes = []
    for mu in (1e-9, 2e-9, 5e-9):
        t = csi2021.templates(magnetic_moment.FAMILY.model({"mu_nu_e": mu}))
        changes.append([(t.sample(s).total - sm.sample(s).total) / mu**2 for s in ("cevns", "es")])
    np.testing.assert_allclose(changes, [changes[0]] * 3, rtol=1e-9)
    assert min(changes[0]) > 0


def test_magnetic_moment_flavours_and_antineutrinos() -> None:
    e, t = _points(CS133)
    te_e, te = _es_points()
    sm = StandardModel()

    def extra(values: dict[str, float], flavour: str) -> tuple[Any, Any]:
        m = magnetic_moment.FAMILY.model(values)
        return (
            m.cevns(e, t, CS133, flavour) - sm.cevns(e, t, CS133, flavour),
            m.electron(te_e, te, "Cs", flavour) - sm.electron(te_e, te, "Cs", flavour),
        )

    # nu_mu and anti-nu_mu see the same moment and the same (incoherent) addition
    for a, b in zip(extra({"mu_nu_mu": 4e-9}, "nu_mu"), extra({"mu_nu_mu": 4e-9}, "nu_mu_bar"), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)
        assert np.max(a) > 0
    # the sign of the moment does not matter
    for a, b in zip(extra({"mu_nu_mu": 4e-9}, "nu_mu"), extra({"mu_nu_mu": -4e-9}, "nu_mu"), strict=True):
        np.testing.assert_array_equal(a, b)
    # flavour: nu_e ignores mu_nu_mu and mu_mutau, nu_mu ignores mu_nu_e and mu_etau
    for values, flavour in (
        ({"mu_nu_mu": 4e-9, "mu_mutau": 4e-9}, "nu_e"),
        ({"mu_nu_e": 4e-9, "mu_etau": 4e-9}, "nu_mu"),
    ):
        for a in extra(values, flavour):
            np.testing.assert_array_equal(a, 0.0)
    # effective moment: diagonal and transitions add in quadrature (3^2 + 4^2 = 5^2)
    for flavour, diag, trans in (("nu_e", "mu_nu_e", "mu_etau"), ("nu_mu_bar", "mu_nu_mu", "mu_emu")):
        for a, b in zip(extra({diag: 3e-9, trans: 4e-9}, flavour), extra({diag: 5e-9}, flavour), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


def test_magnetic_moment_total_cevns_against_vogel_engel() -> None:
    """sigma(E = 30 MeV, 1 keV < T < T_max) on Cs: SM + (pi alpha^2/m_e^2)(1/T - 1/E) Z^2 F_Z^2 mu^2."""
    mu = 5e-9
    model = magnetic_moment.FAMILY.model({"mu_nu_e": mu})
    t_max = float(max_recoil(E_NU, CS133.mass))
    got = _quad(_scalar_cevns(model, CS133, "nu_e"), 1e-3, t_max)
    expected = _quad(lambda t: _sm_cevns_indep(E_NU, t, CS133, mm_sq=mu**2), 1e-3, t_max)
    assert got == pytest.approx(expected, rel=1e-9)
    sm_only = _quad(lambda t: _sm_cevns_indep(E_NU, t, CS133), 1e-3, t_max)
    assert got / sm_only > 1.05  # a visible effect at 5e-9 mu_B


def test_magnetic_moment_total_es_closed_form() -> None:
    """ES above the K shell of Cs (Z_eff = 55): the MM part integrates to
    (pi alpha^2/m_e^2) 55 mu^2 [ln(T_max/T_0) - (T_max - T_0)/E] (Vogel & Engel 1989)."""
    mu = 1e-9
    model = magnetic_moment.FAMILY.model({"mu_nu_mu": mu})
    sm = StandardModel()
    t0, t_max = 0.04, float(es_max_recoil(E_NU))

    def mm_part(t: float) -> float:
        ta, ea = np.array([t]), np.array([E_NU])
        return float((model.electron(ea, ta, "Cs", "nu_mu_bar") - sm.electron(ea, ta, "Cs", "nu_mu_bar"))[0])

    expected = math.pi * ALPHA_EM**2 / M_ELECTRON**2 * 55 * mu**2 * (math.log(t_max / t0) - (t_max - t0) / E_NU)
    assert _quad(mm_part, t0, t_max) == pytest.approx(expected * HBARC2_MEV2_CM2, rel=1e-8)


@pytest.mark.parametrize("nucleus", NUCLEI, ids=lambda n: n.name)
def test_magnetic_moment_one_over_t_rise_and_end_point(nucleus: Nucleus) -> None:
    """(sigma_MM / sigma_SM) T -> constant as T -> 0; no scattering above T_max."""
    model = magnetic_moment.FAMILY.model({"mu_nu_mu": 1e-9})
    sm = StandardModel()
    t = np.array([1e-8, 1e-7, 1e-6])
    e = np.full_like(t, E_NU)
    ratio = (model.cevns(e, t, nucleus, "nu_mu") - sm.cevns(e, t, nucleus, "nu_mu")) / sm.cevns(e, t, nucleus, "nu_mu")
    np.testing.assert_allclose(ratio * t, ratio[0] * t[0], rtol=1e-4)
    assert ratio[0] / ratio[-1] == pytest.approx(100.0, rel=1e-4)
    t_max = float(max_recoil(E_NU, nucleus.mass))
    above = t_max * np.array([1.0 + 1e-9, 1.5, 10.0, 1e3])  # 1/T - 1/E > 0 there, but T > T_max
    np.testing.assert_array_equal(model.cevns(np.full(4, E_NU), above, nucleus, "nu_mu"), 0.0)
    assert float(model.cevns(np.array([E_NU]), np.array([0.999 * t_max]), nucleus, "nu_mu")[0]) > 0
    te_max = float(es_max_recoil(E_NU))
    np.testing.assert_array_equal(model.electron(np.full(2, E_NU), te_max * np.array([1.001, 2.0]), "Cs", "nu_mu"), 0.0)
    assert float(model.electron(np.array([E_NU]), np.array([0.999 * te_max]), "Cs", "nu_mu")[0]) > 0
    # no recoil, no cross section (the 1/T pole is not evaluated at T = 0)
    assert np.all(np.isfinite(model.cevns(np.array([E_NU]), np.array([0.0]), nucleus, "nu_mu")))


# ------------------------------------------------------------------------------------------ charge radius


def test_charge_radius_coupling_value() -> None:
    """Q^CR per 1e-32 cm^2 = 0.0238; the SM <r^2_nu_e> = -0.83 shifts g_V^p by +0.0198 (Cadeddu et al. 2018)."""
    per_unit = charge_radius.charge_radius_coupling(1.0)
    assert per_unit == pytest.approx(K_CR, rel=1e-14)
    assert per_unit == pytest.approx(0.02380, rel=1e-3)
    assert charge_radius.charge_radius_coupling(-0.83) == pytest.approx(-0.01975, rel=1e-3)
    assert charge_radius.FAMILY.parameter_names == ("r2_ee", "r2_mumu", "r2_emu", "r2_etau", "r2_mutau")
    assert all(p.unit == "1e-32 cm^2" for p in charge_radius.FAMILY.parameters)


@pytest.mark.parametrize(("flavour", "param"), [("nu_e", "r2_ee"), ("nu_mu", "r2_mumu"), ("nu_mu_bar", "r2_mumu")])
@pytest.mark.parametrize("r2", [-30.0, 4.0])
def test_charge_radius_equals_weak_mixing_shift(flavour: str, param: str, r2: float) -> None:
    """A diagonal radius is sin^2(theta_W) -> sin^2(theta_W) + Q^CR/2 = s^2 (1 + m_W^2 <r^2>/3) in both
    CEvNS and ES (Giunti & Studenikin 2015): an independent check of the signs g_V^p - Q, g_V^e + Q."""
    model = charge_radius.FAMILY.model({param: r2})
    shifted = StandardModel(sin2_theta_w=SIN2_THETA_W + 0.5 * K_CR * r2)
    for nucleus, element in zip(NUCLEI, ELEMENTS, strict=True):
        e, t = _points(nucleus)
        np.testing.assert_allclose(
            model.cevns(e, t, nucleus, flavour), shifted.cevns(e, t, nucleus, flavour), rtol=1e-11, atol=0
        )
        te_e, te = _es_points()
        np.testing.assert_allclose(
            model.electron(te_e, te, element, flavour), shifted.electron(te_e, te, element, flavour), rtol=1e-11, atol=0
        )
    # the other flavour is untouched
    other = "nu_mu" if flavour == "nu_e" else "nu_e"
    e, t = _points(CS133)
    np.testing.assert_array_equal(model.cevns(e, t, CS133, other), StandardModel().cevns(e, t, CS133, other))


def test_charge_radius_antineutrino_and_transitions() -> None:
    e, t = _points(CS133)
    te_e, te = _es_points()
    sm = StandardModel()
    # nu_mu and anti-nu_mu: the same CEvNS cross section (<r^2> flips with g_V)
    model = charge_radius.FAMILY.model({"r2_mumu": -25.0, "r2_emu": 6.0, "r2_mutau": 3.0})
    np.testing.assert_allclose(model.cevns(e, t, CS133, "nu_mu_bar"), model.cevns(e, t, CS133, "nu_mu"), rtol=1e-14)
    # transitions: incoherent, proton-only, even in the sign, and seen by the right flavours
    for name, flavours, blind in (("r2_emu", ("nu_e", "nu_mu", "nu_mu_bar"), ()), ("r2_etau", ("nu_e",), ("nu_mu",))):
        plus = charge_radius.FAMILY.model({name: 12.0})
        minus = charge_radius.FAMILY.model({name: -12.0})
        for flavour in flavours:
            inside = t < 0.999 * float(max_recoil(E_NU, CS133.mass))
            expected = [_sm_cevns_indep(E_NU, ti, CS133, extra_sq=(12.0 * K_CR) ** 2) for ti in t[inside]]
            np.testing.assert_allclose(plus.cevns(e, t, CS133, flavour)[inside], expected, rtol=1e-9, atol=0)
            np.testing.assert_array_equal(plus.cevns(e, t, CS133, flavour), minus.cevns(e, t, CS133, flavour))
            es = plus.electron(te_e, te, "Cs", flavour) - sm.electron(te_e, te, "Cs", flavour)
            np.testing.assert_array_equal(
                es, minus.electron(te_e, te, "Cs", flavour) - sm.electron(te_e, te, "Cs", flavour)
            )
            assert np.max(es) > 0
        for flavour in blind:
            np.testing.assert_array_equal(plus.cevns(e, t, CS133, flavour), sm.cevns(e, t, CS133, flavour))
    # ES of an antineutrino with a charge radius: g_V + Q kept, g_A flipped (Kayser's formula written out)
    q = -25.0 * K_CR
    y = te / te_e
    g_v, g_a = -0.5 + 2.0 * SIN2_THETA_W + q, 0.5
    bracket = (g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1 - y) ** 2 - (g_v**2 - g_a**2) * M_ELECTRON * te / te_e**2
    model = charge_radius.FAMILY.model({"r2_mumu": -25.0})
    expected = G_FERMI**2 * M_ELECTRON / (2 * math.pi) * HBARC2_MEV2_CM2 * z_effective("Cs", te) * bracket
    expected = np.where(te <= es_max_recoil(te_e), expected, 0.0)
    np.testing.assert_allclose(model.electron(te_e, te, "Cs", "nu_mu_bar"), expected, rtol=1e-12, atol=0)


def test_charge_radius_total_cross_section() -> None:
    """sigma(E = 30 MeV) on Cs for nu_e with r2_ee = -20, r2_emu = 10, r2_etau = -5 (Cadeddu et al. 2018)."""
    values = {"r2_ee": -20.0, "r2_emu": 10.0, "r2_etau": -5.0}
    model = charge_radius.FAMILY.model(values)
    t_max = float(max_recoil(E_NU, CS133.mass))
    got = _quad(_scalar_cevns(model, CS133, "nu_e"), 0.0, t_max)
    extra_sq = (10.0 * K_CR) ** 2 + (5.0 * K_CR) ** 2
    expected = _quad(lambda t: _sm_cevns_indep(E_NU, t, CS133, dgv_p=20.0 * K_CR, extra_sq=extra_sq), 0.0, t_max)
    assert got == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("nucleus", NUCLEI, ids=lambda n: n.name)
def test_charge_radius_degeneracy_at_zero_recoil(nucleus: Nucleus) -> None:
    """At T -> 0 the rate is a parabola in <r^2> with its zero where the weak charge cancels,
    Q^CR = Q_W / Z, and <r^2> = 0 is degenerate with Q^CR = 2 Q_W / Z (Q_W = g_V^p Z + g_V^n N)."""
    q_w = (0.5 - 2.0 * SIN2_THETA_W) * nucleus.z - 0.5 * nucleus.n
    r2_zero, r2_twin = q_w / nucleus.z / K_CR, 2.0 * q_w / nucleus.z / K_CR
    e, t = np.array([E_NU, E_NU]), np.array([1e-10, 1e-3])
    sm = StandardModel().cevns(e, t, nucleus, "nu_e")
    twin = charge_radius.FAMILY.model({"r2_ee": r2_twin}).cevns(e, t, nucleus, "nu_e")
    assert twin[0] == pytest.approx(sm[0], rel=1e-8)
    assert abs(twin[1] / sm[1] - 1.0) > 1e-5  # F_Z != F_N breaks the degeneracy at finite T
    zero = charge_radius.FAMILY.model({"r2_ee": r2_zero}).cevns(e, t, nucleus, "nu_e")
    assert zero[0] < 1e-8 * sm[0]
    if nucleus is CS133:
        assert r2_twin == pytest.approx(-57.7, abs=0.1)  # the second allowed region of the COHERENT fits


# ------------------------------------------------------------------------------------------ millicharge


def test_millicharge_total_cross_section() -> None:
    """sigma(E = 30 MeV, 5 keV < T < T_max) on I for nu_mu with q_mumu = 2e-8, q_emu = 1e-8, q_mutau = -1e-8:
    g_V^p + 2 sqrt(2) pi alpha q / (G_F 2 M T) and Z^2 F_Z^2 sum Q^2 (Cadeddu et al. 2020)."""
    model = millicharge.FAMILY.model({"q_mumu": 2e-8, "q_emu": 1e-8, "q_mutau": -1e-8})
    t_max = float(max_recoil(E_NU, I127.mass))

    def coupling(q: float, t: float) -> float:
        return 2.0 * math.sqrt(2.0) * math.pi * ALPHA_EM * q / (G_FERMI * 2.0 * I127.mass * t)

    def integrand(t: float) -> float:
        extra = coupling(1e-8, t) ** 2 + coupling(-1e-8, t) ** 2
        return _sm_cevns_indep(E_NU, t, I127, dgv_p=coupling(2e-8, t), extra_sq=extra)

    got = _quad(_scalar_cevns(model, I127, "nu_mu_bar"), 5e-3, t_max)
    expected = _quad(integrand, 5e-3, t_max)
    assert got == pytest.approx(expected, rel=1e-9)
    sm = _quad(_scalar_cevns(StandardModel(), I127, "nu_mu"), 5e-3, t_max)
    assert abs(got / sm - 1.0) > 0.01


@pytest.mark.parametrize("nucleus", [CS133, AR40], ids=lambda n: n.name)
def test_millicharge_is_a_recoil_dependent_charge_radius(nucleus: Nucleus) -> None:
    """<r^2>/6 - q/Q^2: at a fixed recoil T a charge q acts like <r^2> = -6 q / (2 M T) (CEvNS) and
    -6 q / (2 m_e T_e) (ES), diagonal and transition, for every flavour."""
    q = {"q_ee": 2e-8, "q_mumu": -1e-8, "q_emu": 3e-9, "q_etau": -4e-9, "q_mutau": 5e-9}
    model = millicharge.FAMILY.model(q)
    for t in (1e-3, 1e-2):
        r2 = {f"r2_{k[2:]}": -6.0 * v / (2.0 * nucleus.mass * t) * HBARC2_MEV2_CM2 / 1e-32 for k, v in q.items()}
        as_radius = charge_radius.ChargeRadiusModel(**r2)
        e, tt = np.array([20.0, 30.0, 50.0]), np.full(3, t)
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.cevns(e, tt, nucleus, flavour), as_radius.cevns(e, tt, nucleus, flavour), rtol=1e-10, atol=0
            )
    for t_e in (1e-3, 0.1):
        r2 = {f"r2_{k[2:]}": -6.0 * v / (2.0 * M_ELECTRON * t_e) * HBARC2_MEV2_CM2 / 1e-32 for k, v in q.items()}
        as_radius = charge_radius.ChargeRadiusModel(**r2)
        e, te = np.array([20.0, 30.0, 50.0]), np.full(3, t_e)
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.electron(e, te, "Cs", flavour), as_radius.electron(e, te, "Cs", flavour), rtol=1e-10, atol=0
            )


@pytest.mark.parametrize("nucleus", NUCLEI, ids=lambda n: n.name)
def test_millicharge_low_recoil_enhancement(nucleus: Nucleus) -> None:
    """Interference term (odd in q) ~ 1/(2MT), squared terms (even in q) ~ 1/(2MT)^2 at small T."""
    t = np.array([1e-8, 1e-7, 1e-6])
    e = np.full_like(t, E_NU)
    sm = StandardModel().cevns(e, t, nucleus, "nu_e")
    plus = millicharge.FAMILY.model({"q_ee": 1e-13}).cevns(e, t, nucleus, "nu_e")
    minus = millicharge.FAMILY.model({"q_ee": -1e-13}).cevns(e, t, nucleus, "nu_e")
    odd, even = (plus - minus) / sm, (0.5 * (plus + minus) - sm) / sm
    np.testing.assert_allclose(odd * t, odd[0] * t[0], rtol=1e-4)
    np.testing.assert_allclose(even * t**2, even[0] * t[0] ** 2, rtol=1e-4)
    assert np.all(odd < 0)  # Q_W < 0: a positive charge raises g_V^p, shrinking |Q_W| and the rate
    transition = millicharge.FAMILY.model({"q_emu": 1e-12}).cevns(e, t, nucleus, "nu_mu") / sm - 1.0
    np.testing.assert_allclose(transition * t**2, transition[0] * t[0] ** 2, rtol=1e-4)
    # zero recoil: the pole is not evaluated, the result stays finite
    assert np.all(
        np.isfinite(millicharge.FAMILY.model({"q_ee": 1e-8}).cevns(np.array([E_NU]), np.array([0.0]), nucleus, "nu_e"))
    )


def test_millicharge_antineutrino_and_flavours() -> None:
    e, t = _points(CS133)
    model = millicharge.FAMILY.model({"q_mumu": 3e-8, "q_mutau": 1e-8})
    np.testing.assert_allclose(model.cevns(e, t, CS133, "nu_mu_bar"), model.cevns(e, t, CS133, "nu_mu"), rtol=1e-14)
    np.testing.assert_array_equal(model.cevns(e, t, CS133, "nu_e"), StandardModel().cevns(e, t, CS133, "nu_e"))
    te_e, te = _es_points()
    np.testing.assert_array_equal(
        model.electron(te_e, te, "Cs", "nu_e"), StandardModel().electron(te_e, te, "Cs", "nu_e")
    )
    assert millicharge.FAMILY.parameter_names == ("q_ee", "q_mumu", "q_emu", "q_etau", "q_mutau")
    assert all(p.unit == "e" for p in millicharge.FAMILY.parameters)
