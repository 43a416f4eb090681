"""The compiled profile engine equals the numpy reference engine (same algorithm, same minima)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis, get_family
from cevns_hf.detectors import get_detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import assemble, kernel
from cevns_hf.inference.kernel import layout, model, newton
from cevns_hf.inference.likelihood import Batch, Likelihood, Profile
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.templates.batch import grid_neutrino_samples
from cevns_hf.workspace.build import build_workspace
from cevns_hf.workspace.hypothesis import linear_workspace

pytestmark = pytest.mark.skipif(not kernel.available, reason="numba does not import")  # it is a dependency


def _both(lik: Likelihood, batch: Batch, theta0: Any, **kw: Any) -> tuple[Profile, Profile]:
    return lik.profile(batch, theta0, engine="compiled", **kw), lik.profile(batch, theta0, engine="numpy", **kw)


def _agree(fast: Profile, ref: Profile, *, atol: float = 1e-8, theta_atol: float = 1e-5) -> None:
    """Same convergence, same minima: 2NLL to ``atol``, the nuisances (and fitted POIs) to ``theta_atol``."""
    np.testing.assert_array_equal(fast.converged, ref.converged)
    ok = ref.converged
    np.testing.assert_allclose(fast.twice_nll[ok], ref.twice_nll[ok], rtol=0, atol=atol)
    np.testing.assert_allclose(fast.theta[ok], ref.theta[ok], rtol=0, atol=theta_atol)
    if ref.mu is not None:
        assert fast.mu is not None
        np.testing.assert_allclose(fast.mu[ok], ref.mu[ok], rtol=0, atol=theta_atol)


@pytest.fixture(scope="module")
def nsi() -> HypothesisLikelihood:
    return HypothesisLikelihood.build(("csi2021", "lar2020"), "nsi")


def test_public_names() -> None:
    for module in (kernel, layout, model, newton):
        assert set(dir(module)) == set(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)


def test_scan_rows_of_a_polynomial_basis(nsi: HypothesisLikelihood) -> None:
    """The rows of a 2D NSI scan (one-row arrays, per-row monomial weights; CsI and LAr as blocks)."""
    rng = np.random.default_rng(11)
    values = {"eps_ee_u": rng.uniform(-0.5, 0.5, 300), "eps_ee_d": rng.uniform(-0.5, 0.5, 300)}
    rows, to_poi = nsi._basis_rows(values)
    batch = rows.fold(to_poi(values))
    fast, ref = _both(nsi.likelihood, batch, nsi.theta0)
    assert ref.converged.all()
    _agree(fast, ref)


def test_rows_with_their_own_templates() -> None:
    """Hypotheses whose templates come from the rate engine (H-row arrays): a light vector mass scan."""
    hyp = HypothesisLikelihood.build(("csi2021",), "light_vector")
    values = {"mass_mev": np.geomspace(1.0, 1000.0, 16), "g_nu": np.full(16, 3e-5), "g_q": np.full(16, 3e-5)}
    samples = [grid_neutrino_samples(get_detector("csi2021"), get_family("light_vector"), values)]
    batch = hyp.likelihood.batch(samples)
    assert any(p.nominal.shape[0] == 16 for p in batch.parts)
    fast, ref = _both(hyp.likelihood, batch, hyp.theta0)
    assert ref.converged.all()
    _agree(fast, ref)


def test_toys_with_per_row_data_and_auxiliaries() -> None:
    hyp = HypothesisLikelihood.build(("csi2021", "lar2020"), "weak_mixing")
    lik = hyp.likelihood
    batch, _, _ = hyp.basis_batch(("sin2_theta_w",), ((0.2, 0.3),))
    folded = batch.fold(np.linspace(-0.5, 0.5, 40)[:, None])
    theta = np.broadcast_to(hyp.theta0, (40, hyp.theta0.size))
    rng = np.random.default_rng(5)
    data = rng.poisson(lik.expected(folded, theta)).astype(float)
    toy = lik.with_data(folded, data, rng.normal(hyp.theta0, 1.0, size=theta.shape))
    fast, ref = _both(lik, toy, theta)
    assert ref.converged.all()
    _agree(fast, ref)


def test_free_fits_of_several_pois(nsi: HypothesisLikelihood) -> None:
    """Free fits in the two scaled NSI couplings (monomial weights up to degree 2), from several starts."""
    batch, _, _ = nsi.basis_batch(("eps_ee_u", "eps_ee_d"), ((-0.5, 0.5), (-0.5, 0.5)))
    starts = np.array([[0.0, 0.0], [0.5, -0.5], [-0.8, 0.3], [0.9, 0.9]])
    bounds = (-np.ones(2), np.ones(2))
    fast, ref = _both(nsi.likelihood, batch, nsi.theta0, mu0=starts, poi_bounds=bounds)
    assert ref.converged.sum() >= 3
    _agree(fast, ref, atol=1e-7, theta_atol=1e-4)


@pytest.mark.parametrize("name", ["sm", "linear"])
def test_workspaces_fixed_and_free_poi(name: str) -> None:
    """A workspace's likelihood (normfactor POI; the linear mirror has histosys normalisations only)."""
    hyp = Hypothesis.from_mapping("magnetic_moment", {"mu_nu_mu": 3e-9})
    spec = (
        build_workspace([detectors.templates("csi2021")])
        if name == "sm"
        else linear_workspace(["csi2021"], hyp, "mu_nu_mu_sq").spec
    )
    lik, batch = assemble.from_workspace(spec)
    mus = np.array([0.0, 0.5, 1.0, 2.0, 4.0])
    fast, ref = _both(lik, batch.take(np.zeros(mus.size, dtype=int)), None, mu=mus)
    _agree(fast, ref)
    fast, ref = _both(lik, batch, None)
    assert ref.converged.all()
    _agree(fast, ref, atol=1e-7, theta_atol=1e-4)


def test_linear_mirror_likelihood() -> None:
    hyp = HypothesisLikelihood.build(("csi2021", "lar2020"), "nsi", linear_norms=True)
    values = {"eps_ee_u": np.linspace(-0.4, 0.4, 30), "eps_ee_d": np.linspace(0.3, -0.3, 30)}
    rows, to_poi = hyp._basis_rows(values)
    fast, ref = _both(hyp.likelihood, rows.fold(to_poi(values)), hyp.theta0)
    assert ref.converged.all()
    _agree(fast, ref)


def test_merged_groups_reproduce_the_expected_counts(nsi: HypothesisLikelihood) -> None:
    """The layout merges groups with equal normsys factors per row; lambda is unchanged."""
    values = {"eps_ee_u": np.array([0.1, -0.3]), "eps_ee_d": np.array([0.2, 0.05])}
    rows, to_poi = nsi._basis_rows({k: np.linspace(-0.5, 0.5, 20) for k in values})
    batch = rows.fold(to_poi(values))
    lik = nsi.likelihood
    n_k = len(lik.nuisances)
    packed = layout.pack(batch.parts, n_k, 0, lik.n_bins)
    n_groups = sum(p.nominal.shape[1] for p in batch.parts)
    assert packed.merged[1].size - 1 < n_groups / 2  # e.g. the 6 monomials of a sample become one group
    theta = np.random.default_rng(3).uniform(-1.5, 1.5, (2, n_k))
    for h in range(2):
        merged_rows = (
            np.zeros((packed.merged[1].size - 1, lik.n_bins)),
            np.zeros((packed.merged[0].size, lik.n_bins)),
            np.zeros((packed.merged[0].size, lik.n_bins)),
        )
        for src in packed.sources:
            model.merge.py_func(h, src, *merged_rows)
        scratch = [np.empty(0)] * 11
        scratch[0], scratch[1] = np.empty(n_k), np.empty(lik.n_bins)
        n_m = merged_rows[0].shape[0]
        scratch[2], scratch[3], scratch[4] = np.empty((n_m, lik.n_bins)), np.empty(n_m), np.empty(n_m)
        scratch[5] = scratch[6] = np.empty(packed.merged[3].size)
        scratch[7], scratch[8] = np.empty(n_k), np.empty(n_k)
        scratch[9], scratch[10] = np.empty(0), np.empty((0, 0))
        model.rates.py_func(theta[h], n_k, packed.merged, merged_rows, tuple(scratch), False)
        expected = lik.expected(batch.take(np.array([h])), theta[h : h + 1])[0]
        np.testing.assert_allclose(scratch[1], expected, rtol=1e-12)


def test_results_do_not_depend_on_the_number_of_threads(
    nsi: HypothesisLikelihood, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(4)
    values = {"eps_ee_u": rng.uniform(-0.5, 0.5, 256), "eps_ee_d": rng.uniform(-0.5, 0.5, 256)}
    rows, to_poi = nsi._basis_rows(values)
    batch = rows.fold(to_poi(values))
    runs = []
    for n in ("1", "3"):
        monkeypatch.setenv(newton.THREADS_ENV, n)
        assert newton.threads() == int(n)
        runs.append(nsi.likelihood.profile(batch, nsi.theta0))
    np.testing.assert_array_equal(runs[0].twice_nll, runs[1].twice_nll)
    np.testing.assert_array_equal(runs[0].theta, runs[1].theta)


@pytest.mark.parametrize("raw", ["0", "-2", "two", "1.5"])
def test_a_bad_thread_count_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv(newton.THREADS_ENV, raw)
    with pytest.raises(ConfigurationError, match=rf"CEVNS_HF_THREADS must be a positive integer.*got '{raw}'"):
        newton.threads()


def test_structures_kept_between_folds_take_the_new_row_weights(nsi: HypothesisLikelihood) -> None:
    """Blocks, restrictions and layouts are kept by array identity; each fold's own weights must be used."""
    rows, to_poi = nsi._basis_rows({k: np.linspace(-0.5, 0.5, 20) for k in ("eps_ee_u", "eps_ee_d")})
    lik = nsi.likelihood
    for u, d in ((0.3, -0.2), (-0.4, 0.1), (0.3, -0.2)):
        values = {"eps_ee_u": np.full(3, u), "eps_ee_d": np.full(3, d)}
        fast = lik.profile(rows.fold(to_poi(values)), nsi.theta0)
        fresh = lik.profile(nsi._basis_rows({k: np.linspace(-0.5, 0.5, 20) for k in values})[0].fold(to_poi(values)),
                            nsi.theta0, engine="numpy")  # fmt: skip
        np.testing.assert_allclose(fast.twice_nll, fresh.twice_nll, rtol=0, atol=1e-8)


def test_an_unknown_engine_is_refused(nsi: HypothesisLikelihood) -> None:
    batch, _, _ = nsi.basis_batch(("eps_ee_u",), ((-0.5, 0.5),))
    with pytest.raises(ConfigurationError, match=r"engine must be one of compiled, numpy, got 'fast'"):
        nsi.likelihood.profile(batch.fold(np.zeros((1, 1))), engine="fast")  # type: ignore[arg-type]
