"""The interpolation kernels against pyhf's own interpolators, and their analytic derivatives."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from cevns_hf.inference.interpolation import Code4, code4_factor, code4p_coefficients

#: (kappa_hi, kappa_lo): the project's normsys factors (alpha_1, alpha_0, beta_8 = 100 %, a negative sigma) and an
#: asymmetric pair.
FACTORS = [(1.25, 0.75), (1.1145, 0.8855), (2.0, 0.5), (0.9, 1.1), (1.3, 0.95)]
ALPHA = np.concatenate([np.linspace(-5.0, 5.0, 1001), [-1.0, 1.0, 0.0]])


@pytest.mark.parametrize(("hi", "lo"), FACTORS)
def test_code4_factor_equals_pyhf_code4(hi: float, lo: float) -> None:
    pyhf.set_backend("numpy")
    interp = pyhf.interpolators.code4([[[[lo], [1.0], [hi]]]])  # (systematic, sample, [lo, nominal, hi], bins)
    reference = np.asarray(interp(ALPHA[None, :])).reshape(-1)
    f, _, _ = code4_factor(ALPHA, hi, lo)
    np.testing.assert_allclose(f, reference, rtol=1e-13, atol=1e-14)


@pytest.mark.parametrize(("hi", "lo"), FACTORS)
def test_code4_derivatives_match_finite_differences(hi: float, lo: float) -> None:
    step = 1e-6
    alpha = np.array([-3.2, -1.0000001, -0.7, 0.0, 0.4, 0.9999999, 2.5])
    f, d1, d2 = code4_factor(alpha, hi, lo)
    up, down = code4_factor(alpha + step, hi, lo), code4_factor(alpha - step, hi, lo)
    np.testing.assert_allclose(d1, (up[0] - down[0]) / (2 * step), rtol=1e-7, atol=1e-8)
    np.testing.assert_allclose(d2, (up[1] - down[1]) / (2 * step), rtol=1e-5, atol=1e-6)
    assert np.all(f > 0)


def test_code4_is_one_without_normsys_and_broadcasts() -> None:
    kernel = Code4.of(np.array([[1.0, 1.25], [2.0, 1.0]]), np.array([[1.0, 0.75], [0.5, 1.0]]))
    alpha = np.array([[0.3, -2.0], [1.5, 0.1]])[:, None, :]  # (rows, 1, K) against (G, K)
    f, d1, _ = kernel.factor(alpha)
    assert f.shape == (2, 2, 2)
    np.testing.assert_array_equal(f[:, 0, 0], 1.0)
    np.testing.assert_array_equal(d1[:, 1, 1], 0.0)
    assert f[1, 1, 0] == pytest.approx(2.0**1.5, rel=1e-14)
    assert f[0, 0, 1] == pytest.approx(0.75**2, rel=1e-14)
    with pytest.raises(ValueError, match="positive"):
        Code4.of(np.array([1.1]), np.array([0.0]))


def test_code4p_delta_equals_pyhf_code4p() -> None:
    pyhf.set_backend("numpy")
    lo, nom, hi = [7.0, 3.0], [10.0, 4.0], [12.5, 6.0]
    interp = pyhf.interpolators.code4p([[[lo, nom, hi]]])
    reference = np.asarray(interp(ALPHA[None, :]))[0, 0]  # (alphas, bins): the delta
    up, down = np.subtract(hi, nom), np.subtract(nom, lo)
    c2, _, _ = code4p_coefficients(ALPHA)
    ours = ALPHA[:, None] * 0.5 * (up + down) + c2[:, None] * 0.0625 * (up - down)
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-12)
