"""The likelihood engine with a free POI and per-row data, and toy-based CLs, against pyhf.

Measured (numpy 2.3 / 2.5, pyhf 0.7.6): twice_nll equals -2 logpdf to ~1e-14 relative; profiled fits agree
with pyhf's fixed_poi_fit / fit to |Delta 2NLL| < 1e-6; qtilde of toys agrees with
``pyhf.infer.test_statistics.qmu_tilde`` to < 1e-4.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyhf
import pytest

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import assemble, interpolation, newton, toys
from cevns_hf.inference.likelihood import Batch, Likelihood
from cevns_hf.workspace.build import build_workspace
from cevns_hf.workspace.hypothesis import linear_workspace

NUMPY_2_4 = tuple(int(p) for p in np.__version__.split(".")[:2]) >= (2, 4)


def toy_spec(scale: float = 1.0, observed: tuple[float, float] = (51.0, 48.0)) -> dict[str, Any]:
    """pyhf's two-bin example with a histosys background uncertainty (the engine's modifier types)."""
    model = pyhf.simplemodels.correlated_background(
        signal=[12.0 * scale, 11.0 * scale],
        bkg=[50.0 * scale, 52.0 * scale],
        bkg_up=[45.0 * scale, 57.0 * scale],
        bkg_down=[55.0 * scale, 47.0 * scale],
    )
    return {
        "channels": model.spec["channels"],
        "observations": [{"name": "single_channel", "data": [o * scale for o in observed]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


@pytest.fixture(scope="module")
def workspaces() -> dict[str, dict[str, Any]]:
    hyp = Hypothesis.from_mapping("magnetic_moment", {"mu_nu_mu": 3e-9})
    return {
        "linear": linear_workspace(["csi2021"], hyp, "mu_nu_mu_sq").spec,
        "sm": build_workspace([detectors.templates("csi2021")]),
    }


def _pyhf(spec: dict[str, Any]) -> tuple[Any, Any]:
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    ws = pyhf.Workspace(spec)
    model = ws.model()
    return model, ws.data(model)


def _pars(model: Any, lik: Likelihood, theta: np.ndarray, mu: float) -> np.ndarray:
    pars = np.array(model.config.suggested_init(), dtype=float)
    for k, name in enumerate(lik.nuisances):
        pars[model.config.par_slice(name)] = theta[k]
    pars[model.config.poi_index] = mu
    return pars


def _aux_order(model: Any, lik: Likelihood) -> list[int]:
    """Position in our aux vector of each of pyhf's auxiliary data."""
    return [lik.nuisances.index(name) for name in model.config.auxdata_order]


def test_public_names() -> None:
    for module in (assemble, interpolation, newton, toys):
        assert set(dir(module)) == set(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)


@pytest.mark.parametrize("name", ["linear", "sm"])
def test_twice_nll_equals_pyhf_logpdf(workspaces: dict[str, dict[str, Any]], name: str) -> None:
    """At random (mu, theta), with the observed data and with random per-row data and auxiliaries."""
    spec = workspaces[name]
    model, data = _pyhf(spec)
    lik, batch = assemble.from_workspace(spec)
    assert lik.poi == model.config.poi_name
    assert lik.poi_bounds == tuple(model.config.suggested_bounds()[model.config.poi_index])
    rng = np.random.default_rng(7)
    n_rows = 12
    theta = rng.uniform(np.maximum(lik.lower, -2.0), np.minimum(lik.upper, 2.0), size=(n_rows, len(lik.nuisances)))
    mu = rng.uniform(0.0, 4.0, size=n_rows)
    ours = lik.twice_nll(batch, theta, mu)
    counts = rng.poisson(np.clip(lik.expected(batch, theta, mu), 0.0, None)).astype(float)
    aux = rng.normal(size=theta.shape)
    toy_rows = lik.twice_nll(lik.with_data(batch, counts, aux), theta, mu)
    assert np.sum(np.isfinite(ours)) >= n_rows // 2
    order = _aux_order(model, lik)
    for i in range(n_rows):
        pars = _pars(model, lik, theta[i], mu[i])
        ref = -2.0 * float(model.logpdf(pars, data)[0])
        if not np.isfinite(ours[i]):  # a bin with data and no positive prediction: pyhf gives nan
            assert not np.isfinite(ref)
            continue
        assert ours[i] == pytest.approx(ref, rel=1e-6)
        toy_data = np.concatenate([counts[i], aux[i][order]])  # pyhf's main data follow the spec's channel order
        assert toy_rows[i] == pytest.approx(-2.0 * float(model.logpdf(pars, toy_data)[0]), rel=1e-6)


@pytest.mark.parametrize("name", ["linear", "sm"])
def test_profiled_fits_equal_pyhf(workspaces: dict[str, dict[str, Any]], name: str) -> None:
    spec = workspaces[name]
    model, data = _pyhf(spec)
    lik, batch = assemble.from_workspace(spec)
    values = [0.0, 0.5, 2.0] if name == "linear" else [0.5, 1.0, 1.5]
    fixed = lik.profile(batch.take(np.zeros(len(values), dtype=int)), mu=np.array(values))
    assert np.all(fixed.converged)
    for i, mu in enumerate(values):
        _, ref = pyhf.infer.mle.fixed_poi_fit(mu, data, model, return_fitted_val=True)
        assert abs(fixed.twice_nll[i] - float(ref)) < 1e-4
        assert fixed.twice_nll[i] <= float(ref) + 1e-6
    free = lik.profile(batch)
    best, ref = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    assert free.converged[0]
    assert abs(free.twice_nll[0] - float(ref)) < 1e-4
    assert free.mu is not None
    assert free.mu[0] == pytest.approx(float(best[model.config.poi_index]), abs=2e-2)


def test_free_poi_derivatives_match_finite_differences(workspaces: dict[str, dict[str, Any]]) -> None:
    lik, batch = assemble.from_workspace(workspaces["linear"])
    rng = np.random.default_rng(3)
    for inside in (0.4, 1.7):  # code4p polynomial and linear regimes
        x = np.append(rng.uniform(-inside, inside, size=len(lik.nuisances)), 1.3)[None]
        value, grad, hess = lik.derivatives_free(batch, x)

        def f(y: np.ndarray) -> float:
            return float(lik.twice_nll(batch, y[:, :-1], y[:, -1])[0])

        assert value[0] == pytest.approx(f(x), rel=1e-13)
        step = 1e-5
        for j in range(x.shape[1]):
            up, down = x.copy(), x.copy()
            up[0, j] += step
            down[0, j] -= step
            assert grad[0, j] == pytest.approx((f(up) - f(down)) / (2 * step), rel=1e-5, abs=1e-4)
            g_up, g_down = lik.derivatives_free(batch, up)[1], lik.derivatives_free(batch, down)[1]
            np.testing.assert_allclose(hess[0, j], (g_up[0] - g_down[0]) / (2 * step), rtol=1e-4, atol=1e-3)


def test_qtilde_equals_pyhf_qmu_tilde(workspaces: dict[str, dict[str, Any]]) -> None:
    """The main cross-check of the toys (runs on every numpy): qtilde of the same toy datasets."""
    spec = workspaces["linear"]
    model, _ = _pyhf(spec)
    lik, batch = assemble.from_workspace(spec)
    mu = 2.5
    dist_rng = toys.toy_generator(5, mu)
    fit = lik.profile(batch, mu=mu)
    rate = np.clip(lik.expected(batch, fit.theta, mu)[0], 0.0, None)
    n_toys = 8
    counts = dist_rng.poisson(rate, size=(n_toys, rate.size)).astype(float)
    aux = dist_rng.normal(fit.theta[0], 1.0, size=(n_toys, len(lik.nuisances)))
    ours = toys.qmu_tilde(lik, lik.with_data(batch, counts, aux), mu)
    order = _aux_order(model, lik)
    init, bounds, fixed = model.config.suggested_init(), model.config.suggested_bounds(), model.config.suggested_fixed()
    diffs = []
    for i in range(n_toys):
        toy = np.concatenate([counts[i], aux[i][order]])
        ref = float(pyhf.infer.test_statistics.qmu_tilde(mu, toy, model, init, bounds, fixed))
        diffs.append(abs(ours.q[i] - ref))
    assert max(diffs) < 1e-3
    assert np.any(ours.q > 0.5)  # a test with teeth: some toys far from mu_hat = mu


def test_toys_reproducible_and_order_independent() -> None:
    lik, batch = assemble.from_workspace(toy_spec())
    a = toys.toy_distributions(lik, batch, 1.0, n_toys=50, seed=3)
    toys.toy_distributions(lik, batch, 2.0, n_toys=50, seed=3)
    b = toys.toy_distributions(lik, batch, 1.0, n_toys=50, seed=3)
    assert np.array_equal(a.signal, b.signal)
    assert np.array_equal(a.background, b.background)
    c = toys.toy_distributions(lik, batch, 1.0, n_toys=50, seed=4)
    assert not np.array_equal(a.signal, c.signal)
    assert a.failed == 0
    with pytest.raises(ConfigurationError, match="non-negative"):
        toys.toy_generator(-1, 1.0)


def test_cls_from_toys_definitions() -> None:
    """CLs+b and CLb count toys with q >= q_obs (ties included), as pyhf's EmpiricalDistribution."""
    dist = toys.ToyDistributions(1.0, 2.0, np.array([0.0, 0.0, 1.0, 2.0]), np.array([0.0, 2.0, 3.0, 5.0, 9.0]), 0)
    point = toys.cls_from_toys(dist)
    assert point.observed == pytest.approx((1 / 4) / (4 / 5))
    per_toy = [(4 / 4) / (5 / 5), (1 / 4) / (4 / 5), 0.0, 0.0, 0.0]
    assert point.expected == pytest.approx(tuple(np.percentile(per_toy, toys.EXPECTED_PERCENTILES)))
    beyond = toys.ToyDistributions(1.0, 20.0, dist.signal, dist.background, 0)
    assert toys.cls_from_toys(beyond).observed == 0.0


def _shapesys_spec() -> dict[str, Any]:
    model = pyhf.simplemodels.uncorrelated_background(signal=[1.0], bkg=[5.0], bkg_uncertainty=[1.0])
    return {
        "channels": model.spec["channels"],
        "observations": [{"name": "singlechannel", "data": [5.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def _with_modifier(modifier: dict[str, Any]) -> dict[str, Any]:
    spec = toy_spec()
    spec["channels"][0]["samples"][0]["modifiers"].append(modifier)
    return spec


def _with_fixed() -> dict[str, Any]:
    spec = toy_spec()
    spec["measurements"][0]["config"]["parameters"].append({"name": "correlated_bkg_uncertainty", "fixed": True})
    return spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (_shapesys_spec(), r"'shapesys'.*supported modifier types: histosys, normsys, normfactor"),
        (
            _with_modifier({"name": "lumi", "type": "lumi", "data": None}),
            r"'lumi'.*supported modifier types: histosys, normsys, normfactor",
        ),
        (_with_modifier({"name": "k", "type": "normfactor", "data": None}), r"normfactor 'k' .* is not the POI 'mu'"),
        (_with_fixed(), r"sets \['fixed'\]"),
    ],
)
def test_unsupported_workspaces_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        assemble.from_workspace(spec)


def test_normsys_workspace_equals_pyhf() -> None:
    """normsys (code4) on the signal and on the background, with a shared histosys: twice_nll at random points
    in every interpolation regime, and the free fit, equal pyhf's."""
    spec = _with_modifier({"name": "sig_norm", "type": "normsys", "data": {"hi": 1.2, "lo": 0.7}})
    bkg = spec["channels"][0]["samples"][1]
    bkg["modifiers"].append({"name": "bkg_norm", "type": "normsys", "data": {"hi": 1.1, "lo": 0.85}})
    bkg["modifiers"].append({"name": "sig_norm", "type": "normsys", "data": {"hi": 0.95, "lo": 1.05}})
    model, data = _pyhf(spec)
    lik, batch = assemble.from_workspace(spec)
    assert lik.nuisances == ("bkg_norm", "correlated_bkg_uncertainty", "sig_norm")
    rng = np.random.default_rng(11)
    for _ in range(20):
        theta, mu = rng.uniform(-3.0, 3.0, 3), rng.uniform(0.0, 3.0)
        ours = lik.twice_nll(batch, theta[None], mu)[0]
        assert ours == pytest.approx(float(-2.0 * model.logpdf(_pars(model, lik, theta, mu), data)[0]), abs=1e-9)
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    _, ref = pyhf.infer.mle.fit(data, model, return_fitted_val=True)
    assert lik.profile(batch).twice_nll[0] == pytest.approx(float(ref), abs=1e-6)


def test_per_row_data_need_matching_shapes() -> None:
    lik, batch = assemble.from_workspace(toy_spec())
    with pytest.raises(ConfigurationError, match="data must have shape"):
        lik.with_data(batch, np.zeros((3, 5)))
    with pytest.raises(ConfigurationError, match="aux must have shape"):
        lik.with_data(batch, np.zeros((3, 2)), np.zeros((2, 1)))
    with pytest.raises(ConfigurationError, match="give its value mu"):
        lik.twice_nll(batch, np.zeros((1, 1)))
    assert isinstance(batch, Batch)


@pytest.mark.skipif(
    NUMPY_2_4,
    reason="pyhf 0.7.6's toy calculator calls numpy.percentile(interpolation=...), removed in numpy 2.4; "
    "test_qtilde_equals_pyhf_qmu_tilde is the cross-check that always runs",
)
def test_toy_cls_agrees_with_pyhf_toy_calculator() -> None:
    """Same definitions: pyhf's expected_pvalues on our toys, and pyhf's own toys within statistical errors."""
    spec = toy_spec()
    model, data = _pyhf(spec)
    lik, batch = assemble.from_workspace(spec)
    mu, n_ours, n_pyhf = 1.0, 2000, 150
    dist = toys.toy_distributions(lik, batch, mu, n_toys=n_ours, seed=9)
    ours = toys.cls_from_toys(dist)
    calc = pyhf.infer.calculators.ToyCalculator(data, model, ntoys=n_pyhf, track_progress=False)
    sb = pyhf.infer.calculators.EmpiricalDistribution(dist.signal)
    b = pyhf.infer.calculators.EmpiricalDistribution(dist.background)
    _, _, cls_obs = calc.pvalues(dist.observed, sb, b)
    assert ours.observed == pytest.approx(float(cls_obs), rel=1e-12)
    exp_band = calc.expected_pvalues(sb, b)[2]
    assert ours.expected == pytest.approx([float(v) for v in exp_band], rel=1e-9)  # pyhf rounds Phi(n)
    # pyhf's own toys (its global random state, saved and restored here)
    state = np.random.get_state()  # noqa: NPY002
    try:
        np.random.seed(1)  # noqa: NPY002
        kwargs = {"calctype": "toybased", "ntoys": n_pyhf, "track_progress": False, "return_tail_probs": True}
        _, (clsb, clb) = pyhf.infer.hypotest(mu, data, model, test_stat="qtilde", **kwargs)
    finally:
        np.random.set_state(state)  # noqa: NPY002
    ref = float(clsb) / float(clb)
    sigma = ref * math.sqrt((1 - float(clsb)) / (n_pyhf * float(clsb)) + (1 - float(clb)) / (n_pyhf * float(clb)))
    assert abs(ours.observed - ref) < 3 * sigma + 0.01
