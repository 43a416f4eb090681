"""Tests of the ``sterile`` (3+1 oscillations) and ``dipole_portal`` (transition magnetic moment) families.

The families are imported directly (the registry in ``cevns_hf.bsm`` is maintained by the lead).
Independent computations written out here: the 3+1 survival probability averaged by ``scipy.integrate.quad``
over the baseline; the dipole-portal cross section (Brdar et al., JCAP 01 (2021) 039) integrated with quad
and its kinematic end points from centre-of-mass two-body kinematics.

Needs the COHERENT releases (``$CEVNS_HF_DATA``) for the CsI 2021 templates.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from scipy import integrate

from cevns_hf.bsm import dipole_portal, sterile
from cevns_hf.bsm.dipole_portal import DipolePortalModel, dipole_dxs_dt, recoil_range
from cevns_hf.bsm.family import Family, HypothesisError
from cevns_hf.bsm.sterile import SterileModel
from cevns_hf.detectors import csi2021
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.cevns import max_recoil, nuclear_form_factors
from cevns_hf.physics.constants import ALPHA_EM, HBARC2_MEV2_CM2, M_ELECTRON, MU_B_MEV_INV
from cevns_hf.physics.form_factors import helm, momentum_transfer
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127
from cevns_hf.sources.sns_pidar import E_NU_MU_PROMPT, FLAVOURS

SM_CEVNS_TOTAL = 324.15
E_POINTS = np.array([10.0, 20.0, E_NU_MU_PROMPT, 40.0, 52.0])
L_CSI = 19.3


def _points(nucleus: Any = CS133) -> tuple[np.ndarray, np.ndarray]:
    """(E, T) points spread over the elastic kinematic range (a few beyond it)."""
    e = np.repeat(E_POINTS, 9)
    frac = np.tile(np.linspace(0.01, 1.1, 9), len(E_POINTS))
    return e, frac * max_recoil(e, nucleus.mass)


# --------------------------------------------------------------------------- both families
@pytest.mark.parametrize(
    ("family", "values"),
    [
        (sterile.FAMILY, {}),
        (sterile.FAMILY, {"dm41_ev2": 3.0}),
        (dipole_portal.FAMILY, {}),
        (dipole_portal.FAMILY, {"m4_mev": 12.0}),
    ],
)
def test_sm_limit_cross_sections(family: Family, values: dict[str, float]) -> None:
    model = family.model(values)
    sm = StandardModel()
    for nucleus in (CS133, I127, AR40):
        e, t = _points(nucleus)
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.cevns(e, t, nucleus, flavour), sm.cevns(e, t, nucleus, flavour), rtol=1e-12, atol=0
            )
            assert np.all(np.asarray(model.flux_factor(flavour, e, L_CSI)) == 1.0)
    t_e = np.linspace(1e-4, 0.05, 40)
    e_e = np.full_like(t_e, 30.0)
    for element in ("Cs", "I"):
        for flavour in FLAVOURS:
            np.testing.assert_allclose(
                model.electron(e_e, t_e, element, flavour), sm.electron(e_e, t_e, element, flavour), rtol=1e-12
            )


@pytest.mark.parametrize("family", [sterile.FAMILY, dipole_portal.FAMILY])
def test_sm_limit_csi2021_templates(family: Family) -> None:
    sm = csi2021.templates()
    bsm = csi2021.templates(family.model({}))
    assert sm.sample("cevns").total == pytest.approx(SM_CEVNS_TOTAL, abs=0.01)
    for sample in ("cevns", "es"):
        np.testing.assert_allclose(bsm.sample(sample).nominal, sm.sample(sample).nominal, rtol=1e-12, atol=0)


def test_families_metadata() -> None:
    assert sterile.FAMILY.name == "sterile"
    assert sterile.FAMILY.parameter_names == ("dm41_ev2", "ue4_sq", "umu4_sq")
    assert [p.unit for p in sterile.FAMILY.parameters] == ["eV^2", "", ""]
    assert dipole_portal.FAMILY.name == "dipole_portal"
    assert dipole_portal.FAMILY.parameter_names == ("m4_mev", "d_e", "d_mu")
    assert [p.unit for p in dipole_portal.FAMILY.parameters] == ["MeV", "mu_B", "mu_B"]
    for fam in (sterile.FAMILY, dipole_portal.FAMILY):
        assert fam.references


def test_text_form_with_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Once registered, both families work through the text form (registry patched for the test only)."""
    from cevns_hf import bsm
    from cevns_hf.bsm.family import parse_hypothesis

    monkeypatch.setitem(bsm.FAMILIES, "sterile", sterile.FAMILY)
    monkeypatch.setitem(bsm.FAMILIES, "dipole_portal", dipole_portal.FAMILY)
    hyp = parse_hypothesis("sterile:dm41_ev2=2,ue4_sq=0.1")
    assert str(hyp) == "sterile:dm41_ev2=2,ue4_sq=0.1"
    assert isinstance(hyp.model(), SterileModel)
    assert parse_hypothesis("sterile").is_sm
    dip = parse_hypothesis("dipole_portal:m4_mev=10,d_mu=1e-9")
    assert isinstance(dip.model(), DipolePortalModel)
    assert not dip.is_sm
    with pytest.raises(HypothesisError, match="exceeds 1"):
        parse_hypothesis("sterile:ue4_sq=0.7,umu4_sq=0.7")


# --------------------------------------------------------------------------- sterile
def _survival_quad(u_sq: float, dm2: float, e: float, l0: float, half_width: float) -> float:
    """1 - sin^2(2 theta) <sin^2(1.267 dm2 L / E)>, uniform average over L by quad (written out here)."""
    s22 = 4.0 * u_sq * (1.0 - u_sq)
    coeff = 1e-12 / (4.0 * 197.3269804e-15)  # Delta m^2 L / 4E per eV^2 m / MeV (hbar c = 197.327 MeV fm)
    avg, _ = integrate.quad(
        lambda ell: math.sin(coeff * dm2 * ell / e) ** 2, l0 - half_width, l0 + half_width, limit=400, epsabs=0
    )
    return float(1.0 - s22 * avg / (2.0 * half_width))


@pytest.mark.parametrize(("dm2", "e"), [(0.3, 30.0), (2.0, 15.0), (7.5, 45.0), (60.0, 29.8)])
def test_sterile_flux_factor_against_quad(dm2: float, e: float) -> None:
    model = SterileModel(dm41_ev2=dm2, ue4_sq=0.12, umu4_sq=0.03)
    got_e = model.flux_factor("nu_e", np.array([e]), L_CSI)[0]
    got_mu = model.flux_factor("nu_mu", np.array([e]), L_CSI)[0]
    assert got_e == pytest.approx(_survival_quad(0.12, dm2, e, L_CSI, 0.5), rel=1e-10, abs=0)
    assert got_mu == pytest.approx(_survival_quad(0.03, dm2, e, L_CSI, 0.5), rel=1e-10, abs=0)


def test_sterile_no_averaging_and_gaussian() -> None:
    e = np.linspace(5.0, 52.8, 50)
    coeff = 1e-12 / (4.0 * 197.3269804e-15)
    plain = SterileModel(dm41_ev2=2.0, umu4_sq=0.05, baseline_spread="none")
    expected = 1.0 - 4 * 0.05 * 0.95 * np.sin(coeff * 2.0 * L_CSI / e) ** 2
    np.testing.assert_allclose(plain.flux_factor("nu_mu_bar", e, L_CSI), expected, rtol=1e-5)
    # a Gaussian spread: <cos 2kL> = cos(2kL0) exp(-2 k^2 sigma^2), checked against quad at one energy
    gauss = SterileModel(dm41_ev2=20.0, umu4_sq=0.05, baseline_spread="gaussian", baseline_width_m=0.4)
    k = 1e-12 / (4.0 * 197.3269804e-15) * 20.0 / 30.0
    avg, _ = integrate.quad(
        lambda ell: (
            math.sin(k * ell) ** 2 * math.exp(-0.5 * ((ell - L_CSI) / 0.4) ** 2) / (0.4 * math.sqrt(2 * math.pi))
        ),
        L_CSI - 8.0,
        L_CSI + 8.0,
        limit=400,
        epsabs=0,
        epsrel=1e-12,
    )
    got = gauss.flux_factor("nu_mu", np.array([30.0]), L_CSI)[0]
    assert got == pytest.approx(1.0 - 4 * 0.05 * 0.95 * avg, rel=1e-10, abs=0)
    with pytest.raises(ConfigurationError, match="baseline_spread"):
        SterileModel(baseline_spread="box")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="baseline_width_m"):
        SterileModel(baseline_width_m=-1.0)


def test_sterile_oscillation_length() -> None:
    """Without averaging, disappearance is maximal where 1.267 dm41 L / E = pi/2 (first maximum)."""
    dm2, e = 1.7, 30.0
    l_max = (math.pi / 2) * e / (1.26693 * dm2)
    model = SterileModel(dm41_ev2=dm2, ue4_sq=0.1, baseline_spread="none")
    ls = np.linspace(0.5 * l_max, 1.5 * l_max, 2001)
    p = np.array([model.flux_factor("nu_e", np.array([e]), ell)[0] for ell in ls])
    assert ls[np.argmin(p)] == pytest.approx(l_max, rel=1e-3, abs=0)
    assert p.min() == pytest.approx(1.0 - 4 * 0.1 * 0.9, rel=1e-9, abs=0)
    # the first minimum of disappearance (full return to 1) is at twice that length
    assert model.flux_factor("nu_e", np.array([e]), 2 * l_max)[0] == pytest.approx(1.0, abs=1e-9)
    # and the minimum in energy at fixed L sits at E = 1.267 dm41 L / (pi/2)
    es = np.linspace(5.0, 52.8, 4001)
    e_min = 1.26693 * dm2 * L_CSI / (math.pi / 2)
    assert es[np.argmin(model.flux_factor("nu_e", es, L_CSI))] == pytest.approx(e_min, rel=2e-3, abs=0)


def test_sterile_averaged_regime() -> None:
    """Large dm41: the factor tends to 1 - sin^2(2 theta)/2 (with the default uniform +-0.5 m averaging)."""
    e = np.linspace(5.0, 52.8, 200)
    model = SterileModel(dm41_ev2=1e4, ue4_sq=0.2, umu4_sq=0.07)
    gauss = SterileModel(dm41_ev2=1e4, ue4_sq=0.2, umu4_sq=0.07, baseline_spread="gaussian")
    two_k_w = 2 * 1.26693 * 1e4 * 0.5 / e  # 2 k w: the uniform average leaves |cos| sin(2kw)/(2kw)
    for flavour, u in (("nu_e", 0.2), ("nu_mu", 0.07), ("nu_mu_bar", 0.07)):
        s22 = 4 * u * (1 - u)
        deviation = model.flux_factor(flavour, e, L_CSI) - (1.0 - s22 / 2)
        assert np.all(np.abs(deviation) <= 0.5 * s22 / two_k_w * (1 + 1e-9))
        np.testing.assert_allclose(gauss.flux_factor(flavour, e, L_CSI), 1.0 - s22 / 2, rtol=1e-14)
    # the CsI 2021 CEvNS rate is then the flavour-weighted average of the constant factors
    sm = csi2021.templates().cevns_by_flavour
    bsm = csi2021.templates(model).cevns_by_flavour
    for flavour, u in (("nu_e", 0.2), ("nu_mu", 0.07), ("nu_mu_bar", 0.07)):
        assert bsm[flavour].sum() / sm[flavour].sum() == pytest.approx(1.0 - 2 * u * (1 - u), abs=1e-3)


def test_sterile_rate_linear_in_sin2_2theta() -> None:
    pois = {p.name: p for p in sterile.FAMILY.linear_pois}
    assert set(pois) == {"sin2_2theta_ee", "sin2_2theta_mumu"}
    sm_total = csi2021.templates().sample("cevns").total
    for name, param in (("sin2_2theta_ee", "ue4_sq"), ("sin2_2theta_mumu", "umu4_sq")):
        poi = pois[name]
        assert poi.parameter == param
        assert poi.fixed == ("dm41_ev2",)
        deltas = []
        xs = (0.05, 0.2, 0.6, 1.0)
        for x in xs:
            u = poi.from_poi(x)
            assert poi.to_poi(u) == pytest.approx(x, rel=1e-12, abs=0)
            assert 0.0 <= u <= 0.5
            total = csi2021.templates(sterile.FAMILY.model({"dm41_ev2": 4.0, param: u})).sample("cevns").total
            deltas.append(total - sm_total)
        slopes = np.array(deltas) / np.array(xs)
        assert slopes[0] < 0
        with pytest.raises(HypothesisError, match="physical range"):
            poi.from_poi(1.2)
        np.testing.assert_allclose(slopes, slopes[0], rtol=1e-9)


def test_sterile_antineutrino_and_flavour() -> None:
    e = np.linspace(5.0, 52.8, 30)
    model = SterileModel(dm41_ev2=2.5, ue4_sq=0.1, umu4_sq=0.3)
    np.testing.assert_array_equal(model.flux_factor("nu_mu", e, L_CSI), model.flux_factor("nu_mu_bar", e, L_CSI))
    only_e = SterileModel(dm41_ev2=2.5, ue4_sq=0.1)
    assert np.all(only_e.flux_factor("nu_mu", e, L_CSI) == 1.0)
    assert np.all(only_e.flux_factor("nu_e", e, L_CSI) < 1.0)
    e_pts, t_pts = _points()
    for flavour in FLAVOURS:
        np.testing.assert_array_equal(
            model.cevns(e_pts, t_pts, CS133, flavour), StandardModel().cevns(e_pts, t_pts, CS133, flavour)
        )


def test_sterile_flavour_blind_option() -> None:
    """1 - P(nu_a -> nu_s) equals P(nu_a -> nu_a) with one mixing; with two it keeps nu_e <-> nu_mu appearance."""
    e = np.linspace(5.0, 52.8, 40)
    for ue, umu in ((0.15, 0.0), (0.0, 0.2)):
        plain = SterileModel(dm41_ev2=3.0, ue4_sq=ue, umu4_sq=umu)
        blind = SterileModel(dm41_ev2=3.0, ue4_sq=ue, umu4_sq=umu, flavour_blind=True)
        for flavour in FLAVOURS:
            np.testing.assert_allclose(blind.flux_factor(flavour, e, L_CSI), plain.flux_factor(flavour, e, L_CSI))
    ue, umu = 0.1, 0.05
    plain = SterileModel(dm41_ev2=3.0, ue4_sq=ue, umu4_sq=umu)
    blind = SterileModel(dm41_ev2=3.0, ue4_sq=ue, umu4_sq=umu, flavour_blind=True)
    phase = plain.mean_sin2_phase(e, L_CSI)
    for flavour in FLAVOURS:
        np.testing.assert_allclose(
            blind.flux_factor(flavour, e, L_CSI) - plain.flux_factor(flavour, e, L_CSI),
            4 * ue * umu * phase,
            rtol=1e-12,
            atol=1e-15,
        )
    np.testing.assert_allclose(
        1 - blind.flux_factor("nu_e", e, L_CSI), 4 * ue * (1 - ue - umu) * phase, rtol=1e-12, atol=1e-15
    )
    assert np.all(SterileModel(ue4_sq=0.0, umu4_sq=0.0, flavour_blind=True).flux_factor("nu_e", e, L_CSI) == 1.0)


def test_sterile_vectorised_grid() -> None:
    grid = [(0.5, 0.1, 0.0), (3.0, 0.02, 0.2), (40.0, 0.0, 0.05), (1.0, 0.0, 0.0)]
    arr = {k: np.array([g[i] for g in grid])[:, None] for i, k in enumerate(("dm41_ev2", "ue4_sq", "umu4_sq"))}
    model = sterile.FAMILY.model(arr)
    e = np.linspace(5.0, 52.8, 17)
    for flavour in FLAVOURS:
        got = np.asarray(model.flux_factor(flavour, e, L_CSI))
        assert got.shape == (len(grid), len(e))
        for h, g in enumerate(grid):
            one = sterile.FAMILY.model(dict(zip(("dm41_ev2", "ue4_sq", "umu4_sq"), g, strict=True)))
            np.testing.assert_allclose(got[h], one.flux_factor(flavour, e, L_CSI), rtol=1e-14)
    engine = csi2021.setup().engine
    batch = engine.spectra(model, "cevns")
    assert batch.shape[0] == len(grid)
    for h, g in enumerate(grid):
        one = sterile.FAMILY.model(dict(zip(("dm41_ev2", "ue4_sq", "umu4_sq"), g, strict=True)))
        np.testing.assert_allclose(batch[h], engine.spectra(one, "cevns"), rtol=1e-12)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"ue4_sq": -0.1}, "ue4_sq"),
        ({"umu4_sq": 1.2}, "umu4_sq"),
        ({"dm41_ev2": -1.0}, "dm41_ev2"),
        ({"dm41_ev2": 2e4}, "dm41_ev2"),
        ({"ue4_sq": 0.6, "umu4_sq": 0.5}, "exceeds 1"),
        ({"ue4_sq": np.array([[0.1], [0.7]]), "umu4_sq": np.array([[0.1], [0.4]])}, "exceeds 1"),
        ({"ue4_sq": math.nan}, "finite"),
        ({"theta": 0.1}, "no parameter"),
    ],
)
def test_sterile_invalid(values: dict[str, Any], match: str) -> None:
    with pytest.raises(HypothesisError, match=match):
        sterile.FAMILY.model(values)


# --------------------------------------------------------------------------- dipole portal
def _bracket(e: float, t: float, m4: float, mass: float) -> float:
    """The Brdar et al. bracket, written out independently."""
    return (
        1 / t
        - 1 / e
        - m4**2 / (2 * e * t * mass) * (1 - t / (2 * e) + mass / (2 * e))
        + m4**4 * (t - mass) / (8 * e**2 * t**2 * mass**2)
    )


def _cm_range(e: float, m4: float, mass: float) -> tuple[float, float]:
    """Recoil end points from centre-of-mass two-body kinematics (independent of the module's quadratic).

    s = M^2 + 2ME; p_i* = (s - M^2)/(2 sqrt s); p_f* = lambda^(1/2)(s, m4^2, M^2)/(2 sqrt s);
    E_4* = (s + m4^2 - M^2)/(2 sqrt s); t = m4^2 - 2 p_i* (E_4* - p_f* cos theta*) at cos theta* = -1, +1;
    T = -t / (2M). The forward (T_-) value is written without cancellation: E_4* - p_i* = m4^2/(2 sqrt s)
    and p_f* - p_i* = m4^2 (m4^2 - 2s - 2M^2) / (4 s (p_f* + p_i*)) give
    t_forward = m4^2 (E_4* + p_f* - 2 p_i*) / (E_4* + p_f*).
    """
    s = mass**2 + 2 * mass * e
    rs = math.sqrt(s)
    p_in = (s - mass**2) / (2 * rs)
    lam = (s - (m4 + mass) ** 2) * (s - (m4 - mass) ** 2)
    p_out = math.sqrt(lam) / (2 * rs)
    e4 = (s + m4**2 - mass**2) / (2 * rs)
    t_backward = m4**2 - 2 * p_in * (e4 + p_out)
    excess = m4**2 / (2 * rs) + m4**2 * (m4**2 - 2 * s - 2 * mass**2) / (4 * s * (p_out + p_in))
    t_forward = m4**2 * excess / (e4 + p_out)
    return -t_forward / (2 * mass), -t_backward / (2 * mass)


@pytest.mark.parametrize(("e", "m4"), [(30.0, 1.0), (30.0, 10.0), (52.0, 40.0), (E_NU_MU_PROMPT, 29.0), (20.0, 0.01)])
@pytest.mark.parametrize("nucleus", [CS133, AR40])
def test_dipole_recoil_range_two_body(e: float, m4: float, nucleus: Any) -> None:
    lo, hi = recoil_range(e, m4, nucleus.mass)
    ref_lo, ref_hi = _cm_range(e, m4, nucleus.mass)
    assert float(hi) == pytest.approx(ref_hi, rel=1e-9, abs=0)
    assert float(lo) == pytest.approx(ref_lo, rel=1e-9, abs=0)
    assert 0.0 < float(lo) < float(hi)
    # the cross section is non-zero just inside and zero just outside the range
    t = np.array([float(lo) * 0.999, float(lo) * 1.001, float(hi) * 0.999, float(hi) * 1.001])
    xs = dipole_dxs_dt(e, t, nucleus, m4_mev=m4, d_mu_b=1e-9)
    assert xs[0] == 0.0
    assert xs[1] > 0.0
    assert xs[2] > 0.0
    assert xs[3] == 0.0
    # m4 -> 0: the elastic range
    lo0, hi0 = recoil_range(e, 0.0, nucleus.mass)
    assert float(lo0) == 0.0
    assert float(hi0) == pytest.approx(float(max_recoil(e, nucleus.mass)), rel=1e-12, abs=0)
    # inverse kinematics: E_min(T+) = E
    assert float(dipole_portal.min_neutrino_energy(hi, m4, nucleus.mass)) == pytest.approx(e, rel=1e-8, abs=0)


def test_dipole_threshold() -> None:
    """m4 = 40 MeV: the prompt nu_mu (29.8 MeV) cannot produce N_4; the delayed flux can."""
    m4 = 40.0
    e_th = float(dipole_portal.threshold_energy(m4, CS133.mass))
    assert e_th == pytest.approx(m4 + m4**2 / (2 * CS133.mass), rel=1e-14, abs=0)
    s_th = CS133.mass**2 + 2 * CS133.mass * e_th
    assert math.sqrt(s_th) == pytest.approx(CS133.mass + m4, rel=1e-14, abs=0)
    t = np.linspace(1e-6, 0.03, 500)
    for e in (E_NU_MU_PROMPT, e_th * (1 - 1e-9), 39.0):
        assert np.all(dipole_dxs_dt(e, t, CS133, m4_mev=m4, d_mu_b=1e-8) == 0.0)
    assert np.any(dipole_dxs_dt(45.0, t, CS133, m4_mev=m4, d_mu_b=1e-8) > 0.0)
    model = DipolePortalModel(m4_mev=m4, d_mu=1e-8)
    prompt = np.full_like(t, E_NU_MU_PROMPT)
    np.testing.assert_array_equal(
        model.cevns(prompt, t, CS133, "nu_mu"), StandardModel().cevns(prompt, t, CS133, "nu_mu")
    )
    # CsI 2021: the prompt nu_mu rate is unchanged, the delayed anti-nu_mu rate grows
    sm = csi2021.templates().cevns_by_flavour
    bsm = csi2021.templates(model).cevns_by_flavour
    np.testing.assert_allclose(bsm["nu_mu"], sm["nu_mu"], rtol=1e-12, atol=0)
    np.testing.assert_allclose(bsm["nu_e"], sm["nu_e"], rtol=1e-12, atol=0)
    assert bsm["nu_mu_bar"].sum() > sm["nu_mu_bar"].sum() * 1.01


def test_dipole_massless_limit_is_magnetic_moment() -> None:
    """m4 -> 0 gives (pi alpha^2 / m_e^2)(1/T - 1/E) Z^2 F_Z^2 (mu/mu_B)^2 (alpha d^2 with d = mu e/2m_e)."""
    normalisation = ALPHA_EM * MU_B_MEV_INV**2
    assert normalisation == pytest.approx(math.pi * ALPHA_EM**2 / M_ELECTRON**2, rel=1e-14, abs=0)
    mu = 3e-9
    for nucleus in (CS133, I127, AR40):
        e, t = _points(nucleus)
        inside = t < max_recoil(e, nucleus.mass)
        e, t = e[inside], t[inside]
        f_z = helm(momentum_transfer(t, nucleus.mass), nucleus.r_p)
        expected = math.pi * ALPHA_EM**2 / M_ELECTRON**2 * (1 / t - 1 / e) * nucleus.z**2 * f_z**2 * mu**2
        got = dipole_dxs_dt(e, t, nucleus, m4_mev=1e-6, d_mu_b=mu)
        np.testing.assert_allclose(got, expected * HBARC2_MEV2_CM2, rtol=1e-9)
    # and the package's magnetic-moment family (same conventions) at the level of the CsI 2021 rate
    from cevns_hf.bsm import magnetic_moment

    mm_total = csi2021.templates(magnetic_moment.FAMILY.model({"mu_nu_mu": mu})).sample("cevns").total
    dp_total = csi2021.templates(DipolePortalModel(m4_mev=1e-3, d_mu=mu)).sample("cevns").total
    assert dp_total == pytest.approx(mm_total, rel=1e-8, abs=0)


@pytest.mark.parametrize("m4", [5.0, 20.0])
def test_dipole_total_cross_section_quad(m4: float) -> None:
    """Total cross section at E = 30 MeV on Cs-133 from the written-out formula, integrated with quad."""
    e, d = 30.0, 2e-9
    mass = CS133.mass
    lo, hi = _cm_range(e, m4, mass)

    def integrand(t: float) -> float:
        f_z = float(nuclear_form_factors(np.array([t]), CS133)[0][0])
        return ALPHA_EM * (d * MU_B_MEV_INV) ** 2 * CS133.z**2 * f_z**2 * _bracket(e, t, m4, mass) * HBARC2_MEV2_CM2

    # in u = ln T the 1/T integrand is smooth over the decades between T_- and T_+
    ref, _ = integrate.quad(
        lambda u: integrand(math.exp(u)) * math.exp(u), math.log(lo), math.log(hi), limit=400, epsabs=0, epsrel=1e-11
    )
    # module: fine trapezoid on a log grid covering [T_-, T_+] exactly
    t = np.geomspace(lo, hi, 200001)
    got = np.trapezoid(dipole_dxs_dt(e, t, CS133, m4_mev=m4, d_mu_b=d), t)
    assert got == pytest.approx(ref, rel=1e-8, abs=0)
    # point by point, including the terms too small to matter in the total (m4^2 / (4 E^2 M))
    points = np.geomspace(lo * (1 + 1e-9), hi * (1 - 1e-9), 25)
    np.testing.assert_allclose(
        dipole_dxs_dt(e, points, CS133, m4_mev=m4, d_mu_b=d), [integrand(x) for x in points], rtol=1e-11, atol=0
    )
    # and the model adds it to the SM
    model = DipolePortalModel(m4_mev=m4, d_mu=d)
    sm_xs = StandardModel().cevns(np.full_like(t, e), t, CS133, "nu_mu")
    np.testing.assert_allclose(
        model.cevns(np.full_like(t, e), t, CS133, "nu_mu") - sm_xs,
        dipole_dxs_dt(e, t, CS133, m4_mev=m4, d_mu_b=d),
        rtol=1e-9,
        atol=1e-15 * sm_xs.max(),
    )


def test_dipole_antineutrino_and_flavour() -> None:
    e, t = _points()
    model = DipolePortalModel(m4_mev=8.0, d_e=2e-9, d_mu=5e-9)
    sm = StandardModel()
    np.testing.assert_allclose(
        model.cevns(e, t, CS133, "nu_mu") - sm.cevns(e, t, CS133, "nu_mu"),
        model.cevns(e, t, CS133, "nu_mu_bar") - sm.cevns(e, t, CS133, "nu_mu_bar"),
        rtol=1e-12,
        atol=0,
    )
    for flavour, d in (("nu_e", 2e-9), ("nu_mu", 5e-9), ("nu_mu_bar", 5e-9)):
        np.testing.assert_allclose(
            model.cevns(e, t, CS133, flavour) - sm.cevns(e, t, CS133, flavour),
            dipole_dxs_dt(e, t, CS133, m4_mev=8.0, d_mu_b=d),
            rtol=1e-9,
            atol=1e-15 * sm.cevns(e, t, CS133, flavour).max(),
        )
    only_mu = DipolePortalModel(m4_mev=8.0, d_mu=5e-9)
    np.testing.assert_array_equal(only_mu.cevns(e, t, CS133, "nu_e"), sm.cevns(e, t, CS133, "nu_e"))
    # no ES contribution and no flux change
    assert model.flux_factor("nu_e", e, L_CSI) == 1.0
    np.testing.assert_array_equal(model.electron(e, t, "Cs", "nu_mu"), sm.electron(e, t, "Cs", "nu_mu"))


def test_dipole_rate_linear_in_d_squared() -> None:
    pois = {p.name: p for p in dipole_portal.FAMILY.linear_pois}
    assert set(pois) == {"d_e_sq", "d_mu_sq"}
    sm_total = csi2021.templates().sample("cevns").total
    for name, param in (("d_e_sq", "d_e"), ("d_mu_sq", "d_mu")):
        poi = pois[name]
        assert poi.parameter == param
        assert poi.fixed == ("m4_mev",)
        xs = (1e-18, 4e-18, 2.5e-17)
        deltas = []
        for x in xs:
            d = poi.from_poi(x)
            assert poi.to_poi(d) == pytest.approx(x, rel=1e-12, abs=0)
            total = csi2021.templates(dipole_portal.FAMILY.model({"m4_mev": 15.0, param: d})).sample("cevns").total
            deltas.append(total - sm_total)
        slopes = np.array(deltas) / np.array(xs)
        assert slopes[0] > 0
        with pytest.raises(HypothesisError, match=">= 0"):
            poi.from_poi(-1e-18)
        np.testing.assert_allclose(slopes, slopes[0], rtol=1e-9)
        # the sign of d is irrelevant
        neg = csi2021.templates(dipole_portal.FAMILY.model({"m4_mev": 15.0, param: -math.sqrt(xs[1])}))
        assert neg.sample("cevns").total - sm_total == pytest.approx(deltas[1], rel=1e-12, abs=0)


def test_dipole_vectorised_grid() -> None:
    grid = [(1.0, 0.0, 0.0), (5.0, 3e-9, 0.0), (20.0, 1e-9, 4e-9), (45.0, 0.0, 1e-8)]
    names = ("m4_mev", "d_e", "d_mu")
    arr = {k: np.array([g[i] for g in grid])[:, None] for i, k in enumerate(names)}
    model = dipole_portal.FAMILY.model(arr)
    e, t = _points()
    for flavour in FLAVOURS:
        got = model.cevns(e, t, CS133, flavour)
        assert got.shape == (len(grid), len(e))
        for h, g in enumerate(grid):
            one = dipole_portal.FAMILY.model(dict(zip(names, g, strict=True)))
            np.testing.assert_allclose(got[h], one.cevns(e, t, CS133, flavour), rtol=1e-14)
    engine = csi2021.setup().engine
    batch = engine.spectra(model, "cevns")
    assert batch.shape[0] == len(grid)
    for h, g in enumerate(grid):
        one = dipole_portal.FAMILY.model(dict(zip(names, g, strict=True)))
        np.testing.assert_allclose(batch[h], engine.spectra(one, "cevns"), rtol=1e-12)


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"m4_mev": 0.0}, "m4_mev"),
        ({"m4_mev": -3.0}, "m4_mev"),
        ({"m4_mev": 2e4}, "m4_mev"),
        ({"d_e": 2.0}, "d_e"),
        ({"d_mu": -1.5}, "d_mu"),
        ({"d_mu": np.array([[1e-9], [np.inf]])}, "finite"),
        ({"mu": 1e-9}, "no parameter"),
    ],
)
def test_dipole_invalid(values: dict[str, Any], match: str) -> None:
    with pytest.raises(HypothesisError, match=match):
        dipole_portal.FAMILY.model(values)
