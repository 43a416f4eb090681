"""Tests of the nuclear form factors (cevns_hf.physics.form_factors) and the momentum transfer.

Limit cases: F(0) = 1, the small-q expansion F = 1 - q^2 R^2 / 6 fixed by the rms radius, the Helm form
factor as the Fourier transform of its density (a uniform sphere of radius R_0 folded with a Gaussian of
width s), the first zero of the Helm form factor at q R_0 = 4.4934 (first root of tan x = x), and the
rejection of radii that the parametrisations cannot represent.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.cevns import nuclear_form_factors
from cevns_hf.physics.constants import HBARC_MEV_FM
from cevns_hf.physics.form_factors import (
    FORM_FACTORS,
    HELM_SKIN_FM,
    get_form_factor,
    helm,
    klein_nystrand,
    momentum_transfer,
    symmetrized_fermi,
)
from cevns_hf.physics.nuclei import AR40, CS133, I127, NUCLEI

#: rms radii [fm] spanning the targets (Ar-40 point-proton radius up to the Cs-133 neutron radius)
RADII = (3.3, 4.0, 4.8, 5.01, 5.5)
#: first positive root of tan x = x, i.e. of the spherical Bessel function j_1
J1_FIRST_ZERO = 4.493409457909064


def _helm_r0(r_rms: float, skin: float = HELM_SKIN_FM) -> float:
    """Box radius R_0 of the Helm distribution with rms radius r_rms: R^2 = 3/5 R_0^2 + 3 s^2."""
    return math.sqrt(5.0 / 3.0 * (r_rms**2 - 3.0 * skin**2))


def _helm_density(r: float, r0: float, skin: float) -> float:
    """Helm density at radius r: a uniform sphere of radius r0 (unit norm) folded with a 3D Gaussian.

    The angular integral of the folding is analytic, leaving
    rho(r) = 3 / (4 pi r0^3) * int_0^r0 dr' (r'/r) [exp(-(r-r')^2/2s^2) - exp(-(r+r')^2/2s^2)] / (sqrt(2 pi) s).
    """
    norm = 3.0 / (4.0 * math.pi * r0**3) / (math.sqrt(2.0 * math.pi) * skin)
    if r < 1e-6:  # limit r -> 0 of the bracket / r: (2 r' / s^2) exp(-r'^2 / 2 s^2) r'
        val, _ = integrate.quad(lambda rp: 2.0 * rp * rp / skin**2 * math.exp(-0.5 * rp * rp / skin**2), 0.0, r0)
        return float(norm * val)

    def integrand(rp: float) -> float:
        return rp / r * (math.exp(-0.5 * (r - rp) ** 2 / skin**2) - math.exp(-0.5 * (r + rp) ** 2 / skin**2))

    val, _ = integrate.quad(integrand, 0.0, r0, epsabs=0, epsrel=1e-11)
    return float(norm * val)


@pytest.mark.parametrize("name", sorted(FORM_FACTORS))
@pytest.mark.parametrize("r_rms", RADII)
def test_unit_normalisation_at_zero_momentum(name: str, r_rms: float) -> None:
    ff = FORM_FACTORS[name]
    assert float(ff(np.array(0.0), r_rms)) == pytest.approx(1.0, abs=1e-12)
    assert float(ff(np.array([0.0]), r_rms)[0]) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("name", sorted(FORM_FACTORS))
@pytest.mark.parametrize("r_rms", RADII)
def test_small_q_expansion_fixes_rms_radius(name: str, r_rms: float) -> None:
    """F(q) = 1 - q^2 <r^2> / 6 + O(q^4): at q = 0.01 fm^-1 the q^4 term is below 1e-7."""
    q = 0.01
    value = float(FORM_FACTORS[name](np.array(q), r_rms))
    assert value == pytest.approx(1.0 - q * q * r_rms**2 / 6.0, rel=1e-6)
    # the q^2 coefficient itself, from a symmetric difference quotient of (1 - F) / q^2
    slope = (1.0 - float(FORM_FACTORS[name](np.array(1e-3), r_rms))) / 1e-6
    assert slope == pytest.approx(r_rms**2 / 6.0, rel=1e-4)


@pytest.mark.parametrize("name", sorted(FORM_FACTORS))
def test_form_factors_decrease_from_one_and_broadcast(name: str) -> None:
    ff = FORM_FACTORS[name]
    q = np.linspace(0.0, 0.5, 51)
    values = ff(q, 4.8)
    assert values.shape == q.shape
    assert np.all(np.diff(values) < 0)  # monotone before the first zero (q R_0 < 4.49 up to 0.5 fm^-1)
    assert np.all(values <= 1.0)
    grid = ff(q.reshape(3, 17), 4.8)
    np.testing.assert_array_equal(grid.ravel(), values)


@pytest.mark.parametrize("q", [0.05, 0.2, 0.4, 0.7, 1.0])
def test_helm_is_product_of_sphere_and_gaussian_transforms(q: float) -> None:
    """Convolution theorem: F_Helm = F_sphere(R_0) x F_Gauss(s), each transform done numerically."""
    r_rms, skin = 4.8, HELM_SKIN_FM
    r0 = _helm_r0(r_rms)
    sphere, _ = integrate.quad(lambda r: 3.0 / r0**3 * r * math.sin(q * r) / q, 0.0, r0, epsabs=0, epsrel=1e-12)
    gauss_density = math.pow(2.0 * math.pi * skin**2, -1.5)

    def gauss_integrand(r: float) -> float:
        return 4.0 * math.pi * gauss_density * math.exp(-0.5 * r * r / skin**2) * r * math.sin(q * r) / q

    gauss, _ = integrate.quad(gauss_integrand, 0.0, 20.0 * skin, epsabs=0, epsrel=1e-12)
    assert float(helm(np.array(q), r_rms)) == pytest.approx(sphere * gauss, rel=1e-9, abs=1e-12)


def test_helm_is_fourier_transform_of_its_density() -> None:
    """Direct 3D Fourier transform F(q) = 4 pi int dr r^2 rho(r) sin(qr)/(qr) of the folded density."""
    r_rms, skin = CS133.r_n, HELM_SKIN_FM
    r0 = _helm_r0(r_rms)
    r_end = r0 + 12.0 * skin

    norm, _ = integrate.quad(lambda r: 4.0 * math.pi * r * r * _helm_density(r, r0, skin), 0.0, r_end, limit=200)
    assert norm == pytest.approx(1.0, rel=1e-8)
    msr, _ = integrate.quad(lambda r: 4.0 * math.pi * r**4 * _helm_density(r, r0, skin), 0.0, r_end, limit=200)
    assert math.sqrt(msr) == pytest.approx(r_rms, rel=1e-8)  # R^2 = 3/5 R_0^2 + 3 s^2

    for q in (0.1, 0.3, 0.6, 0.9):
        ft, _ = integrate.quad(
            lambda r, q=q: 4.0 * math.pi * r * math.sin(q * r) / q * _helm_density(r, r0, skin),
            0.0,
            r_end,
            limit=200,
            epsabs=1e-12,
            epsrel=1e-10,
        )
        assert float(helm(np.array(q), r_rms)) == pytest.approx(ft, rel=1e-7, abs=1e-10)


@pytest.mark.parametrize("r_rms", [3.3, 4.8, 5.5])
def test_symmetrized_fermi_is_fourier_transform_of_its_density(r_rms: float) -> None:
    """rho(r) ~ sinh(c/a) / (cosh(r/a) + cosh(c/a)), <r^2> = 3/5 c^2 + 7/5 pi^2 a^2 (Piekarewicz et al. 2016).

    The analytic transform already equals 1 at q = 0; the density normalisation 1 + pi^2 a^2 / c^2 must not
    appear in F(q).
    """
    a = 0.52
    c = math.sqrt(5.0 / 3.0 * (r_rms**2 - 7.0 / 5.0 * (math.pi * a) ** 2))

    def rho(r: float) -> float:
        return math.sinh(c / a) / (math.cosh(r / a) + math.cosh(c / a))

    r_end = c + 40.0 * a
    norm, _ = integrate.quad(lambda r: r * r * rho(r), 0.0, r_end, points=[c], limit=200, epsabs=0, epsrel=1e-12)
    msr, _ = integrate.quad(lambda r: r**4 * rho(r), 0.0, r_end, points=[c], limit=200, epsabs=0, epsrel=1e-12)
    assert math.sqrt(msr / norm) == pytest.approx(r_rms, rel=1e-9)
    for q in (1e-3, 0.01, 0.1, 0.3, 0.6):
        ft, _ = integrate.quad(
            lambda r, q=q: r * math.sin(q * r) / q * rho(r), 0.0, r_end, points=[c], limit=200, epsabs=0, epsrel=1e-12
        )
        assert float(symmetrized_fermi(np.array(q), r_rms)) == pytest.approx(ft / norm, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize("r_rms", RADII)
def test_helm_first_zero(r_rms: float) -> None:
    r0 = _helm_r0(r_rms)
    zero = optimize.brentq(lambda q: float(helm(np.array(q), r_rms)), 3.5 / r0, 5.5 / r0, xtol=1e-14, rtol=1e-14)
    assert zero * r0 == pytest.approx(J1_FIRST_ZERO, rel=1e-9)
    # Klein-Nystrand shares the hard-sphere zero (at its own box radius R_A^2 = 5/3 (R^2 - 6 a_k^2))
    r_a = math.sqrt(5.0 / 3.0 * (r_rms**2 - 6.0 * 0.7**2))
    assert abs(float(klein_nystrand(np.array(J1_FIRST_ZERO / r_a), r_rms))) < 1e-12


@pytest.mark.parametrize(
    ("name", "smallest_valid"),
    [
        ("helm", math.sqrt(3.0) * 0.9),
        ("klein_nystrand", math.sqrt(6.0) * 0.7),
        ("symmetrized_fermi", math.sqrt(7.0 / 5.0) * math.pi * 0.52),
    ],
)
def test_invalid_radii_raise(name: str, smallest_valid: float) -> None:
    ff = FORM_FACTORS[name]
    for bad in (-1.0, 0.0, 0.5 * smallest_valid, smallest_valid * (1 - 1e-9)):
        with pytest.raises(ConfigurationError):
            ff(np.array([0.1]), bad)
    assert np.isfinite(ff(np.array([0.1]), 1.01 * smallest_valid)).all()


def test_unknown_form_factor_and_bad_nucleus_radii_raise() -> None:
    with pytest.raises(ConfigurationError, match="helm"):
        get_form_factor("gaussian")
    assert get_form_factor("symmetrized_fermi") is symmetrized_fermi
    for radii in ({"r_p": 0.0}, {"r_n": -4.0}):
        with pytest.raises(ConfigurationError):
            CS133.with_radii(**radii)
    moved = CS133.with_radii(r_n=5.5)
    assert (moved.r_n, moved.r_p) == (5.5, CS133.r_p)


def test_momentum_transfer_values() -> None:
    """|q|^2 = 2 M T + T^2 (exact for a recoil of kinetic energy T off a nucleus at rest), in fm^-1."""
    assert float(momentum_transfer(0.0, CS133.mass)) == 0.0
    t = np.array([1e-3, 1e-2, 3e-2])  # 1, 10, 30 keV
    for nucleus in (CS133, I127, AR40):
        q = momentum_transfer(t, nucleus.mass)
        np.testing.assert_allclose(q, np.sqrt(2.0 * nucleus.mass * t + t * t) / HBARC_MEV_FM, rtol=1e-14)
        # recoil momentum from the relativistic energy: p^2 = (M + T)^2 - M^2
        np.testing.assert_allclose(q * HBARC_MEV_FM, np.sqrt((nucleus.mass + t) ** 2 - nucleus.mass**2), rtol=1e-7)
    # a worked number: 10 keV Cs recoil, M = 123772.5 MeV -> q = sqrt(2 * 123772.5 * 0.01) / 197.327 = 0.25214 fm^-1
    assert float(momentum_transfer(0.01, CS133.mass)) == pytest.approx(0.25214, rel=1e-4)
    # the nuclear form factors of the cross section are the form factors at that q
    f_z, f_n = nuclear_form_factors(t, CS133)
    np.testing.assert_allclose(f_z, helm(momentum_transfer(t, CS133.mass), CS133.r_p), rtol=1e-15)
    np.testing.assert_allclose(f_n, helm(momentum_transfer(t, CS133.mass), CS133.r_n), rtol=1e-15)


def test_nuclear_radii_in_range() -> None:
    """Point-proton radii derived from the charge radii are below the charge radii; all radii valid."""
    for nucleus in NUCLEI.values():
        assert 3.0 < nucleus.r_p < 5.0
        assert 3.0 < nucleus.r_n < 5.2
        for name in FORM_FACTORS:
            f_z, f_n = nuclear_form_factors(np.array([0.0, 0.01]), nucleus, form_factor=name)
            assert f_z[0] == pytest.approx(1.0)
            assert f_n[0] == pytest.approx(1.0)
            assert 0 < f_n[1] < 1
