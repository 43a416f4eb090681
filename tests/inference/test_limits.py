"""CLs and profile-likelihood limits, exclusion contours and the ``cevns-hf limit`` command.

Measured on CsI 2021 (90% CL, asymptotic): |mu_nu_mu| < 2.12e-9 mu_B (CLs on mu_nu_mu^2, expected median
2.13e-9) and 2.11e-9 mu_B (profile likelihood); eps_ee_u in [-0.061, 0.092] U [0.300, 0.449] (profile).
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis, get_family
from cevns_hf.cli.limit import limit as limit_cmd
from cevns_hf.exceptions import CevnsHFError, ConfigurationError
from cevns_hf.inference import cls, limits, reference_point, results
from cevns_hf.workspace.hypothesis import hypothesis_workspace, linear_workspace

MM_REFERENCE = 2.57e-9  # mu_B: the automatic reference of mu_nu_mu for CsI 2021 (~30% rate change)


def _simple_spec(observed: tuple[float, float] = (51.0, 48.0)) -> dict[str, Any]:
    """A two-bin counting workspace (pyhf's documented example): fast fits for toys."""
    model = pyhf.simplemodels.uncorrelated_background(signal=[12.0, 11.0], bkg=[50.0, 52.0], bkg_uncertainty=[3.0, 7.0])
    return {
        "channels": model.spec["channels"],
        "observations": [{"name": "singlechannel", "data": list(observed)}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


@pytest.fixture(scope="module")
def mm_cls() -> results.ParameterLimit:
    return limits.parameter_limit("csi2021", "magnetic_moment", "mu_nu_mu", method="cls")


@pytest.fixture(scope="module")
def mm_profile() -> results.ParameterLimit:
    return limits.parameter_limit("csi2021", "magnetic_moment", "mu_nu_mu", method="profile", n_grid=24)


@pytest.fixture(scope="module")
def mm_linear_spec() -> dict[str, Any]:
    hyp = Hypothesis.from_mapping("magnetic_moment", {"mu_nu_mu": MM_REFERENCE})
    return linear_workspace(["csi2021"], hyp, "mu_nu_mu_sq").spec


# ------------------------------------------------------------------------------------------------ CLs machinery


def test_public_names() -> None:
    assert set(dir(limits)) == set(limits.__all__)
    for name in limits.__all__:
        assert hasattr(limits, name)


@pytest.mark.slow
def test_asymptotic_limit_honours_cl_and_matches_pyhf() -> None:
    spec = _simple_spec()
    ws = pyhf.Workspace(spec)
    model = ws.model()
    data = ws.data(model)
    for cl in (0.9, 0.95):
        ours = cls.cls_upper_limit(spec, cl=cl, rtol=1e-4)
        pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
        obs, exp = pyhf.infer.intervals.upper_limits.toms748_scan(
            data, model, 0.0, 5.0, level=1.0 - cl, rtol=1e-4, test_stat="qtilde"
        )
        assert ours.observed == pytest.approx(float(obs), rel=1e-3)
        assert ours.expected == pytest.approx([float(e) for e in exp], rel=1e-3)
        assert list(ours.expected) == sorted(ours.expected)
        at_limit = cls.cls_hypotest(spec, ours.observed)
        assert at_limit.observed == pytest.approx(1.0 - cl, rel=2e-3)
    # a scan interpolated in ln CLs agrees with the root finding
    scanned = cls.cls_upper_limit(spec, cl=0.95, scan=np.linspace(0.25, 3.0, 12))
    assert scanned.observed == pytest.approx(ours.observed, rel=1e-2)
    assert len(scanned.points) == 12
    json.dumps(ours.to_dict())


def test_scan_not_reaching_the_level_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match="extend the scan"):
        cls.cls_upper_limit(_simple_spec(), scan=[0.1, 0.2])


def test_backend_is_restored() -> None:
    pyhf.set_backend("numpy", pyhf.optimize.minuit_optimizer())
    try:
        cls.cls_hypotest(_simple_spec(), 1.0)
        assert isinstance(pyhf.get_backend()[1], pyhf.optimize.minuit_optimizer)
    finally:
        pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    with pytest.raises(ConfigurationError, match="valid choices: numpy"):
        cls.cls_hypotest(_simple_spec(), 1.0, backend="abacus")


# ------------------------------------------------------------------------------------------------ toys


def _toy_spec(scale: float = 1.0) -> dict[str, Any]:
    """pyhf's two-bin example with a histosys background uncertainty (toys run on the likelihood engine)."""
    model = pyhf.simplemodels.correlated_background(
        signal=[12.0 * scale, 11.0 * scale],
        bkg=[50.0 * scale, 52.0 * scale],
        bkg_up=[45.0 * scale, 57.0 * scale],
        bkg_down=[55.0 * scale, 47.0 * scale],
    )
    return {
        "channels": model.spec["channels"],
        "observations": [{"name": "single_channel", "data": [51.0 * scale, 48.0 * scale]}],
        "measurements": [{"name": "meas", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }


def test_toys_refuse_modifiers_the_engine_does_not_reproduce() -> None:
    with pytest.raises(
        ConfigurationError, match=r"'shapesys'.*supported modifier types: histosys, normsys, normfactor"
    ) as info:
        cls.cls_hypotest(_simple_spec(), 1.0, method="toys", n_toys=20, seed=1)
    assert isinstance(info.value, CevnsHFError)
    with pytest.raises(ConfigurationError, match="n_toys"):
        cls.cls_hypotest(_toy_spec(), 1.0, method="toys", n_toys=0)


def test_toys_seeded_reproducible_and_global_state_untouched() -> None:
    spec = _toy_spec()
    np.random.seed(123)  # noqa: NPY002 - the global state must stay as it is
    before: Any = np.random.get_state()  # noqa: NPY002
    a = cls.cls_upper_limit(spec, method="toys", n_toys=200, seed=42, scan=[0.5, 1.5, 3.0])
    after: Any = np.random.get_state()  # noqa: NPY002
    assert before[0] == after[0]
    assert np.array_equal(before[1], after[1])
    assert before[2:] == after[2:]
    b = cls.cls_upper_limit(spec, method="toys", n_toys=200, seed=42, scan=[3.0, 1.5, 0.5])
    assert a == b  # same values, independent of the scan order
    assert cls.cls_hypotest(spec, 1.5, method="toys", n_toys=200, seed=42) == a.points[1]
    assert cls.cls_hypotest(spec, 1.5, method="toys", n_toys=200, seed=43) != a.points[1]
    assert a.to_dict()["seed"] == 42
    assert a.to_dict()["n_toys"] == 200


def _tail_sigma(spec: dict[str, Any], mu: float, n: int, cls_value: float) -> float:
    """Binomial error of CLs = CLs+b / CLb from n toys each (tail probabilities from the asymptotics)."""
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    ws = pyhf.Workspace(spec)
    model = ws.model()
    _, (clsb, clb) = pyhf.infer.hypotest(mu, ws.data(model), model, test_stat="qtilde", return_tail_probs=True)
    return cls_value * math.sqrt((1 - float(clsb)) / (n * float(clsb)) + (1 - float(clb)) / (n * float(clb)))


def test_toys_agree_with_asymptotics_high_counts() -> None:
    """500-1000 events per bin: the asymptotic formulae hold; 4000 toys (~1 s)."""
    spec = _toy_spec(scale=10.0)
    mu, n = 0.3, 4000
    asym = cls.cls_hypotest(spec, mu)
    toys = cls.cls_hypotest(spec, mu, method="toys", n_toys=n, seed=5)
    sigma = _tail_sigma(spec, mu, n, asym.observed)
    assert abs(toys.observed - asym.observed) < 3 * sigma
    assert toys.expected[2] == pytest.approx(asym.expected[2], abs=0.03)
    assert toys.expected[1] <= toys.expected[2] <= toys.expected[3]


@pytest.mark.slow
def test_toys_agree_with_asymptotics_csi(mm_linear_spec: dict[str, Any]) -> None:
    """Toys on the CsI 2021 mu_nu_mu^2 workspace (500 toys, ~2 s); POI 2.5 has CLs ~ 0.3."""
    mu, n = 2.5, 500
    asym = cls.cls_hypotest(mm_linear_spec, mu)
    toys = cls.cls_hypotest(mm_linear_spec, mu, method="toys", n_toys=n, seed=11)
    sigma = _tail_sigma(mm_linear_spec, mu, n, asym.observed)
    assert abs(toys.observed - asym.observed) < 3 * sigma + 0.02


# ------------------------------------------------------------------------------------------------ parameter limits


def test_reference_value_changes_rate_by_20_to_50_percent() -> None:
    ref = limits.reference_value("csi2021", "magnetic_moment", "mu_nu_mu")
    change = reference_point._rate_changes(
        detectors.resolve("csi2021"), get_family("magnetic_moment"), "mu_nu_mu", np.asarray([ref]), {}
    )
    assert 0.2 <= float(change[0]) <= 0.5
    assert ref == pytest.approx(MM_REFERENCE, rel=0.01)


@pytest.mark.slow
def test_magnetic_moment_cls(mm_cls: results.ParameterLimit) -> None:
    upper = mm_cls.upper_limit
    assert upper is not None
    assert math.isfinite(upper)
    assert 1e-10 < upper < 1e-7  # published CsI+LAr: |mu_nu_mu| < (2-6)e-9 mu_B at 90% CL
    assert mm_cls.lower_limit == -upper  # only mu^2 enters
    assert mm_cls.unit == "mu_B"
    assert mm_cls.expected_upper is not None
    assert list(mm_cls.expected_upper) == sorted(mm_cls.expected_upper)
    assert mm_cls.expected_upper[0] < upper < mm_cls.expected_upper[4]
    d = mm_cls.to_dict()
    assert d["linear_poi"] == "mu_nu_mu_sq"
    assert d["linear_upper_limit"] == pytest.approx(upper**2, rel=1e-9)
    assert d["poi_upper_limit"] * d["poi_scale"] == pytest.approx(upper**2, rel=1e-9)
    json.dumps(d, allow_nan=False)


@pytest.mark.slow
def test_magnetic_moment_profile(mm_profile: results.ParameterLimit, mm_cls: results.ParameterLimit) -> None:
    upper = mm_profile.upper_limit
    assert upper is not None
    assert 1e-10 < upper < 1e-7
    assert mm_profile.lower_limit == -upper
    assert mm_profile.threshold == pytest.approx(2.7055, abs=1e-4)
    assert mm_profile.best_fit is not None
    assert abs(mm_profile.best_fit) < upper
    assert mm_cls.upper_limit is not None
    assert 0.5 < upper / mm_cls.upper_limit < 2.0
    scan = mm_profile.details["scan"]
    assert min(scan["delta_chi2"]) == pytest.approx(0.0, abs=1e-6)
    assert mm_profile.details["sign_symmetric"]
    json.dumps(mm_profile.to_dict(), allow_nan=False)


@pytest.mark.slow
def test_nsi_eps_ee_u_profile_both_ends() -> None:
    result = limits.parameter_limit("csi2021", "nsi", "eps_ee_u", n_grid=24)
    assert result.lower_limit is not None
    assert result.upper_limit is not None
    assert result.lower_limit < 0 < result.upper_limit
    assert not result.details["sign_symmetric"]
    assert result.allowed[0][0] == result.lower_limit
    assert result.allowed[-1][1] == result.upper_limit
    # Delta chi2 at the upper limit, from an independent pyhf fit, is the threshold
    spec = hypothesis_workspace(["csi2021"], Hypothesis.from_mapping("nsi", {"eps_ee_u": result.upper_limit}))
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    ws = pyhf.Workspace(spec)
    model = ws.model()
    _, twice_nll = pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model, return_fitted_val=True)
    delta = float(twice_nll) - result.details["twice_nll_min"]
    assert delta == pytest.approx(result.threshold, abs=0.02)


def test_bad_inputs_library() -> None:
    with pytest.raises(ConfigurationError, match="valid parameters"):
        limits.parameter_limit("csi2021", "magnetic_moment", "mu_tau")
    with pytest.raises(ConfigurationError, match=r"Parameters with a linear POI: .*eps_emu_u"):
        limits.parameter_limit("csi2021", "nsi", "eps_ee_u", method="cls")
    with pytest.raises(ConfigurationError, match="valid choices: profile, cls"):
        limits.parameter_limit("csi2021", "nsi", "eps_ee_u", method="bayes")
    with pytest.raises(ConfigurationError, match="confidence level"):
        limits.parameter_limit("csi2021", "nsi", "eps_ee_u", cl=90)
    with pytest.raises(ConfigurationError, match="valid choices: asymptotic, toys"):
        cls.cls_upper_limit(_simple_spec(), method="bootstrap")


# ------------------------------------------------------------------------------------------------ exclusion contour


@pytest.mark.slow
def test_exclusion_contour_magnetic_moments() -> None:
    grid = {"mu_nu_e": [1e-9, 3e-9, 5e-9], "mu_nu_mu": [1e-9, 2e-9, 4e-9]}
    result = cls.exclusion_contour("csi2021", "magnetic_moment", grid, cl=0.9)
    assert result.cls_observed.shape == (3, 3)
    assert result.cls_expected.shape == (5, 3, 3)
    # CLs falls as either moment grows
    assert np.all(np.diff(result.cls_observed, axis=0) < 0)
    assert np.all(np.diff(result.cls_observed, axis=1) < 0)
    assert not result.excluded[0, 0]
    assert result.excluded[2, 2]
    lines = result.contours["observed"]
    assert lines
    assert result.contours["expected_median"]
    # the contour at mu_nu_e = 1e-9 crosses mu_nu_mu near the 1D limit (~2.1e-9)
    points = np.asarray([p for line in lines for p in line])
    at_edge = points[np.isclose(points[:, 0], 1e-9, rtol=1e-6, atol=0.0)]
    assert at_edge.size
    assert 1.5e-9 < float(at_edge[0, 1]) < 2.5e-9
    json.dumps(result.to_dict(), allow_nan=False)


def test_exclusion_contour_needs_two_axes() -> None:
    with pytest.raises(ConfigurationError, match="exactly two"):
        cls.exclusion_contour("csi2021", "magnetic_moment", {"mu_nu_e": [1e-9, 2e-9]})


# ------------------------------------------------------------------------------------------------ CLI


@pytest.mark.slow
def test_cli_json_contract(mm_cls: results.ParameterLimit) -> None:
    args = ["--experiment", "csi2021", "--hypothesis-family", "magnetic_moment", "--parameter", "mu_nu_mu"]
    result = CliRunner().invoke(limit_cmd, [*args, "--cl", "0.9", "--method", "cls", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    for key in ("parameter", "upper_limit", "lower_limit", "cl", "method", "unit", "best_fit", "experiment"):
        assert key in payload
    assert payload["parameter"] == "mu_nu_mu"
    assert payload["method"] == "cls"
    assert payload["cl"] == 0.9
    assert payload["unit"] == "mu_B"
    assert payload["experiment"] == "csi2021"
    assert payload["upper_limit"] == pytest.approx(mm_cls.upper_limit, rel=1e-6)
    assert payload["lower_limit"] == pytest.approx(-payload["upper_limit"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--hypothesis-family", "magnetic_moment", "--parameter", "mu_tau"], "valid parameters: mu_nu_e"),
        (["--hypothesis-family", "nsi", "--parameter", "eps_ee_u", "--method", "cls"], "Parameters with a linear POI"),
        (["--hypothesis-family", "axion", "--parameter", "g"], "valid families"),
        (["--hypothesis-family", "nsi", "--parameter", "eps_ee_u", "--fixed", "eps_xx_u=1"], "valid parameters"),
        (["--hypothesis-family", "nsi", "--parameter", "eps_ee_u", "--cl", "1.5"], "confidence level"),
    ],
)
def test_cli_bad_inputs(extra: list[str], message: str) -> None:
    result = CliRunner().invoke(limit_cmd, ["--experiment", "csi2021", *extra])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(lines) == 1
    assert message in lines[0]


def test_cli_unknown_experiment() -> None:
    args = ["--experiment", "germanium", "--hypothesis-family", "nsi", "--parameter", "eps_ee_u"]
    result = CliRunner().invoke(limit_cmd, args)
    assert result.exit_code == 2
    assert "unknown experiment 'germanium'" in result.output
    assert "csi2017, csi2021, lar2020" in result.output


def test_cli_text_output(monkeypatch: pytest.MonkeyPatch) -> None:
    canned = results.ParameterLimit(
        family="nsi",
        parameter="eps_ee_u",
        unit="",
        experiments=("csi2021",),
        cl=0.9,
        method="profile",
        upper_limit=0.45,
        lower_limit=-0.06,
        best_fit=0.01,
        allowed=((-0.06, 0.09), (0.3, 0.45)),
        threshold=2.71,
    )
    seen: dict[str, Any] = {}

    def fake(*args: Any, **kwargs: Any) -> results.ParameterLimit:
        seen.update(kwargs, args=args)
        return canned

    monkeypatch.setattr(limits, "parameter_limit", fake)
    args = ["--experiment", "csi2021", "--hypothesis-family", "nsi", "--parameter", "eps_ee_u"]
    result = CliRunner().invoke(limit_cmd, [*args, "--fixed", "eps_ee_d=0.1"])
    assert result.exit_code == 0, result.output
    assert "-0.06 < eps_ee_u < 0.45 at 90% CL (profile)" in result.output
    assert "allowed intervals: [-0.06, 0.09], [0.3, 0.45]" in result.output
    assert seen["fixed"] == {"eps_ee_d": 0.1}
    assert seen["method"] == "profile"
    result = CliRunner().invoke(limit_cmd, [*args, "--json"])
    payload = json.loads(result.output)
    assert payload["allowed_intervals"] == [[-0.06, 0.09], [0.3, 0.45]]
    assert payload["expected_upper_limit"] is None
    assert payload["threshold"] == 2.71
