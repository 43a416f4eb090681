"""Profile-likelihood scans: the vectorised likelihood against pyhf, intervals, contours, executors, CLI."""

from __future__ import annotations

import json
import pickle
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner
from scipy import optimize

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis, HypothesisError, get_family
from cevns_hf.cli.scan import scan as scan_cmd
from cevns_hf.detectors import get_detector
from cevns_hf.detectors.csi2021 import CsI2021Config
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import likelihood, scan
from cevns_hf.inference.intervals import Interval, contours, intervals, level_value, marching_squares
from cevns_hf.inference.likelihood import Likelihood
from cevns_hf.inference.scan import profile_scan
from cevns_hf.templates.batch import grid_neutrino_samples
from cevns_hf.templates.histograms import Axis, Sample, Templates
from cevns_hf.workspace.build import build_workspace
from cevns_hf.workspace.hypothesis import hypothesis_workspace

EXPS = ["csi2021", "lar2020"]
SM_SIN2 = 0.23857


@pytest.fixture(scope="module", params=[False, True], ids=["normsys", "linear"])
def combined(request: pytest.FixtureRequest) -> Likelihood:
    """The default likelihood (normsys) and the linear mirror (linear_norms=True)."""
    return Likelihood.from_templates([detectors.templates(e) for e in EXPS], linear_norms=request.param)


def _pyhf_model(spec: dict) -> tuple[pyhf.pdf.Model, list[float]]:
    ws = pyhf.Workspace(spec)
    model = ws.model()
    return model, ws.data(model)


def _pars(model: pyhf.pdf.Model, values: dict[str, float]) -> np.ndarray:
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    for name, value in values.items():
        pars[model.config.par_slice(name)] = value
    return pars


def test_public_names() -> None:
    assert set(dir(likelihood)) == set(likelihood.__all__)
    assert set(dir(scan)) == set(scan.__all__)
    assert "profile_scan" in scan.__all__


def test_likelihood_equals_pyhf_at_any_nuisances_and_profiled(combined: Likelihood) -> None:
    """twice_nll at given nuisances (every code4p regime) and profiled, against the mu_bsm = 1 workspace."""
    points = {"eps_ee_u": [0.12, -0.3], "eps_ee_d": [0.05, 0.2]}
    batch = combined.batch([grid_neutrino_samples(get_detector(e), get_family("nsi"), points) for e in EXPS])
    prof = combined.profile(batch)
    assert np.all(prof.converged)
    rng = np.random.default_rng(3)
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    for i in range(2):
        hyp = Hypothesis.from_mapping("nsi", {k: v[i] for k, v in points.items()})
        model, data = _pyhf_model(hypothesis_workspace(EXPS, hyp, linear_norms=combined.linear_norms))
        theta = np.clip(rng.normal(0.0, 1.5, len(combined.nuisances)), combined.lower, combined.upper)
        pars = _pars(model, {"mu_bsm": 1.0, **dict(zip(combined.nuisances, theta, strict=True))})
        ours = combined.twice_nll(batch.take(np.array([i])), theta[None])[0]
        assert ours == pytest.approx(float(-2.0 * model.logpdf(pars, data)[0]), abs=1e-7)
        _, fitted = pyhf.infer.mle.fixed_poi_fit(1.0, data, model, return_fitted_val=True)
        assert prof.twice_nll[i] == pytest.approx(float(fitted), abs=1e-3)
        assert prof.twice_nll[i] <= float(fitted) + 1e-6  # our minimum is at least as deep


def test_derivatives_match_finite_differences(combined: Likelihood) -> None:
    batch = combined.batch(
        [grid_neutrino_samples(get_detector(e), get_family("nsi"), {"eps_ee_u": [0.1]}) for e in EXPS]
    )
    theta = np.array([[0.3, -0.2, 0.1, 0.4, -0.7, 0.2, 0.5, -1.4, 0.1, 0.9, -0.3, 0.2, 0.1, 1.7, -0.6, 0.2, -0.1]])
    value, grad, hess = combined.derivatives(batch, theta)
    assert value[0] == pytest.approx(combined.twice_nll(batch, theta)[0], rel=1e-13)
    step = 1e-6
    for k in range(theta.shape[1]):
        up, down = theta.copy(), theta.copy()
        up[0, k] += step
        down[0, k] -= step
        num = (combined.twice_nll(batch, up) - combined.twice_nll(batch, down))[0] / (2 * step)
        assert grad[0, k] == pytest.approx(num, abs=1e-4)
        _, g_up, _ = combined.derivatives(batch, up)
        _, g_down, _ = combined.derivatives(batch, down)
        assert hess[0, :, k] == pytest.approx((g_up - g_down)[0] / (2 * step), abs=1e-3)


def test_profile_honours_bounds() -> None:
    """A linear normalisation (the linear mirror) pushed below its bound -1/sigma stays there (compared with
    L-BFGS-B and pyhf); normsys needs no bound."""
    nominal = np.array([10.0, 20.0, 5.0])
    up, down = nominal + np.array([2.0, 1.0, 0.0]), nominal - np.array([1.0, 0.0, 0.5])
    sample = Sample("bkg", nominal, {"norm": 0.5}, {"shape": (up, down)})
    axis = Axis("energy", "", (0.0, 1.0, 2.0, 3.0))
    tmpl = Templates("toy", (axis,), (sample,), np.zeros(3))  # no events: the normalisation goes to its bound
    assert Likelihood.from_templates([tmpl], dynamic=()).lower.tolist() == [-5.0, -5.0]  # normsys: pyhf's default
    lik = Likelihood.from_templates([tmpl], dynamic=(), linear_norms=True)
    assert lik.lower.tolist() == [-2.0, -5.0]  # norm: -1/sigma; shape: pyhf's default
    prof = lik.profile(lik.batch([[]], size=1))
    assert prof.converged[0]
    assert prof.theta[0, 0] == -2.0
    assert prof.theta[0, 1] == pytest.approx(-1.5, abs=1e-6)  # beyond -1: linear, 2 x (-1) + 2 theta = 0

    def fun(t: np.ndarray) -> float:
        return float(lik.twice_nll(lik.batch([[]], size=1), t[None])[0])

    ref = optimize.minimize(fun, np.zeros(2), bounds=list(zip(lik.lower, lik.upper, strict=True)), method="L-BFGS-B")
    assert prof.twice_nll[0] <= ref.fun + 1e-9
    assert prof.twice_nll[0] == pytest.approx(ref.fun, abs=1e-6)
    spec = build_workspace([tmpl], normfactors={"bkg": "mu"}, poi="mu", linear_norms=True)
    model, data = _pyhf_model(spec)
    assert float(-2.0 * model.logpdf(_pars(model, {"norm": -2.0, "shape": 0.3}), data)[0]) == pytest.approx(
        fun(np.array([-2.0, 0.3])), abs=1e-9
    )


def test_weak_mixing_scan_csi2021() -> None:
    result = profile_scan(["csi2021"], "weak_mixing", {"sin2_theta_w": np.linspace(0.1, 0.45, 36)})
    assert np.all(result.converged)
    best = result.best_fit["sin2_theta_w"]
    assert 0.2 <= best <= 0.27
    assert float(np.min(result.delta_chi2)) == 0.0
    two_sigma = result.intervals("2sigma")
    assert any(iv.lo < SM_SIN2 < iv.hi for iv in two_sigma)
    one_sigma = result.intervals("1sigma")
    for ivs in (one_sigma, two_sigma):
        flat = [x for iv in ivs for x in iv]
        assert flat == sorted(flat)
        assert all(iv.lo < iv.hi for iv in ivs)
    # nested: every 1 sigma interval lies inside a 2 sigma one
    assert all(any(o.lo <= i.lo and i.hi <= o.hi for o in two_sigma) for i in one_sigma)


def test_nsi_eps_ee_u_has_two_disjoint_intervals() -> None:
    result = profile_scan(["csi2021"], "nsi", {"eps_ee_u": np.linspace(-0.2, 0.6, 41)})
    for level in ("1sigma", "90"):
        ivs = result.intervals(level)
        assert len(ivs) == 2, ivs
        (lo1, hi1), (lo2, hi2) = ivs
        assert lo1 < 0.0 < hi1 < lo2 < hi2
        assert 0.25 < (lo2 + hi2) / 2 < 0.45
        assert not any(iv.open_lo or iv.open_hi for iv in ivs)


def test_2d_contours_and_json_contract() -> None:
    grid = {"eps_ee_u": np.linspace(-0.3, 0.6, 10), "eps_ee_d": np.linspace(-0.3, 0.3, 7)}
    result = profile_scan(["csi2021"], "nsi", grid)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["parameters"] == ["eps_ee_u", "eps_ee_d"]
    assert np.asarray(payload["delta_chi2"]).shape == (10, 7)
    assert set(payload["best_fit"]) == {"eps_ee_u", "eps_ee_d", "twice_nll"}
    assert "intervals" not in payload
    assert set(payload["contours"]) == {"1sigma", "90", "2sigma"}
    assert set(payload["profiled_intervals"]) == {"eps_ee_u", "eps_ee_d"}
    for lines in payload["contours"].values():
        assert lines
        for line in lines:
            arr = np.asarray(line)
            assert arr.ndim == 2
            assert arr.shape[1] == 2
            eps = 1e-12  # contour points on the grid's edge, up to rounding
            assert np.all((arr[:, 0] >= -0.3 - eps) & (arr[:, 0] <= 0.6 + eps))
            assert np.all((arr[:, 1] >= -0.3 - eps) & (arr[:, 1] <= 0.3 + eps))
    # the marching-squares fallback draws the same points as contourpy
    for level in ("1sigma", "2sigma"):
        a = contours(grid["eps_ee_u"], grid["eps_ee_d"], result.delta_chi2, level)
        b = marching_squares(grid["eps_ee_u"], grid["eps_ee_d"], result.delta_chi2, level_value(level, 2))
        pa = np.unique(np.round(np.concatenate(a), 9), axis=0)
        pb = np.unique(np.round(np.concatenate(b), 9), axis=0)
        np.testing.assert_array_equal(pa, pb)


def test_marching_squares_circle_and_saddle() -> None:
    x = np.linspace(-2, 2, 41)
    z = np.add.outer(x**2, x**2)
    (circle,) = marching_squares(x, x, z, 1.0)
    assert np.array_equal(circle[0], circle[-1])  # closed
    assert np.allclose(np.hypot(circle[:, 0], circle[:, 1]), 1.0, atol=5e-3)
    saddle = marching_squares([0.0, 1.0], [0.0, 1.0], np.array([[0.0, 1.0], [1.0, 0.0]]), 0.5)
    assert len(saddle) == 2


def test_interval_extraction() -> None:
    x = np.linspace(-1.0, 3.0, 41)
    curve = np.minimum(x**2, (x - 2.0) ** 2 + 0.1) * 4.0
    ivs = intervals(x, curve, "1sigma")
    assert len(ivs) == 2
    assert ivs[0] == pytest.approx((-0.5, 0.5), abs=1e-2)
    assert ivs[1] == pytest.approx((2 - np.sqrt(0.15), 2 + np.sqrt(0.15)), abs=1e-2)
    assert ivs[0].hi < ivs[1].lo
    # open at the grid edge
    (edge,) = intervals(x, (x + 1.0) ** 2, 1.0)
    assert edge.lo == -1.0
    assert edge.open_lo
    assert not edge.open_hi
    assert edge.hi == pytest.approx(0.0, abs=1e-12)
    assert isinstance(edge, Interval)
    assert pickle.loads(pickle.dumps(edge)).open_lo
    # nothing below the level; non-finite points are excluded
    assert intervals(x, np.full_like(x, 10.0), "1sigma") == []
    curve_inf = (x - 1.0) ** 2
    curve_inf[x > 1.5] = np.inf
    (half,) = intervals(x, curve_inf, "1sigma")
    assert half.lo == pytest.approx(0.0, abs=1e-12)
    assert half.hi == pytest.approx(1.5)
    # log-spaced grid: interpolation in log10 x recovers a curve linear in log10 x exactly
    xl = np.geomspace(1.0, 1e4, 9)
    (logiv,) = intervals(xl, np.abs(np.log10(xl) - 2.0) * 2.0, "1sigma")
    assert logiv == pytest.approx((10**1.5, 10**2.5), rel=1e-9)
    assert level_value("90", 1) == pytest.approx(2.7055, abs=1e-4)
    assert level_value("2sigma", 2) == pytest.approx(6.18, abs=1e-2)
    with pytest.raises(ConfigurationError, match="unknown confidence level"):
        level_value("99.9")
    with pytest.raises(ConfigurationError, match="strictly increasing"):
        intervals([0.0, 0.0, 1.0], [0.0, 1.0, 2.0])


def test_thread_pool_and_chunks_equal_serial() -> None:
    grid = {"eps_ee_u": np.linspace(-0.3, 0.5, 9), "eps_ee_d": np.linspace(-0.2, 0.2, 5)}
    serial = profile_scan(EXPS, "nsi", grid, chunk=8)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = profile_scan(EXPS, "nsi", grid, chunk=8, executor=pool)
    assert np.array_equal(serial.twice_nll, threaded.twice_nll)
    assert np.array_equal(serial.theta, threaded.theta)


def test_local_dask_cluster_equals_serial() -> None:
    distributed = pytest.importorskip("dask.distributed")
    grid = {"sin2_theta_w": np.linspace(0.15, 0.35, 12)}
    serial = profile_scan(EXPS, "weak_mixing", grid, chunk=4)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        via_client = profile_scan(EXPS, "weak_mixing", grid, chunk=4, executor=client)
        via_executor = profile_scan(EXPS, "weak_mixing", grid, chunk=4, executor=client.get_executor())
    np.testing.assert_allclose(via_client.twice_nll, serial.twice_nll, rtol=0, atol=1e-12)
    np.testing.assert_allclose(via_executor.twice_nll, serial.twice_nll, rtol=0, atol=1e-12)


def test_without_es_equals_the_with_es_false_model() -> None:
    grid = {"sin2_theta_w": [0.2, 0.25]}
    with_es = profile_scan(["csi2021"], "weak_mixing", grid)
    without = profile_scan(["csi2021"], "weak_mixing", grid, without_es=True)
    assert without.without_es
    assert not np.array_equal(with_es.twice_nll, without.twice_nll)  # ES adds < 0.1 event to the region
    cfg = CsI2021Config(with_es=False)
    hyp = Hypothesis.from_mapping("weak_mixing", {"sin2_theta_w": 0.25})
    tmpl = detectors.get_detector("csi2021").configure(with_es=cfg.with_es).templates(hyp.model())
    assert "es" not in tmpl.sample_names
    model, data = _pyhf_model(build_workspace([tmpl]))
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    _, fitted = pyhf.infer.mle.fixed_poi_fit(1.0, data, model, return_fitted_val=True)
    assert without.twice_nll[1] == pytest.approx(float(fitted), abs=1e-3)


def test_profiled_physics_parameter() -> None:
    """eps_ee_d profiled (coarse grid + golden section) reaches the minimum of a fine 2D scan."""
    u = np.linspace(-0.1, 0.5, 4)
    fine = profile_scan(["csi2021"], "nsi", {"eps_ee_u": u, "eps_ee_d": np.linspace(-0.3, 0.3, 121)})
    profiled = profile_scan(
        ["csi2021"],
        "nsi",
        {"eps_ee_u": u},
        profile=["eps_ee_d"],
        profile_values={"eps_ee_d": np.linspace(-0.3, 0.3, 9)},
    )
    best_fine = np.min(fine.twice_nll, axis=1)
    assert np.all(profiled.twice_nll <= best_fine + 1e-6)
    assert np.allclose(profiled.twice_nll, best_fine, atol=2e-3)
    assert profiled.profiled["eps_ee_d"].shape == (4,)
    assert "eps_ee_d" in profiled.best_fit
    assert "profiled_values" in profiled.to_dict()


def test_bad_library_input() -> None:
    with pytest.raises(HypothesisError, match="unknown hypothesis family"):
        profile_scan(["csi2021"], "nope", {"x": [0.0]})
    with pytest.raises(HypothesisError, match="has no parameter"):
        profile_scan(["csi2021"], "nsi", {"eps_xx": [0.0]})
    with pytest.raises(HypothesisError, match="outside its physical range"):
        profile_scan(["csi2021"], "weak_mixing", {"sin2_theta_w": [0.2, 1.5]})
    with pytest.raises(ConfigurationError, match="strictly increasing"):
        profile_scan(["csi2021"], "nsi", {"eps_ee_u": [0.2, 0.1]})
    with pytest.raises(ConfigurationError, match="both a grid axis and fixed"):
        profile_scan(["csi2021"], "nsi", {"eps_ee_u": [0.1]}, fixed={"eps_ee_u": 0.2})
    with pytest.raises(ConfigurationError, match="not profiled"):
        profile_scan(["csi2021"], "nsi", {"eps_ee_u": [0.1]}, profile_values={"eps_ee_d": [0.0, 0.1]})
    with pytest.raises(ConfigurationError, match="unknown experiment"):
        profile_scan(["csi2099"], "nsi", {"eps_ee_u": [0.1]})


# --- CLI -----------------------------------------------------------------------------------------------

WM = ["--experiment", "csi2021", "--hypothesis-family", "weak_mixing", "--grid", "sin2_theta_w=0.15:0.35:11"]


def test_cli_json_contract() -> None:
    res = CliRunner().invoke(scan_cmd, [*WM, "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["parameters"] == ["sin2_theta_w"]
    assert payload["grid"]["sin2_theta_w"] == pytest.approx(np.linspace(0.15, 0.35, 11))
    assert len(payload["delta_chi2"]) == 11
    assert min(payload["delta_chi2"]) == 0.0
    assert set(payload["best_fit"]) == {"sin2_theta_w", "twice_nll"}
    assert set(payload["intervals"]) == {"1sigma", "90", "2sigma"}
    for ivs in payload["intervals"].values():
        assert all(len(iv) == 2 and iv[0] < iv[1] for iv in ivs)
    text = CliRunner().invoke(scan_cmd, WM)
    assert text.exit_code == 0
    assert "best fit: sin2_theta_w" in text.stdout
    assert "2sigma" in text.stdout


def test_cli_without_es_and_2d() -> None:
    res = CliRunner().invoke(
        scan_cmd,
        [
            "--experiment",
            "csi2021",
            "--hypothesis-family",
            "nsi",
            "--grid",
            "eps_ee_u=-0.2:0.5:6",
            "--grid",
            "eps_ee_d=-0.2:0.2:4",
            "--fixed",
            "eps_mumu_u=0.01",
            "--without-es",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["without_es"] is True
    assert payload["fixed"] == {"eps_mumu_u": 0.01}
    assert np.asarray(payload["delta_chi2"]).shape == (6, 4)
    assert "contours" in payload


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--hypothesis-family", "nope", "--grid", "x=0:1:3"], "unknown hypothesis family"),
        (["--hypothesis-family", "nsi", "--grid", "eps_xx=0:1:3"], "has no parameter 'eps_xx'"),
        (["--hypothesis-family", "nsi", "--grid", "eps_ee_u=0:1"], "expects name=lo:hi:n"),
        (["--hypothesis-family", "nsi", "--grid", "eps_ee_u=0:1:3", "--log", "eps_ee_d"], "--log"),
        (["--hypothesis-family", "nsi", "--grid", "eps_ee_u=0:1:3", "--fixed", "eps_ee_u=0.1"], "both a grid"),
        (["--hypothesis-family", "nsi", "--grid", "eps_ee_u=0:1:3", "--workers", "2", "--scheduler", "x:1"], "either"),
    ],
)
def test_cli_bad_input_exit_code_2(args: list[str], message: str) -> None:
    res = CliRunner().invoke(scan_cmd, ["--experiment", "csi2021", *args])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_cli_output_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "scan.json"
    res = CliRunner().invoke(scan_cmd, [*WM, "--output", str(out)])
    assert res.exit_code == 0, res.output
    first = json.loads(out.read_text())
    assert first["parameters"] == ["sin2_theta_w"]
    again = CliRunner().invoke(scan_cmd, [*WM, "--output", str(out)])
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output
    forced = CliRunner().invoke(scan_cmd, [*WM, "--output", str(out), "--force", "--json"])
    assert forced.exit_code == 0
    assert json.loads(out.read_text()) == json.loads(forced.stdout)


def test_cli_local_dask_workers_equal_serial() -> None:
    pytest.importorskip("dask.distributed")
    args = ["--experiment", "csi2021+lar2020", "--hypothesis-family", "weak_mixing", "--grid", "sin2_theta_w=0.2:0.3:5"]
    serial = CliRunner().invoke(scan_cmd, [*args, "--json"])
    parallel = CliRunner().invoke(scan_cmd, [*args, "--json", "--workers", "2", "--chunk", "2"])
    assert parallel.exit_code == 0, parallel.output
    assert json.loads(parallel.stdout) == json.loads(serial.stdout)


def test_cli_profile_with_inner_grid() -> None:
    res = CliRunner().invoke(
        scan_cmd,
        [
            "--experiment",
            "csi2021",
            "--hypothesis-family",
            "light_vector",
            "--grid",
            "g_nu=0:0.0001:3",
            "--profile",
            "mass_mev=1:1000:7",
            "--log",
            "mass_mev",
            "--fixed",
            "g_q=0.0001",
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    payload = json.loads(res.stdout)
    assert payload["profiled"] == ["mass_mev"]
    assert all(1.0 <= m <= 1000.0 for m in payload["profiled_values"]["mass_mev"])
    assert "mass_mev" in payload["best_fit"]


def test_polynomial_basis_scan_on_dask_equals_serial_bit_for_bit() -> None:
    """NSI through the exact basis (built per chunk box in each worker): a 2-process cluster gives the same bits."""
    distributed = pytest.importorskip("dask.distributed")
    grid = {"eps_ee_u": np.linspace(-0.5, 0.5, 12), "eps_ee_d": np.linspace(-0.5, 0.5, 12)}
    serial = profile_scan(("csi2021", "lar2020"), "nsi", grid, exact=False, chunk=72)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        parallel = profile_scan(("csi2021", "lar2020"), "nsi", grid, exact=False, chunk=72, executor=client)
    assert np.array_equal(parallel.twice_nll, serial.twice_nll)
