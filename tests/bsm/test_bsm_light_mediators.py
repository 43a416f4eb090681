"""Tests of the light vector and light scalar mediator families (cevns_hf.bsm.light_vector / light_scalar).

Checks:
    * SM limit: zero coupling gives the SM cross sections and CsI 2021 templates exactly (any mass).
    * Antineutrino and flavour rules.
    * Numbers against independent computations written here: the cross sections from the papers'
      formulas (own Helm form factor), the total cross sections at E = 30 MeV with scipy quad, closed
      forms for the scalar with F = 1 and for a free electron.
    * Known behaviour: the mass dependence between the contact limit (1/m^2 interference, 1/m^4 quadratic
      terms of the vector; 1/m^4 for the scalar) and the light limit (independent of m); the vector's
      destructive-interference minimum and the degenerate solution where the rate returns to the SM.
    * The (H, 1) grid path equals a loop over scalar hypotheses; invalid parameters raise.

Needs the COHERENT releases (``$CEVNS_HF_DATA``) for the template tests.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from scipy import integrate, optimize

from cevns_hf.bsm import light_scalar, light_vector
from cevns_hf.bsm.family import Family, HypothesisError
from cevns_hf.detectors import csi2021
from cevns_hf.physics import electron, form_factors
from cevns_hf.physics.cevns import max_recoil, weak_couplings
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2, HBARC_MEV_FM, M_ELECTRON, SIN2_THETA_W
from cevns_hf.physics.electron import es_max_recoil
from cevns_hf.physics.model import PhysicsModel, StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127, Nucleus
from cevns_hf.sources.sns_pidar import FLAVOURS

FAMILIES = (light_vector.FAMILY, light_scalar.FAMILY)
NUCLEI = (CS133, I127, AR40)
ELEMENTS = ("Cs", "I", "Ar")
SQRT2_GF = math.sqrt(2.0) * G_FERMI
#: nuclear recoil and electron recoil test points [MeV] (0 .. beyond T_max at 30 MeV for Cs)
T_NR = np.array([0.0, 1e-4, 1e-3, 5e-3, 1.2e-2, 2e-2])
T_ES = np.array([0.0, 1e-3, 5e-3, 0.04, 2.0, 29.0, 31.0])
E_NU = 30.0


def _helm(q_fm: npt.ArrayLike, r_rms: float, skin: float = 0.9) -> npt.NDArray[np.float64]:
    """Independent Helm form factor (Lewin & Smith 1996): 3 j1(q R0)/(q R0) exp(-q^2 s^2/2)."""
    q = np.asarray(q_fm, dtype=float)
    x = q * math.sqrt(5.0 / 3.0 * (r_rms**2 - 3.0 * skin**2))
    with np.errstate(divide="ignore", invalid="ignore"):
        j1_term = np.where(x > 1e-3, 3.0 * (np.sin(x) - x * np.cos(x)) / x**3, 1.0 - x**2 / 10.0)
    return np.asarray(j1_term * np.exp(-0.5 * (q * skin) ** 2), dtype=float)


def _form_factors(t: npt.ArrayLike, nucleus: Nucleus) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    t = np.asarray(t, dtype=float)
    q = np.sqrt(2.0 * nucleus.mass * t + t**2) / HBARC_MEV_FM
    return _helm(q, nucleus.r_p), _helm(q, nucleus.r_n)


def _unit_form_factor(q: npt.ArrayLike, r_rms: float) -> npt.NDArray[np.float64]:
    return np.ones_like(np.asarray(q, dtype=float))


def _paper_vector(e: float, t: npt.ArrayLike, nucleus: Nucleus, *, m: float, g_nu: float, g_q: float) -> Any:
    """Cadeddu et al. (2021): g_V^{p,n} + 3 g_nu g_q / (sqrt2 G_F (q^2 + m^2)), written out here [cm^2/MeV]."""
    t = np.asarray(t, dtype=float)
    f_z, f_n = _form_factors(t, nucleus)
    shift = 3.0 * g_nu * g_q / (SQRT2_GF * (2.0 * nucleus.mass * t + m**2))
    charge = (0.5 - 2.0 * SIN2_THETA_W + shift) * nucleus.z * f_z + (-0.5 + shift) * nucleus.n * f_n
    kin = np.clip(1.0 - t / e - nucleus.mass * t / (2.0 * e**2), 0.0, None)
    return G_FERMI**2 * nucleus.mass / math.pi * kin * charge**2 * HBARC2_MEV2_CM2


def _paper_scalar(e: float, t: npt.ArrayLike, nucleus: Nucleus, *, m: float, g_nu: float, g_q: float) -> Any:
    """Cerdeño et al. (2016): M^2 T Q_s^2 / (4 pi E^2 (2MT + m^2)^2), Q_s = (14 A + 1.1 Z) g g [cm^2/MeV]."""
    t = np.asarray(t, dtype=float)
    f_z, f_n = _form_factors(t, nucleus)
    # (14 A + 1.1 Z) with each nucleon's form factor: 14 (Z F_Z + N F_N) + 1.1 Z F_Z
    charge = g_nu * g_q * (14.0 * (nucleus.z * f_z + nucleus.n * f_n) + 1.1 * nucleus.z * f_z)
    dxs = nucleus.mass**2 * t * charge**2 / (4.0 * math.pi * e**2 * (2.0 * nucleus.mass * t + m**2) ** 2)
    return np.where(t <= 2.0 * e**2 / (nucleus.mass + 2.0 * e), dxs, 0.0) * HBARC2_MEV2_CM2


@pytest.fixture(scope="module")
def csi_sm() -> tuple[float, float]:
    tp = csi2021.templates()
    return tp.sample("cevns").total, tp.sample("es").total


def _cevns_total(model: PhysicsModel) -> float:
    return csi2021.templates(model).sample("cevns").total


# ----------------------------------------------------------------------------------------- contract


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_parameter_contract(family: Family) -> None:
    assert family.parameter_names == ("mass_mev", "g_nu", "g_q", "g_e")
    assert family.parameter("mass_mev").unit == "MeV"
    assert all(family.parameter(p).sm == 0.0 for p in ("g_nu", "g_q", "g_e"))
    assert family.parameter("mass_mev").sm > 0
    assert family.references
    assert "Cerdeño et al., JHEP 05 (2016) 118" in family.references


def test_module_exports() -> None:
    for module in (light_vector, light_scalar):
        assert sorted(dir(module)) == sorted(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize(
    "values",
    [
        {"mass_mev": 0.0},
        {"mass_mev": -1.0},
        {"mass_mev": 2e5},
        {"mass_mev": math.nan},
        {"g_nu": 4.0},
        {"g_q": -4.0},
        {"g_e": math.inf},
        {"g_x": 0.1},
        {"mass_mev": np.array([[1.0], [-1.0]])},
    ],
)
def test_invalid_parameters_raise(family: Family, values: dict[str, Any]) -> None:
    with pytest.raises(HypothesisError, match=r"mass_mev|g_nu|g_q|g_e|g_x"):
        family.model(values)


# ----------------------------------------------------------------------------------------- SM limit


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
@pytest.mark.parametrize(
    "values",
    [
        {},
        {"mass_mev": 1e-3},
        {"mass_mev": 1e5},
        {"mass_mev": 5.0, "g_nu": 0.3},  # no coupling to matter
        {"mass_mev": 5.0, "g_q": 0.3, "g_e": 0.3},  # no coupling to neutrinos
    ],
)
def test_sm_limit_cross_sections(family: Family, values: dict[str, float]) -> None:
    model, sm = family.model(values), StandardModel()
    e = np.array([5.0, 29.79, 52.8])[:, None]
    for flavour in FLAVOURS:
        for nucleus in NUCLEI:
            np.testing.assert_allclose(
                model.cevns(e, T_NR, nucleus, flavour), sm.cevns(e, T_NR, nucleus, flavour), rtol=1e-12, atol=0
            )
        for element in ELEMENTS:
            np.testing.assert_allclose(
                model.electron(e, T_ES, element, flavour), sm.electron(e, T_ES, element, flavour), rtol=1e-12, atol=0
            )


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_sm_limit_templates(family: Family, csi_sm: tuple[float, float]) -> None:
    tp = csi2021.templates(family.model({"mass_mev": 37.0}))
    assert tp.sample("cevns").total == pytest.approx(csi_sm[0], rel=1e-12, abs=0)
    assert tp.sample("es").total == pytest.approx(csi_sm[1], rel=1e-12, abs=0)
    assert csi_sm[0] == pytest.approx(324.15, abs=0.01)


# -------------------------------------------------------------------------- antineutrinos and flavours


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_cevns_antineutrino_and_flavour_universality(family: Family) -> None:
    """The couplings are flavour universal, and g_nu flips with the SM charges for antineutrinos."""
    model = family.model({"mass_mev": 20.0, "g_nu": 3e-5, "g_q": 2e-5, "g_e": 1e-5})
    for nucleus in NUCLEI:
        mu = model.cevns(E_NU, T_NR, nucleus, "nu_mu")
        np.testing.assert_array_equal(model.cevns(E_NU, T_NR, nucleus, "nu_mu_bar"), mu)
        np.testing.assert_array_equal(model.cevns(E_NU, T_NR, nucleus, "nu_e"), mu)
        assert not np.allclose(mu[1:4], StandardModel().cevns(E_NU, T_NR[1:4], nucleus, "nu_mu"), rtol=1e-3, atol=0)


def test_vector_radiative_charges_are_flavour_dependent() -> None:
    """With the SM radiative option, g_V^p(nu_l) differs by flavour and the Z' shift adds to each."""
    sm = StandardModel(radiative=True)
    model = light_vector.LightVectorModel(20.0, 3e-5, 2e-5, sm=sm)
    for flavour in FLAVOURS:
        gv_p, gv_n = weak_couplings(flavour, radiative=True)
        shift = 3.0 * 3e-5 * 2e-5 / (SQRT2_GF * (2.0 * CS133.mass * T_NR + 400.0))
        ratio = model.cevns(E_NU, T_NR[:1], CS133, flavour) / sm.cevns(E_NU, T_NR[:1], CS133, flavour)
        q_sm = gv_p * CS133.z + gv_n * CS133.n
        assert float(ratio[0]) == pytest.approx((1.0 + shift[0] * CS133.a / q_sm) ** 2, rel=1e-12)


def _es_formula(e: float, t: npt.ArrayLike, g_v: Any, g_a: float, z_eff: Any) -> Any:
    t = np.asarray(t, dtype=float)
    y = t / e
    bracket = (g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1 - y) ** 2 - (g_v**2 - g_a**2) * M_ELECTRON * t / e**2
    pref = G_FERMI**2 * M_ELECTRON / (2.0 * math.pi) * HBARC2_MEV2_CM2
    return np.where(t <= 2 * e**2 / (M_ELECTRON + 2 * e), pref * z_eff * bracket, 0.0)


@pytest.mark.parametrize(
    ("flavour", "g_v", "g_a"),
    [
        ("nu_e", 0.5 + 2 * SIN2_THETA_W, 0.5),
        ("nu_mu", -0.5 + 2 * SIN2_THETA_W, -0.5),
        ("nu_mu_bar", -0.5 + 2 * SIN2_THETA_W, 0.5),
    ],
)
def test_vector_electron_scattering(flavour: str, g_v: float, g_a: float) -> None:
    """ES: g_V -> g_V + g_nu g_e / (sqrt2 G_F (2 m_e T_e + m^2)) for every flavour; antineutrinos flip g_A."""
    m, g_nu, g_e = 3.0, 2e-5, -1.5e-5
    model = light_vector.FAMILY.model({"mass_mev": m, "g_nu": g_nu, "g_q": 0.7, "g_e": g_e})
    z_eff = electron.z_effective("Cs", T_ES)
    shift = g_nu * g_e / (SQRT2_GF * (2.0 * M_ELECTRON * T_ES + m**2))
    np.testing.assert_allclose(
        model.electron(E_NU, T_ES, "Cs", flavour), _es_formula(E_NU, T_ES, g_v + shift, g_a, z_eff), rtol=1e-12, atol=0
    )
    # g_e changes ES only: the CEvNS with and without g_e are identical
    no_e = light_vector.FAMILY.model({"mass_mev": m, "g_nu": g_nu, "g_q": 0.7})
    np.testing.assert_array_equal(model.cevns(E_NU, T_NR, CS133, flavour), no_e.cevns(E_NU, T_NR, CS133, flavour))


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_scalar_electron_scattering(flavour: str) -> None:
    """ES adds Z_eff g_nu^2 g_e^2 m_e^2 T_e / (4 pi E^2 (2 m_e T_e + m^2)^2), the same for every flavour."""
    m, g_nu, g_e = 0.3, 3e-5, 4e-5
    model = light_scalar.FAMILY.model({"mass_mev": m, "g_nu": g_nu, "g_e": g_e})
    z_eff = electron.z_effective("I", T_ES)
    extra = g_nu**2 * g_e**2 * M_ELECTRON**2 * T_ES / (4 * math.pi * E_NU**2 * (2 * M_ELECTRON * T_ES + m**2) ** 2)
    extra = np.where(es_max_recoil(E_NU) >= T_ES, extra * z_eff * HBARC2_MEV2_CM2, 0.0)
    sm = StandardModel().electron(E_NU, T_ES, "I", flavour)
    np.testing.assert_allclose(model.electron(E_NU, T_ES, "I", flavour), sm + extra, rtol=1e-12, atol=0)
    assert extra[3] > sm[3]  # at T_e = 40 keV this scalar exceeds the SM ES


# ------------------------------------------------------------------------ independent cross sections


@pytest.mark.parametrize("nucleus", NUCLEI, ids=lambda n: n.name)
@pytest.mark.parametrize(("m", "g_nu", "g_q"), [(1.0, 1e-6, 2e-6), (30.0, -4e-5, 3e-5), (3e3, 1e-3, 2e-3)])
def test_differential_cross_sections_against_papers(nucleus: Nucleus, m: float, g_nu: float, g_q: float) -> None:
    t = np.linspace(0.0, 1.1 * float(max_recoil(E_NU, nucleus.mass)), 41)
    vec = light_vector.FAMILY.model({"mass_mev": m, "g_nu": g_nu, "g_q": g_q})
    np.testing.assert_allclose(
        vec.cevns(E_NU, t, nucleus, "nu_mu"),
        _paper_vector(E_NU, t, nucleus, m=m, g_nu=g_nu, g_q=g_q),
        rtol=1e-10,
        atol=0,
    )
    sca = light_scalar.FAMILY.model({"mass_mev": m, "g_nu": g_nu, "g_q": g_q})
    expected = StandardModel().cevns(E_NU, t, nucleus, "nu_mu") + _paper_scalar(
        E_NU, t, nucleus, m=m, g_nu=g_nu, g_q=g_q
    )
    np.testing.assert_allclose(sca.cevns(E_NU, t, nucleus, "nu_mu"), expected, rtol=1e-10, atol=0)


def test_vector_physics_md_factorised_form(monkeypatch: pytest.MonkeyPatch) -> None:
    """With F = 1: d sigma = [1 + C_V / (sqrt2 G_F Q_V^SM (2MT + m^2))]^2 d sigma_SM, C_V = 3 A g_nu g_q."""
    monkeypatch.setitem(form_factors.FORM_FACTORS, "unit", _unit_form_factor)
    sm = StandardModel(form_factor="unit")
    m, g_nu, g_q = 12.0, 2e-5, 1e-5
    model = light_vector.LightVectorModel(m, g_nu, g_q, sm=sm)
    for nucleus in NUCLEI:
        q_sm = (0.5 - 2 * SIN2_THETA_W) * nucleus.z - 0.5 * nucleus.n
        factor = (1 + 3 * nucleus.a * g_nu * g_q / (SQRT2_GF * q_sm * (2 * nucleus.mass * T_NR + m**2))) ** 2
        np.testing.assert_allclose(
            model.cevns(E_NU, T_NR, nucleus, "nu_e"), factor * sm.cevns(E_NU, T_NR, nucleus, "nu_e"), rtol=1e-12
        )


def test_total_cross_sections_at_30_mev() -> None:
    """sigma(E = 30 MeV) on Cs-133 by scipy quad: the model against the papers' formulas written out here."""
    t_max = float(max_recoil(E_NU, CS133.mass))
    m, g = 20.0, 1e-5

    def quad(f: Any) -> float:
        val, err = integrate.quad(lambda t: float(f(t)), 0.0, t_max, epsabs=0, epsrel=1e-11, limit=200)
        assert err < 1e-9 * abs(val)
        return float(val)

    vec = light_vector.FAMILY.model({"mass_mev": m, "g_nu": g, "g_q": g})
    sca = light_scalar.FAMILY.model({"mass_mev": m, "g_nu": g, "g_q": g})
    sm_total = quad(lambda t: StandardModel().cevns(E_NU, t, CS133, "nu_mu"))
    vec_total = quad(lambda t: vec.cevns(E_NU, t, CS133, "nu_mu"))
    sca_extra = quad(lambda t: sca.cevns(E_NU, t, CS133, "nu_mu")) - sm_total
    assert vec_total == pytest.approx(quad(lambda t: _paper_vector(E_NU, t, CS133, m=m, g_nu=g, g_q=g)), rel=1e-9)
    assert sca_extra == pytest.approx(quad(lambda t: _paper_scalar(E_NU, t, CS133, m=m, g_nu=g, g_q=g)), rel=1e-8)
    # sizes: the Z' reduces the cross section by less than its T = 0 factor (1 + 3 A g^2/(sqrt2 G_F Q_V m^2))^2
    # = 0.70 (the propagator and form factors shrink it at larger T): by 12%; the scalar adds 2%
    q_sm = (0.5 - 2 * SIN2_THETA_W) * CS133.z - 0.5 * CS133.n
    at_zero = (1.0 + 3.0 * CS133.a * g * g / (SQRT2_GF * q_sm * m**2)) ** 2
    assert at_zero == pytest.approx(0.70, abs=0.01)
    assert at_zero < vec_total / sm_total < 1.0
    assert vec_total / sm_total == pytest.approx(0.883, abs=0.002)
    assert sca_extra / sm_total == pytest.approx(0.0196, abs=0.0005)


def test_scalar_closed_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """F = 1 / a free electron: int_0^T_max M^2 T C^2/(4 pi E^2 (2MT+m^2)^2) dT = C^2/(16 pi E^2) [ln(1+x) - x/(1+x)],
    x = 2 M T_max / m^2."""
    monkeypatch.setitem(form_factors.FORM_FACTORS, "unit", _unit_form_factor)
    monkeypatch.setitem(electron.SHELLS, "free", ((0.0, 1),))
    m, g_nu, g_q, g_e = 15.0, 3e-5, 2e-5, 4e-6

    def closed(charge: float, target_mass: float, t_max: float) -> float:
        x = 2.0 * target_mass * t_max / m**2
        return charge**2 / (16 * math.pi * E_NU**2) * (math.log1p(x) - x / (1 + x)) * HBARC2_MEV2_CM2

    model = light_scalar.LightScalarModel(m, g_nu, g_q, g_e, sm=StandardModel(form_factor="unit"))
    for nucleus in NUCLEI:
        t_max = float(max_recoil(E_NU, nucleus.mass))
        val, _ = integrate.quad(
            lambda t, n=nucleus: float(model.scalar_cevns(E_NU, t, n)), 0.0, t_max, epsabs=0, epsrel=1e-12
        )
        charge = g_nu * g_q * (14.0 * nucleus.a + 1.1 * nucleus.z)
        assert val == pytest.approx(closed(charge, nucleus.mass, t_max), rel=1e-10)
        assert float(model.scalar_cevns(E_NU, 1.0001 * t_max, nucleus)) == 0.0
    t_max = float(es_max_recoil(E_NU))
    val, _ = integrate.quad(
        lambda t: float(model.scalar_electron(E_NU, t, "free")), 0.0, t_max, epsabs=0, epsrel=1e-12, points=[1e-4]
    )
    assert val == pytest.approx(closed(g_nu * g_e, M_ELECTRON, t_max), rel=1e-10)


# ----------------------------------------------------------------------------------- known behaviour


def test_contact_limit_mass_scaling(csi_sm: tuple[float, float]) -> None:
    """m >> q: the vector interference term ~ 1/m^2 (ratio 4 from m = 1e4 to 2e4 MeV), its quadratic term
    and the scalar ~ 1/m^4 (ratio 16). The vector's odd part in g_nu is the interference term alone."""
    sm = csi_sm[0]

    def vec(m: float, g_nu: float) -> float:
        return _cevns_total(light_vector.FAMILY.model({"mass_mev": m, "g_nu": g_nu, "g_q": 3e-3})) - sm

    odd = {m: 0.5 * (vec(m, 3e-3) - vec(m, -3e-3)) for m in (1e4, 2e4)}
    even = {m: 0.5 * (vec(m, 3e-3) + vec(m, -3e-3)) for m in (1e4, 2e4)}
    assert odd[1e4] < 0  # destructive for g_nu g_q > 0
    assert odd[1e4] / odd[2e4] == pytest.approx(4.0, rel=1e-4)
    assert even[1e4] / even[2e4] == pytest.approx(16.0, rel=2e-4)
    # in the interference-dominated regime (small coupling) the whole change scales by 4
    small = {
        m: _cevns_total(light_vector.FAMILY.model({"mass_mev": m, "g_nu": 1e-4, "g_q": 1e-4})) - sm for m in (1e4, 2e4)
    }
    assert small[1e4] / small[2e4] == pytest.approx(4.0, rel=1e-3)

    sca = {
        m: _cevns_total(light_scalar.FAMILY.model({"mass_mev": m, "g_nu": 1e-2, "g_q": 1e-2})) - sm for m in (1e4, 2e4)
    }
    assert sca[1e4] > 0
    assert sca[1e4] / sca[2e4] == pytest.approx(16.0, rel=2e-4)


def test_light_limit_mass_independence(csi_sm: tuple[float, float]) -> None:
    """m << q: the BSM correction no longer depends on m (cross sections at q ~ 50 MeV; CsI totals)."""
    t = np.array([2e-3, 5e-3, 1e-2])  # q = sqrt(2 M T) = 22 .. 50 MeV for Cs (T_max = 14.5 keV)
    for family in FAMILIES:
        sm = StandardModel().cevns(E_NU, t, CS133, "nu_mu")

        def change(m: float, fam: Family = family, sm: Any = sm) -> Any:
            return fam.model({"mass_mev": m, "g_nu": 1e-5, "g_q": 1e-5}).cevns(E_NU, t, CS133, "nu_mu") - sm

        light = change(1e-3)
        assert np.all(np.abs(light) > 1e-3 * sm)
        np.testing.assert_allclose(change(1e-2), light, rtol=1e-6)
        assert not np.allclose(change(30.0), light, rtol=0.1, atol=0)
        totals = {
            m: _cevns_total(family.model({"mass_mev": m, "g_nu": 1e-6, "g_q": 1e-6})) - csi_sm[0] for m in (1e-3, 1e-2)
        }
        assert abs(totals[1e-3]) > 1e-4
        assert totals[1e-2] == pytest.approx(totals[1e-3], rel=1e-5)


def test_vector_interference_minimum_and_degenerate_solution(csi_sm: tuple[float, float]) -> None:
    """Contact regime, m = 1e4 MeV, g_nu = g_q = g. At T = 0 exactly (F = 1, q = 0) the rate vanishes at
    3 A g^2 / (sqrt2 G_F m^2) = -Q_V^SM and returns to the SM at twice that g^2 (the Z' cancels twice the SM
    charge). CsI: Cs and I have slightly different solutions and F_Z != F_N, so the templates show the same
    structure only approximately (a deep minimum and an SM-degenerate solution within 3% in g^2)."""
    m = 1e4
    gv_p, gv_n = weak_couplings("nu_mu")
    sm = StandardModel()

    def at_zero(nucleus: Nucleus, g_sq: float) -> float:
        g = math.sqrt(g_sq)
        return float(light_vector.FAMILY.model({"mass_mev": m, "g_nu": g, "g_q": g}).cevns(E_NU, 0.0, nucleus, "nu_mu"))

    degenerate = {}
    for nucleus in NUCLEI:
        q_sm = gv_p * nucleus.z + gv_n * nucleus.n
        assert q_sm < 0
        g_sq_min = -q_sm * SQRT2_GF * m**2 / (3.0 * nucleus.a)
        sm0 = float(sm.cevns(E_NU, 0.0, nucleus, "nu_mu"))
        assert at_zero(nucleus, g_sq_min) < 1e-20 * sm0
        root = optimize.brentq(
            lambda x, n=nucleus, s=sm0: at_zero(n, x) / s - 1.0, 1.5 * g_sq_min, 3.0 * g_sq_min, xtol=1e-16, rtol=1e-13
        )
        assert root == pytest.approx(2.0 * g_sq_min, rel=1e-9)
        assert at_zero(nucleus, root) == pytest.approx(sm0, rel=1e-6)
        degenerate[nucleus.name] = root

    def total(g_sq: float) -> float:
        g = math.sqrt(g_sq)
        return _cevns_total(light_vector.FAMILY.model({"mass_mev": m, "g_nu": g, "g_q": g})) / csi_sm[0]

    g_sq_csi = 0.5 * (degenerate["Cs133"] + degenerate["I127"])
    assert total(0.5 * g_sq_csi) < 1e-3
    assert total(0.25 * g_sq_csi) < 1.0
    root = optimize.brentq(lambda x: total(x) - 1.0, 0.8 * g_sq_csi, 1.2 * g_sq_csi, rtol=1e-8)
    assert root == pytest.approx(g_sq_csi, rel=0.03)


# ------------------------------------------------------------------------------------------- grids


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.name)
def test_grid_equals_loop(family: Family) -> None:
    masses = np.array([0.5, 10.0, 10.0, 300.0, 1e4])
    g_nu = np.array([2e-5, 0.0, -3e-5, 1e-4, 5e-3])
    g_q = np.array([1e-5, 1e-4, 2e-5, -1e-4, 5e-3])
    g_e = np.array([3e-6, 1e-5, 0.0, 2e-5, 1e-2])
    grid = family.model({"mass_mev": masses[:, None], "g_nu": g_nu[:, None], "g_q": g_q[:, None], "g_e": g_e[:, None]})
    engine = csi2021.setup(csi2021.CsI2021Config()).engine
    for process in ("cevns", "es"):
        spectra = engine.spectra(grid, process)
        assert spectra.shape[0] == masses.size
        for h in range(masses.size):
            single = family.model(
                {"mass_mev": float(masses[h]), "g_nu": float(g_nu[h]), "g_q": float(g_q[h]), "g_e": float(g_e[h])}
            )
            np.testing.assert_allclose(spectra[h], engine.spectra(single, process), rtol=1e-12, atol=0)
    # direct cross-section calls keep the (H, n_points) shape, scalars (n_points,)
    assert grid.cevns(E_NU, T_NR, CS133, "nu_e").shape == (masses.size, T_NR.size)
    assert grid.electron(E_NU, T_ES, "Cs", "nu_mu_bar").shape == (masses.size, T_ES.size)
    assert family.model({"g_nu": 1e-5, "g_q": 1e-5}).cevns(E_NU, T_NR, CS133, "nu_e").shape == T_NR.shape


# -------------------------------------------------------------------------------------- linear POIs


def test_scalar_linear_pois(csi_sm: tuple[float, float]) -> None:
    """The scalar change is exactly linear in g_nu^2 (CEvNS and ES), in g_q^2 (CEvNS) and g_e^2 (ES)."""
    fam = light_scalar.FAMILY
    assert {p.name for p in fam.linear_pois} == {"g_nu_sq", "g_q_sq", "g_e_sq"}
    base = {"mass_mev": 8.0, "g_nu": 2e-5, "g_q": 1e-5, "g_e": 3e-4}

    def change(**values: float) -> tuple[float, float]:
        tp = csi2021.templates(fam.model({**base, **values}))
        return tp.sample("cevns").total - csi_sm[0], tp.sample("es").total - csi_sm[1]

    for poi in fam.linear_pois:
        assert set(poi.fixed) == set(fam.parameter_names) - {poi.parameter}
        value = base[poi.parameter]
        assert poi.from_poi(poi.to_poi(value)) == pytest.approx(value, rel=1e-15)
        x1, x2 = poi.to_poi(value), 2.5 * poi.to_poi(value)
        d0 = change(**{poi.parameter: 0.0})
        d1 = change(**{poi.parameter: poi.from_poi(x1)})
        d2 = change(**{poi.parameter: poi.from_poi(x2)})
        for k in range(2):  # CEvNS, ES: affine in X, proportional when the other addition is zero
            assert d2[k] - d0[k] == pytest.approx(2.5 * (d1[k] - d0[k]), rel=1e-9, abs=1e-12 * abs(d1[k]))
    assert change(g_nu=0.0) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert min(change()) > 0
