"""Intervals located on the profiled curve itself (cevns_hf.inference.exact), checked independently."""

from __future__ import annotations

import numpy as np
import pyhf
import pytest

from cevns_hf.bsm.family import Hypothesis
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.exact import refine_curve
from cevns_hf.inference.intervals import level_value
from cevns_hf.inference.scan import profile_scan
from cevns_hf.workspace.hypothesis import UninformativeHypothesisError, hypothesis_workspace

LEVELS = {"1sigma": 1.0, "90": level_value("90", 1)}


def _parabola(a: float) -> tuple[np.ndarray, object]:
    def f(x: np.ndarray) -> np.ndarray:
        return 100.0 + (np.asarray(x, dtype=float) / a) ** 2

    return np.linspace(-1e-8, 1e-8, 17), f


def test_a_coarse_grid_still_gives_the_exact_interval() -> None:
    """One grid cell jumps from 0 to ~15 in Delta chi2: the cell is subdivided and the ends solved."""
    x, f = _parabola(3.18e-10)
    curve = refine_curve(x, f(x), f, LEVELS)  # type: ignore[operator]
    (one,) = curve.intervals["1sigma"]
    assert one.lo == pytest.approx(-3.18e-10, rel=1e-6)
    assert one.hi == pytest.approx(3.18e-10, rel=1e-6)
    (ninety,) = curve.intervals["90"]
    assert ninety.hi == pytest.approx(3.18e-10 * np.sqrt(level_value("90", 1)), rel=1e-6)
    assert curve.precision < 0.01
    assert curve.unresolved == ()
    # linear interpolation on the same grid is off by an order of magnitude (the bug this replaces)
    d = f(x) - 100.0  # type: ignore[operator]
    i = int(np.argmin(np.abs(x)))
    t = (1.0 - d[i]) / (d[i + 1] - d[i])
    assert x[i] + t * (x[i + 1] - x[i]) < 0.3 * 3.18e-10  # 4x too tight


def test_secondary_minimum_is_reported_with_its_depth() -> None:
    def g(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        return 10.0 + np.minimum(20.0 * (x - 1.0) ** 2, 20.0 * (x + 1.0) ** 2 + 0.5)

    x = np.linspace(-3.0, 3.0, 7)
    curve = refine_curve(x, g(x), g, LEVELS)
    assert curve.best_fit == pytest.approx(1.0, abs=1e-6)
    assert len(curve.minima) == 2
    assert curve.minima[1].x == pytest.approx(-1.0, abs=1e-6)
    assert curve.minima[1].depth == pytest.approx(0.5, abs=1e-6)
    assert len(curve.intervals["1sigma"]) == 2
    lo, hi = curve.intervals["1sigma"][1].lo, curve.intervals["1sigma"][1].hi
    assert g(np.array([lo, hi])) - 10.0 == pytest.approx([1.0, 1.0], abs=1e-9)


def test_open_ends_and_bad_input() -> None:
    def flat(x: np.ndarray) -> np.ndarray:
        return np.zeros_like(np.asarray(x, dtype=float))

    curve = refine_curve(np.linspace(0, 1, 5), np.zeros(5), flat, LEVELS)
    (iv,) = curve.intervals["1sigma"]
    assert iv.open_lo
    assert iv.open_hi
    with pytest.raises(ConfigurationError, match="at least two grid points"):
        refine_curve(np.array([0.0]), np.zeros(1), flat, LEVELS)


def _pyhf_twice_nll(experiments: str, family: str, values: dict[str, float]) -> float:
    hyp = Hypothesis.from_mapping(family, values)
    ws = pyhf.Workspace(hypothesis_workspace(experiments, hyp))
    model = ws.model()
    _, value = pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model, return_fitted_val=True)
    return float(value)


@pytest.mark.parametrize(
    ("experiments", "family", "parameter", "grid"),
    [
        ("csi2021+lar2020", "millicharge", "q_mumu", np.linspace(-5e-8, 5e-8, 81)),
        ("csi2021", "weak_mixing", "sin2_theta_w", np.linspace(0.1, 0.4, 7)),
    ],
)
def test_reported_ends_pass_an_independent_pyhf_check(
    experiments: str, family: str, parameter: str, grid: np.ndarray
) -> None:
    """Delta chi2 at every reported end, recomputed with pyhf fits, is the level to the stated tolerance."""
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    result = profile_scan(experiments, family, {parameter: grid})
    assert result.exact is not None
    best = result.exact.best_fit
    try:  # a best fit within ~1e-14 of the SM (millicharge with normsys: -2.5e-14) has no testable workspace
        at_best = _pyhf_twice_nll(experiments, family, {parameter: best}) if best != 0.0 else None
    except UninformativeHypothesisError:
        at_best = None
    minimum = at_best if at_best is not None else result.exact.minimum
    for name in ("1sigma", "90"):
        level = level_value(name, 1)
        for iv in result.intervals(name):
            for end, is_open in ((iv.lo, iv.open_lo), (iv.hi, iv.open_hi)):
                if is_open:
                    continue
                delta = _pyhf_twice_nll(experiments, family, {parameter: end}) - minimum
                assert abs(delta - level) < 0.01 + 1e-3, (name, end, delta)
