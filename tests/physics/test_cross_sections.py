"""Tests of the SM cross sections and of the pi-DAR source (cevns_hf.physics.{cevns,electron,source}).

Every check is a limit case or a closed form derived independently of the implementation:
    * CEvNS: kinematic end point T_max = 2E^2/(M+2E), the coherent limit T -> 0, the N^2 scaling,
      flavour (in)dependence, the total cross section against the analytic integral.
    * ES: Z_eff staircase, couplings, the antineutrino g_A flip, the free-electron total cross section.
    * Source: Michel spectra normalisation and mean energies, arrival-time moments, the fluence.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from scipy import integrate

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics import electron, form_factors
from cevns_hf.physics.cevns import (
    RADIATIVE_GV_N,
    RADIATIVE_GV_P,
    cevns_dxs_dt,
    kinematic_factor,
    max_recoil,
    min_neutrino_energy,
    nuclear_form_factors,
    weak_couplings,
)
from cevns_hf.physics.constants import (
    ALPHA_EM,
    G_FERMI,
    HBARC2_MEV2_CM2,
    M_ELECTRON,
    M_MUON,
    M_PION,
    SIN2_THETA_W,
    TAU_MUON_US,
    TAU_PION_US,
)
from cevns_hf.physics.electron import SHELLS, es_couplings, es_dxs_dte, es_max_recoil, z_effective
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127, Nucleus
from cevns_hf.sources.sns_pidar import (
    E_MAX_DELAYED,
    E_NU_MU_PROMPT,
    FLAVOURS,
    arrival_time_cdf,
    arrival_time_fractions,
    fluence_per_cm2,
    spectrum_pdf,
)

NUCLEI = (CS133, I127, AR40)
ENERGIES = (10.0, 29.79, 52.8)


def _cm2(x: float) -> float:
    """MeV^-2 -> cm^2."""
    return x * HBARC2_MEV2_CM2


def _unit_form_factor(q: npt.ArrayLike, r_rms: float) -> npt.NDArray[np.float64]:
    return np.ones_like(np.asarray(q, dtype=float))


# --------------------------------------------------------------------------------------------- CEvNS


@pytest.mark.parametrize("nucleus", NUCLEI, ids=lambda n: n.name)
@pytest.mark.parametrize("e_nu", ENERGIES)
def test_cevns_kinematic_end_point(nucleus: Nucleus, e_nu: float) -> None:
    t_max = 2.0 * e_nu**2 / (nucleus.mass + 2.0 * e_nu)
    assert float(max_recoil(e_nu, nucleus.mass)) == pytest.approx(t_max, rel=1e-14, abs=0)
    assert float(min_neutrino_energy(t_max, nucleus.mass)) == pytest.approx(e_nu, rel=1e-12, abs=0)
    at_zero = float(cevns_dxs_dt(e_nu, 0.0, nucleus))
    assert at_zero > 0
    # the bracket 1 - T/E - M T / (2 E^2) vanishes at T_max (up to rounding) and is clipped above
    assert 0.0 <= float(cevns_dxs_dt(e_nu, t_max, nucleus)) <= 1e-12 * at_zero
    above = cevns_dxs_dt(e_nu, t_max * np.array([1.0 + 1e-9, 1.01, 2.0, 100.0]), nucleus)
    np.testing.assert_array_equal(above, 0.0)
    below = cevns_dxs_dt(e_nu, t_max * np.array([1e-6, 0.1, 0.5, 0.9, 0.999, 1.0 - 1e-6]), nucleus)
    assert np.all(below > 0)
    assert np.all(np.diff(below) < 0)  # falls monotonically (form factors are below their first zero)
    # no scattering for non-positive neutrino energy
    np.testing.assert_array_equal(kinematic_factor(np.array([0.0, -1.0]), 1e-3, nucleus.mass), 0.0)


@pytest.mark.parametrize("nucleus", NUCLEI, ids=lambda n: n.name)
@pytest.mark.parametrize("s2w", [SIN2_THETA_W, 0.2, 0.25])
def test_cevns_coherent_limit(nucleus: Nucleus, s2w: float) -> None:
    """T -> 0: d sigma/dT = G_F^2 M / pi * Q_V^2, Q_V = (1/2 - 2 s^2) Z - N/2 (F = 1, kinematic factor 1)."""
    q_v = (0.5 - 2.0 * s2w) * nucleus.z - 0.5 * nucleus.n
    expected = _cm2(G_FERMI**2 * nucleus.mass / math.pi * q_v**2)
    for flavour in FLAVOURS:
        value = float(cevns_dxs_dt(30.0, 0.0, nucleus, flavour=flavour, sin2_theta_w=s2w))
        assert value == pytest.approx(expected, rel=1e-12, abs=0)
    # continuous at T -> 0+: F = 1 - O(q^2), kinematic factor 1 - O(T)
    tiny = float(cevns_dxs_dt(30.0, 1e-9, nucleus, sin2_theta_w=s2w))
    assert tiny == pytest.approx(expected, rel=1e-6, abs=0)
    # a worked number: Cs, G_F^2 M / pi = 5.360e-18 MeV^-3, Q_V^2 = 37.74^2 -> 2.973e-36 cm^2 / MeV
    if nucleus is CS133 and s2w == SIN2_THETA_W:
        assert expected == pytest.approx(2.973e-36, rel=1e-3, abs=0)


def test_cevns_scales_as_neutron_number_squared() -> None:
    """d sigma/dT(T=0) / M ~ N^2 / 4 (the proton charge 1/2 - 2 s^2 ~ 0.023 is a few-% correction)."""
    reduced = {}
    for nucleus in NUCLEI:
        per_mass = float(cevns_dxs_dt(30.0, 0.0, nucleus)) / _cm2(G_FERMI**2 * nucleus.mass / math.pi)
        ratio = per_mass / (nucleus.n**2 / 4.0)
        assert 0.9 < ratio < 1.0  # Q_V^2 = (N/2 - g_V^p Z)^2 is a bit below N^2 / 4
        reduced[nucleus.name] = per_mass
    assert reduced["Cs133"] / reduced["Ar40"] == pytest.approx((78 / 22) ** 2, rel=0.02, abs=0)
    assert reduced["I127"] / reduced["Cs133"] == pytest.approx((74 / 78) ** 2, rel=0.01, abs=0)


def test_cevns_tree_level_is_flavour_blind() -> None:
    t = np.linspace(0.0, 0.02, 41)
    for nucleus in NUCLEI:
        ref = cevns_dxs_dt(30.0, t, nucleus, flavour="nu_mu")
        for flavour in ("nu_e", "nu_mu_bar"):
            np.testing.assert_array_equal(cevns_dxs_dt(30.0, t, nucleus, flavour=flavour), ref)
        # radiative corrections: nu_mu and its antineutrino stay identical (g_V -> -g_V, squared)
        rad_mu = cevns_dxs_dt(30.0, t, nucleus, flavour="nu_mu", radiative=True)
        np.testing.assert_array_equal(cevns_dxs_dt(30.0, t, nucleus, flavour="nu_mu_bar", radiative=True), rad_mu)
    assert weak_couplings("nu_e") == weak_couplings("nu_mu") == (0.5 - 2 * SIN2_THETA_W, -0.5)
    with pytest.raises(ConfigurationError):
        weak_couplings("nu_tau")
    with pytest.raises(ConfigurationError):
        weak_couplings("nu_tau", radiative=True)


def test_cevns_radiative_flavour_difference() -> None:
    """g_V^p(nu_e) - g_V^p(nu_mu) = -2 (phi_eW - phi_muW) = (2 alpha / 3 pi) ln(m_mu / m_e) = 0.00826.

    (charge-radius term phi_{l W} = -(alpha / 6 pi)(ln(M_W^2 / m_l^2) + 3/2), physics.md section 1; the
    library's four-digit couplings 0.0401 / 0.0318 reproduce it to their rounding, 1e-4.)
    """
    gp_e, gn_e = weak_couplings("nu_e", radiative=True)
    gp_mu, gn_mu = weak_couplings("nu_mu", radiative=True)
    assert (gp_e, gp_mu) == (RADIATIVE_GV_P["e"], RADIATIVE_GV_P["mu"])
    assert gn_e == gn_mu == RADIATIVE_GV_N
    expected = 2.0 * ALPHA_EM / (3.0 * math.pi) * math.log(105.6583755 / M_ELECTRON)
    assert gp_e - gp_mu == pytest.approx(expected, abs=1e-4)
    # the couplings shift with sin^2(theta_W) as the tree-level ones (times rho ~ 1), keeping the difference
    gp_e2, _ = weak_couplings("nu_e", radiative=True, sin2_theta_w=0.24857)
    gp_mu2, _ = weak_couplings("nu_mu", radiative=True, sin2_theta_w=0.24857)
    assert gp_e2 - gp_e == pytest.approx(-0.02, rel=1e-3, abs=0)
    assert gp_e2 - gp_mu2 == pytest.approx(gp_e - gp_mu, abs=1e-12)
    # in the cross section: at T = 0 the ratio is the ratio of the squared weak charges
    for nucleus in NUCLEI:
        ratio = float(cevns_dxs_dt(30.0, 0.0, nucleus, flavour="nu_e", radiative=True)) / float(
            cevns_dxs_dt(30.0, 0.0, nucleus, flavour="nu_mu", radiative=True)
        )
        q_e = gp_e * nucleus.z + gn_e * nucleus.n
        q_mu = gp_mu * nucleus.z + gn_mu * nucleus.n
        assert ratio == pytest.approx((q_e / q_mu) ** 2, rel=1e-12, abs=0)
        # a larger proton coupling reduces |Q_V| (Q_V < 0): nu_e is ~2 Z dg / |Q_V| ~ 2.4% (Cs) below nu_mu
        assert ratio == pytest.approx(1.0 + 2.0 * (gp_e - gp_mu) * nucleus.z / q_mu, rel=2e-3, abs=0)
        assert ratio < 1.0
    # radiative corrections change the SM rate by a few percent only
    rad = float(cevns_dxs_dt(30.0, 0.0, CS133, flavour="nu_mu", radiative=True))
    tree = float(cevns_dxs_dt(30.0, 0.0, CS133, flavour="nu_mu"))
    assert rad / tree == pytest.approx(1.0, abs=0.06)


def test_cevns_total_cross_section_cs133_30mev(monkeypatch: pytest.MonkeyPatch) -> None:
    """sigma(E) = int_0^T_max dT d sigma/dT for Cs-133 at E = 30 MeV.

    Without form factor the integral is exact: int (1 - T/E - M T / 2E^2) dT = T_max / 2 = E^2 / (M + 2E),
    so sigma = G_F^2 M Q_V^2 E^2 / (pi (M + 2E)) -> G_F^2 E^2 Q_W^2 / (4 pi) with Q_W = -2 Q_V, up to
    2E/M = 5e-4. The Helm form factors reduce it: tolerance band [Q(q_max)^2 / Q(0)^2, 1] times the
    form-factor-free value (q_max = 0.30 fm^-1, F^2 ~ 0.6 there), and within 5% of the Gaussian estimate
    2 int_0^1 du (1 - u) exp(-u q_max^2 R_n^2 / 3) (F^2 ~ exp(-q^2 R^2 / 3), q^2 ~ linear in T).
    """
    e_nu, nucleus = 30.0, CS133
    mass = nucleus.mass
    t_max = float(max_recoil(e_nu, mass))
    q_v = (0.5 - 2.0 * SIN2_THETA_W) * nucleus.z - 0.5 * nucleus.n
    q_w = nucleus.n - (1.0 - 4.0 * SIN2_THETA_W) * nucleus.z
    textbook = _cm2(G_FERMI**2 * e_nu**2 * q_w**2 / (4.0 * math.pi))
    exact_no_ff = _cm2(G_FERMI**2 * mass * q_v**2 * e_nu**2 / (math.pi * (mass + 2.0 * e_nu)))
    assert exact_no_ff == pytest.approx(textbook, rel=2.0 * e_nu / mass, abs=0)
    assert textbook == pytest.approx(2.16e-38, rel=0.01, abs=0)  # ~2e-38 cm^2 at 30 MeV (COHERENT, Science 2017)

    def total(form_factor: str) -> float:
        val, err = integrate.quad(
            lambda t: float(cevns_dxs_dt(e_nu, t, nucleus, form_factor=form_factor)),
            0.0,
            t_max,
            epsabs=0,
            epsrel=1e-10,
        )
        assert err < 1e-8 * val
        return float(val)

    # independent cross-check of the quadrature: 200-point Gauss-Legendre on the same integrand
    x, w = np.polynomial.legendre.leggauss(200)
    t_nodes = 0.5 * t_max * (x + 1.0)
    helm_gl = float(0.5 * t_max * np.sum(w * cevns_dxs_dt(e_nu, t_nodes, nucleus)))
    helm_total = total("helm")
    assert helm_total == pytest.approx(helm_gl, rel=1e-10, abs=0)

    f_z, f_n = nuclear_form_factors(t_max, nucleus)
    suppression_at_end = float(((0.5 - 2 * SIN2_THETA_W) * nucleus.z * f_z - 0.5 * nucleus.n * f_n) ** 2) / q_v**2
    assert suppression_at_end * exact_no_ff < helm_total < exact_no_ff
    q_max_sq = float(form_factors.momentum_transfer(t_max, mass)) ** 2
    a = q_max_sq * nucleus.r_n**2 / 3.0
    gaussian_estimate = 2.0 * (1.0 / a - (1.0 - math.exp(-a)) / a**2)
    assert helm_total / exact_no_ff == pytest.approx(gaussian_estimate, rel=0.05, abs=0)

    # with F = 1 (a test-only registry entry) the quadrature reproduces the closed form
    monkeypatch.setitem(form_factors.FORM_FACTORS, "unit", _unit_form_factor)
    assert total("unit") == pytest.approx(exact_no_ff, rel=1e-10, abs=0)


@pytest.mark.parametrize("name", ["klein_nystrand", "symmetrized_fermi"])
def test_cevns_total_cross_section_form_factor_model_dependence(name: str) -> None:
    """Cs-133 at 30 MeV: all form factors share the rms radii, so the totals agree to a few % (< 3%)."""
    t_max = float(max_recoil(30.0, CS133.mass))

    def total(form_factor: str) -> float:
        val, _ = integrate.quad(
            lambda t: float(cevns_dxs_dt(30.0, t, CS133, form_factor=form_factor)), 0.0, t_max, epsabs=0, epsrel=1e-10
        )
        return float(val)

    assert total(name) == pytest.approx(total("helm"), rel=0.03, abs=0)


# ------------------------------------------------------------------------------------------------ ES


@pytest.mark.parametrize(("element", "z"), [("Cs", 55), ("I", 53), ("Ar", 18)])
def test_z_effective_staircase(element: str, z: int) -> None:
    assert sum(count for _, count in SHELLS[element]) == z
    k_edge_mev = max(b for b, _ in SHELLS[element]) * 1e-3
    t = np.array([1e-9, 0.5 * k_edge_mev, k_edge_mev * (1 - 1e-6), k_edge_mev * (1 + 1e-6), 0.1, 10.0])
    zeff = z_effective(element, t)
    assert zeff[0] == 0.0  # T -> 0: no electron can be ionised
    assert zeff[2] == z - 2  # just below the K shell
    np.testing.assert_array_equal(zeff[3:], z)  # above the K shell: every electron
    fine = z_effective(element, np.linspace(0.0, 2.0 * k_edge_mev, 2001))
    assert np.all(np.diff(fine) >= 0)
    with pytest.raises(ConfigurationError):
        z_effective("Xe", t)


def test_es_couplings() -> None:
    s2 = SIN2_THETA_W
    gv_mu, ga_mu = es_couplings("nu_mu")
    gv_e, ga_e = es_couplings("nu_e")
    assert (gv_mu, ga_mu) == pytest.approx((-0.5 + 2 * s2, -0.5), abs=1e-15)
    # the charged current of nu_e adds 1 to both couplings
    assert (gv_e - gv_mu, ga_e - ga_mu) == pytest.approx((1.0, 1.0), abs=1e-15)
    # antineutrinos: g_A -> -g_A
    assert es_couplings("nu_mu_bar") == (gv_mu, -ga_mu)
    assert es_couplings("nu_e", sin2_theta_w=0.25) == pytest.approx((1.0, 0.5), abs=1e-15)
    with pytest.raises(ConfigurationError):
        es_couplings("nu_tau_bar")


@pytest.mark.parametrize("flavour", FLAVOURS)
def test_es_differential_formula_and_end_point(flavour: str) -> None:
    e_nu, element = 30.0, "Cs"
    t_max = 2.0 * e_nu**2 / (M_ELECTRON + 2.0 * e_nu)
    assert float(es_max_recoil(e_nu)) == pytest.approx(t_max, rel=1e-14, abs=0)
    t = np.array([0.04, 0.1, 1.0, 10.0, 0.999 * t_max])  # above the Cs K shell (36 keV): Z_eff = 55
    g_v, g_a = es_couplings(flavour)
    y = t / e_nu
    bracket = (g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1 - y) ** 2 - (g_v**2 - g_a**2) * M_ELECTRON * t / e_nu**2
    expected = 55 * _cm2(G_FERMI**2 * M_ELECTRON / (2 * math.pi)) * bracket
    np.testing.assert_allclose(es_dxs_dte(e_nu, t, element, flavour=flavour), expected, rtol=1e-13)
    np.testing.assert_array_equal(es_dxs_dte(e_nu, t_max * np.array([1.0 + 1e-9, 2.0]), element, flavour=flavour), 0.0)
    np.testing.assert_array_equal(es_dxs_dte(e_nu, 1e-9, element, flavour=flavour), 0.0)  # Z_eff = 0


def test_es_antineutrino_swaps_helicity_terms() -> None:
    """nu_mu_bar: (g_V + g_A)^2 <-> (g_V - g_A)^2, i.e. d sigma(nu_bar) at T is d sigma(nu) with g_A flipped."""
    e_nu = 30.0
    t = np.linspace(0.05, 25.0, 7)
    g_v, g_a = es_couplings("nu_mu")
    nu = es_dxs_dte(e_nu, t, "Ar", flavour="nu_mu")
    nubar = es_dxs_dte(e_nu, t, "Ar", flavour="nu_mu_bar")
    y = t / e_nu
    pref = 18 * _cm2(G_FERMI**2 * M_ELECTRON / (2 * math.pi))
    np.testing.assert_allclose(
        nubar,
        pref * ((g_v - g_a) ** 2 + (g_v + g_a) ** 2 * (1 - y) ** 2 - (g_v**2 - g_a**2) * M_ELECTRON * t / e_nu**2),
        rtol=1e-13,
    )
    assert not np.allclose(nu, nubar, rtol=1e-3, atol=0.0)


def _free_electron_total(e_nu: float, g_v: float, g_a: float) -> float:
    """Closed-form int_0^T_max of the ES bracket with Z_eff = 1, in cm^2."""
    t_max = 2.0 * e_nu**2 / (M_ELECTRON + 2.0 * e_nu)
    y_max = t_max / e_nu
    bracket_integral = (
        (g_v + g_a) ** 2 * t_max
        + (g_v - g_a) ** 2 * e_nu / 3.0 * (1.0 - (1.0 - y_max) ** 3)
        - (g_v**2 - g_a**2) * M_ELECTRON * t_max**2 / (2.0 * e_nu**2)
    )
    return _cm2(G_FERMI**2 * M_ELECTRON / (2.0 * math.pi)) * bracket_integral


def test_es_free_electron_total_cross_section(monkeypatch: pytest.MonkeyPatch) -> None:
    """sigma(nu_mu e) = G_F^2 m_e E / 2pi [(g_V + g_A)^2 + (g_V - g_A)^2 / 3] for E >> m_e.

    With a test-only one-electron 'element' (Z_eff = 1 for T_e > 0) the quadrature of ``es_dxs_dte``
    reproduces the closed-form integral to 1e-9. The textbook large-E formula neglects O(m_e / E)
    terms (T_max = E (1 - m_e / (2E + m_e))): at 30 MeV they are 0.8%, so there the tolerance is
    m_e / E = 1.7%; at E = 5 GeV (m_e / E = 1e-4) the tolerance is 1e-3.
    """
    monkeypatch.setitem(electron.SHELLS, "free", ((0.0, 1),))
    g_v, g_a = es_couplings("nu_mu")
    for e_nu, tolerance in ((30.0, M_ELECTRON / 30.0), (5000.0, 1e-3)):
        t_max = float(es_max_recoil(e_nu))
        val, _ = integrate.quad(
            lambda t, e=e_nu: float(es_dxs_dte(e, t, "free", flavour="nu_mu")), 0.0, t_max, epsabs=0, epsrel=1e-12
        )
        assert val == pytest.approx(_free_electron_total(e_nu, g_v, g_a), rel=1e-9, abs=0)
        textbook = _cm2(G_FERMI**2 * M_ELECTRON * e_nu / (2 * math.pi) * ((g_v + g_a) ** 2 + (g_v - g_a) ** 2 / 3))
        assert val == pytest.approx(textbook, rel=tolerance, abs=0)
        assert val < textbook  # the m_e / E corrections all reduce it
    # sigma / E ~ 1.5e-42 cm^2 / GeV for nu_mu e (s_W^2 = 0.2386)
    assert textbook / 5.0 == pytest.approx(1.5e-42, rel=0.03, abs=0)


def test_model_wraps_the_cross_sections() -> None:
    model = StandardModel(sin2_theta_w=0.24)
    e = np.array([20.0, 30.0])
    t = np.array([1e-3, 5e-3])
    np.testing.assert_array_equal(
        model.cevns(e, t, CS133, "nu_e"), cevns_dxs_dt(e, t, CS133, flavour="nu_e", sin2_theta_w=0.24)
    )
    np.testing.assert_array_equal(
        model.electron(e, t, "I", "nu_e"), es_dxs_dte(e, t, "I", flavour="nu_e", sin2_theta_w=0.24)
    )
    assert model.flux_factor("nu_e", e, 20.0) == 1.0
    with pytest.raises(ConfigurationError):
        StandardModel(form_factor="gaussian")


# -------------------------------------------------------------------------------------------- source


def test_prompt_energy() -> None:
    assert pytest.approx((M_PION**2 - M_MUON**2) / (2 * M_PION), rel=1e-14, abs=0) == E_NU_MU_PROMPT
    assert pytest.approx(29.79, abs=0.01) == E_NU_MU_PROMPT
    assert pytest.approx(52.83, abs=0.01) == E_MAX_DELAYED


@pytest.mark.parametrize(("flavour", "mean_over_m_mu"), [("nu_e", 3.0 / 10.0), ("nu_mu_bar", 7.0 / 20.0)])
def test_michel_spectra(flavour: str, mean_over_m_mu: float) -> None:
    """Normalised on [0, m_mu/2]; mean energies (x = E/m_mu):
    nu_e: 192 m int_0^1/2 x^3 (1/2 - x) dx = 192 m (1/128 - 1/160) = 3 m / 10 = 31.7 MeV;
    anti-nu_mu: 64 m int_0^1/2 x^3 (3/4 - x) dx = 64 m (3/256 - 1/160) = 7 m / 20 = 37.0 MeV.
    """
    norm, _ = integrate.quad(lambda e: float(spectrum_pdf(flavour, e)), 0.0, M_MUON / 2, epsabs=0, epsrel=1e-13)
    assert norm == pytest.approx(1.0, rel=1e-12, abs=0)
    mean, _ = integrate.quad(lambda e: e * float(spectrum_pdf(flavour, e)), 0.0, M_MUON / 2, epsabs=0, epsrel=1e-13)
    assert mean == pytest.approx(mean_over_m_mu * M_MUON, rel=1e-12, abs=0)
    outside = spectrum_pdf(flavour, np.array([-1.0, E_MAX_DELAYED * (1 + 1e-9), 60.0, 100.0]))
    np.testing.assert_array_equal(outside, 0.0)
    assert float(spectrum_pdf(flavour, 0.0)) == 0.0
    assert np.all(spectrum_pdf(flavour, np.linspace(0.1, E_MAX_DELAYED - 0.1, 50)) > 0)
    # the nu_e spectrum vanishes at the end point, the anti-nu_mu one does not
    end = float(spectrum_pdf(flavour, E_MAX_DELAYED))
    assert end == (pytest.approx(0.0, abs=1e-15) if flavour == "nu_e" else pytest.approx(4.0 / M_MUON))


def test_prompt_flavour_has_no_spectrum_density() -> None:
    with pytest.raises(ConfigurationError, match="line"):
        spectrum_pdf("nu_mu", 30.0)
    with pytest.raises(ConfigurationError):
        spectrum_pdf("nu_e_bar", 30.0)


def _moments(flavour: str, mean_us: float, sigma_us: float) -> tuple[float, float]:
    """Mean and variance of the arrival time from the CDF: E[X] = a + int_a^inf (1 - F), etc."""
    a = mean_us - 12.0 * sigma_us
    b = mean_us + 50.0 * TAU_MUON_US

    def survival(t: float) -> float:
        return 1.0 - float(arrival_time_cdf(flavour, t, pot_mean_us=mean_us, pot_sigma_us=sigma_us))

    pts = [mean_us, mean_us + 1.0, mean_us + 5.0]
    first, _ = integrate.quad(survival, a, b, points=pts, limit=400, epsabs=1e-13, epsrel=1e-11)
    second, _ = integrate.quad(lambda t: 2.0 * (t - a) * survival(t), a, b, points=pts, limit=400, epsabs=1e-13)
    return a + first, second - first**2


@pytest.mark.parametrize(("mean_us", "sigma_us"), [(0.44, 0.15), (0.475, 0.163)])
def test_arrival_time_distributions(mean_us: float, sigma_us: float) -> None:
    t = np.linspace(-2.0, 30.0, 6401)
    for flavour in FLAVOURS:
        cdf = arrival_time_cdf(flavour, t, pot_mean_us=mean_us, pot_sigma_us=sigma_us)
        assert np.all(np.isfinite(cdf))
        assert np.all(np.diff(cdf) >= -1e-15)  # monotone
        assert cdf[0] == pytest.approx(0.0, abs=1e-12)
        late = float(arrival_time_cdf(flavour, 60.0, pot_mean_us=mean_us, pot_sigma_us=sigma_us))
        assert late == pytest.approx(1.0, abs=1e-10)
        # the density from numerical differentiation is non-negative and integrates to the CDF
        pdf = np.gradient(cdf, t)
        assert np.all(pdf >= -1e-9)
        fractions = arrival_time_fractions(flavour, t[::100], pot_mean_us=mean_us, pot_sigma_us=sigma_us)
        np.testing.assert_allclose(fractions, np.diff(cdf[::100]), rtol=0, atol=1e-15)
    # moments: POT Gaussian + exponential decays -> means and variances add
    m_prompt, v_prompt = _moments("nu_mu", mean_us, sigma_us)
    assert m_prompt == pytest.approx(mean_us + TAU_PION_US, abs=1e-7)
    assert v_prompt == pytest.approx(sigma_us**2 + TAU_PION_US**2, rel=1e-6, abs=0)
    for flavour in ("nu_e", "nu_mu_bar"):
        m_del, v_del = _moments(flavour, mean_us, sigma_us)
        assert m_del == pytest.approx(mean_us + TAU_PION_US + TAU_MUON_US, abs=1e-6)
        assert v_del == pytest.approx(sigma_us**2 + TAU_PION_US**2 + TAU_MUON_US**2, rel=1e-6, abs=0)
    np.testing.assert_array_equal(
        arrival_time_cdf("nu_e", t, pot_mean_us=mean_us, pot_sigma_us=sigma_us),
        arrival_time_cdf("nu_mu_bar", t, pot_mean_us=mean_us, pot_sigma_us=sigma_us),
    )
    with pytest.raises(ConfigurationError):
        arrival_time_cdf("nu_e", t, pot_mean_us=mean_us, pot_sigma_us=0.0)


def test_prompt_fraction_in_first_microsecond() -> None:
    """Most prompt nu_mu arrive within 1 us; most delayed neutrinos after the POT trace."""
    kw = {"pot_mean_us": 0.44, "pot_sigma_us": 0.15}
    assert float(arrival_time_cdf("nu_mu", 1.0, **kw)) > 0.99
    assert float(arrival_time_cdf("nu_e", 1.0, **kw)) < 0.3


def test_fluence() -> None:
    value = fluence_per_cm2(pot=3.198e23, nu_per_pot=0.0848, baseline_m=19.3)
    assert value == pytest.approx(0.0848 * 3.198e23 / (4.0 * math.pi * 1930.0**2), rel=1e-14, abs=0)
    assert value == pytest.approx(5.79e14, rel=1e-3, abs=0)
    # linear in POT and neutrinos per POT, inverse square in the baseline
    assert fluence_per_cm2(pot=2 * 3.198e23, nu_per_pot=0.0848, baseline_m=2 * 19.3) == pytest.approx(value / 2.0)
    for bad in ({"pot": 0.0}, {"nu_per_pot": -1.0}, {"baseline_m": 0.0}):
        kwargs = {"pot": 1e23, "nu_per_pot": 0.08, "baseline_m": 20.0, **bad}
        with pytest.raises(ConfigurationError):
            fluence_per_cm2(**kwargs)
