"""The engine with a polynomial family as POIs: folded bases equal the template path; free fits are minima."""

from __future__ import annotations

from unittest import mock

import numpy as np
import pytest

from cevns_hf.inference.profile import HypothesisLikelihood

EXPERIMENTS = ("csi2021", "lar2020")


@pytest.fixture(scope="module")
def nsi() -> HypothesisLikelihood:
    return HypothesisLikelihood.build(EXPERIMENTS, "nsi")


def test_basis_path_equals_template_path(nsi: HypothesisLikelihood) -> None:
    rng = np.random.default_rng(3)
    values = {"eps_ee_u": rng.uniform(-0.5, 0.5, 40), "eps_ee_d": rng.uniform(-0.5, 0.5, 40)}
    fast, _, conv = nsi.evaluate(values)
    with mock.patch.object(HypothesisLikelihood, "_basis_rows", return_value=None):
        slow, _, conv_slow = nsi.evaluate(values)
    assert conv.all()
    assert conv_slow.all()
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-6)


def test_free_poi_derivatives_match_finite_differences(nsi: HypothesisLikelihood) -> None:
    """Gradient and Hessian in (theta, y1, y2) of the two-POI polynomial batch, against central differences."""
    batch, _, _ = nsi.basis_batch(("eps_ee_u", "eps_ee_d"), ((-1.0, 1.0), (-1.0, 1.0)))
    assert batch.n_pois == 2
    lik = nsi.likelihood
    rng = np.random.default_rng(5)
    x = np.concatenate([nsi.theta0 + rng.normal(0, 0.3, nsi.theta0.size), [0.07, -0.12]])[None, :]
    value, grad, hess = lik.derivatives_free(batch, x)
    n_k = nsi.theta0.size

    def f(z: np.ndarray) -> np.ndarray:
        return lik.twice_nll(batch, z[:, :n_k], z[:, n_k:])

    eps = 1e-5
    eye = np.eye(x.shape[1])
    num_grad = np.array([(f(x + eps * e) - f(x - eps * e))[0] / (2 * eps) for e in eye])
    np.testing.assert_allclose(value, f(x), rtol=1e-12)
    np.testing.assert_allclose(grad[0], num_grad, rtol=1e-5, atol=1e-4)
    num_hess = np.array(
        [
            (lik.derivatives_free(batch, x + eps * e)[1] - lik.derivatives_free(batch, x - eps * e)[1])[0] / (2 * eps)
            for e in eye
        ]
    )
    np.testing.assert_allclose(hess[0], num_hess, rtol=1e-4, atol=1e-3)


def test_free_fit_is_the_minimum_of_a_fine_scan() -> None:
    """nu_mu charge radius: the free fit of the polynomial batch (two starts) equals the minimum of a fine scan."""
    model = HypothesisLikelihood.build(EXPERIMENTS, "charge_radius")
    grid = np.linspace(-100.0, 60.0, 321)
    curve, _, conv = model.evaluate({"r2_mumu": grid})
    assert conv.all()
    batch, center, half = model.basis_batch(("r2_mumu",), ((-128.0, 128.0),))
    lik = model.likelihood
    bounds = ((grid[0] - center) / half, (grid[-1] - center) / half)
    starts = (np.array([-60.0, 10.0]) - center[0]) / half[0]
    fits = lik.profile(batch, model.theta0, mu0=starts, poi_bounds=bounds)
    best = int(np.argmin(fits.twice_nll))
    assert fits.converged[best]
    assert fits.twice_nll[best] <= curve.min() + 1e-9
    i = int(np.argmin(curve))  # the parabola through the grid minimum and its neighbours
    a, b, c = np.polyfit(grid[i - 1 : i + 2], curve[i - 1 : i + 2], 2)
    r2_best = float(fits.mu[best] * half[0] + center[0])
    assert abs(r2_best - (-b / (2 * a))) < 0.05
    assert abs(fits.twice_nll[best] - (c - b * b / (4 * a))) < 1e-4
