"""Feldman-Cousins from the engine's toys: critical values against the asymptotic limits they must reach."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from cevns_hf.cli import cli
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.feldman_cousins import fc_statistic, feldman_cousins
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.inference.scan import profile_scan

EXPERIMENTS = ("csi2021", "lar2020")


@pytest.fixture(scope="module")
def weak_mixing() -> HypothesisLikelihood:
    return HypothesisLikelihood.build(EXPERIMENTS, "weak_mixing")


def test_wilks_regime_gives_chi2_quantiles(weak_mixing: HypothesisLikelihood) -> None:
    """sin2 theta_W far from any boundary, one minimum: FC critical values approach chi2(1 dof) quantiles."""
    fc = feldman_cousins(weak_mixing, {"sin2_theta_w": np.linspace(0.15, 0.35, 5)}, n_toys=300, seed=11)
    c68, c90 = fc.critical["1sigma"], fc.critical["90"]
    # 300 toys: the 68% (90%) quantile of chi2(1) is 0.99 (2.71), known here to about +-0.15 (+-0.4)
    assert abs(float(np.median(c68)) - 0.989) < 0.3
    assert abs(float(np.median(c90)) - 2.706) < 0.7
    scan = profile_scan(EXPERIMENTS, "weak_mixing", {"sin2_theta_w": np.linspace(0.15, 0.35, 5)}, exact=False)
    # t_obs is Delta chi2 from the free minimum, which is at or below the grid minimum
    shift = fc.t_obs - scan.delta_chi2
    assert np.all(shift >= -1e-6)
    assert np.ptp(shift) < 1e-6
    lo, hi = fc.intervals("90")[0]
    assert lo < fc.best_fit["sin2_theta_w"] < hi


def test_boundary_halves_the_distribution() -> None:
    """mu_nu_mu >= 0 with the true value at the boundary: t is 1/2 delta(0) + 1/2 chi2(1), 90% quantile 1.64."""
    model = HypothesisLikelihood.build(EXPERIMENTS, "magnetic_moment")
    fc = feldman_cousins(model, {"mu_nu_mu": np.linspace(0.0, 4e-9, 3)}, n_toys=400, seed=3, levels=("90",))
    at_zero = float(fc.critical["90"][0])
    assert 1.0 < at_zero < 2.4, at_zero  # chi2(1) would give 2.71
    assert float(fc.critical["90"][-1]) > at_zero  # away from the boundary the full chi2 returns


def test_same_seed_same_toys_and_statistic_non_negative(weak_mixing: HypothesisLikelihood) -> None:
    grid = {"sin2_theta_w": np.linspace(0.2, 0.3, 3)}
    a = feldman_cousins(weak_mixing, grid, n_toys=20, seed=5)
    b = feldman_cousins(weak_mixing, grid, n_toys=20, seed=5)
    c = feldman_cousins(weak_mixing, grid, n_toys=20, seed=6)
    np.testing.assert_array_equal(a.critical["90"], b.critical["90"])
    assert not np.array_equal(a.critical["90"], c.critical["90"])
    batch, _, _ = weak_mixing.basis_batch(("sin2_theta_w",), ((0.2, 0.3),))
    lik = weak_mixing.likelihood
    y = np.zeros((4, 1))
    lam = lik.expected(batch.fold(y), np.broadcast_to(weak_mixing.theta0, (4, weak_mixing.theta0.size)))
    data = np.random.default_rng(0).poisson(lam)
    theta = np.broadcast_to(weak_mixing.theta0, (4, weak_mixing.theta0.size)).copy()
    t, where, _ = fc_statistic(weak_mixing, batch, y, data.astype(float), np.zeros_like(theta), theta, [])
    assert np.all(t >= 0)
    assert np.all(np.abs(where) <= 1)


def test_fc_refuses_what_it_cannot_do(weak_mixing: HypothesisLikelihood) -> None:
    radius = HypothesisLikelihood.build(("lar2020",), "neutron_radius")
    with pytest.raises(ConfigurationError, match="polynomial"):
        feldman_cousins(radius, {"r_n_ar": [3.0, 3.5, 4.0]}, n_toys=20)
    with pytest.raises(ConfigurationError, match="at least 10 toys"):
        feldman_cousins(weak_mixing, {"sin2_theta_w": [0.2, 0.3]}, n_toys=3)
    with pytest.raises(ConfigurationError, match="unknown confidence level"):
        feldman_cousins(weak_mixing, {"sin2_theta_w": [0.2, 0.3]}, n_toys=20, levels=("bogus",))


def test_cli_scan_fc_writes_fc_next_to_wilks(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "scan.json"
    args = ["scan", "--experiment", "lar2020", "--hypothesis-family", "weak_mixing"]
    args += ["--grid", "sin2_theta_w=0.1:0.4:4", "--fc", "--toys", "20", "-o", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    payload = json.loads(out.read_text())
    fc = payload["feldman_cousins"]
    assert fc["n_toys"] == 20
    assert set(fc["intervals"]) == {"1sigma", "90"}
    assert len(fc["critical"]["90"]) == 4
    assert fc["wilks_intervals"]["90"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hypothesis-family", "neutron_radius", "--grid", "r_n_ar=3:4:3"], "polynomial"),
        (["--hypothesis-family", "nsi", "--grid", "eps_ee_u=-1:1:3", "--profile", "eps_ee_d"], "--profile"),
        (["--hypothesis-family", "weak_mixing", "--grid", "sin2_theta_w=0.2:0.3:3", "--toys", "5"], "--toys"),
    ],
)
def test_cli_fc_bad_inputs(tmp_path, extra: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    res = CliRunner().invoke(cli, ["scan", "--experiment", "lar2020", *extra, "--fc", "-o", str(tmp_path / "x.json")])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output
    assert not (tmp_path / "x.json").exists()


def test_two_dimensional_regions() -> None:
    """NSI (eps_ee_u, eps_ee_d) on LAr: a 2D construction with two free POIs; the best-fit cell is accepted."""
    model = HypothesisLikelihood.build(("lar2020",), "nsi")
    grid = {"eps_ee_u": np.linspace(-0.3, 0.3, 4), "eps_ee_d": np.linspace(-0.3, 0.3, 3)}
    fc = feldman_cousins(model, grid, n_toys=20, seed=2, levels=("90",))
    assert fc.t_obs.shape == (4, 3)
    assert fc.critical["90"].shape == (4, 3)
    assert np.all(fc.critical["90"] >= 0)
    assert fc.accepted("90")[np.unravel_index(np.argmin(fc.t_obs), fc.t_obs.shape)]
    payload = fc.to_dict()
    assert "accepted" in payload
    assert "wilks_accepted" in payload
    with pytest.raises(ConfigurationError, match="1D"):
        fc.intervals("90")
