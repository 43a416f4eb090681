r"""Limits on one parameter of a BSM family: :func:`parameter_limit`.

* ``method="cls"``: CLs on the family's linear POI (:func:`cevns_hf.inference.cls.cls_upper_limit` on a
  :func:`~cevns_hf.workspace.hypothesis.linear_workspace` at a reference point, :func:`reference_value`),
  mapped back to the parameter.
* ``method="profile"``: the profile-likelihood curve of the parameter (every nuisance profiled) against the
  chi-square quantile with one degree of freedom (Wilks' theorem), with the crossings located by root
  finding on the curve itself.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pyhf

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, Hypothesis, LinearPOI, Parameter, resolve_family
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import CevnsHFError, ConfigurationError
from cevns_hf.inference.cls import check_calculator, check_cl, cls_upper_limit, model_and_data, pyhf_backend
from cevns_hf.inference.exact import refine_curve
from cevns_hf.inference.intervals import chi2_threshold
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.inference.reference_point import rate_scale, reference_value, side_grid
from cevns_hf.inference.results import BANDS, ParameterLimit, jsonable
from cevns_hf.workspace.hypothesis import Experiments, linear_workspace

__all__ = ["METHODS", "parameter_limit", "reference_value"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Methods of :func:`parameter_limit`.
METHODS = ("profile", "cls")


# --------------------------------------------------------------------------------------------------------------
# results


# --------------------------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------------------------
# CLs on a linear POI


# --------------------------------------------------------------------------------------------------------------
# parameter limits


def _linear_poi(family: Family, parameter: str) -> LinearPOI:
    family.parameter(parameter)
    for lp in family.linear_pois:
        if lp.parameter == parameter:
            return lp
    usable = sorted({lp.parameter for lp in family.linear_pois})
    choices = ", ".join(usable) if usable else "none"
    msg = (
        f"method 'cls' needs a parameter the rate is linear in (through a linear POI); {parameter!r} of family "
        f"{family.name!r} has none. Parameters with a linear POI: {choices}; use method 'profile' otherwise"
    )
    raise ConfigurationError(msg)


def _sign_symmetric(param: Parameter, linear: LinearPOI, value: float) -> bool:
    """The parameter can take either sign and only its square (an even function) enters."""
    if not (param.sm == 0.0 and param.lo < 0.0 < param.hi and -param.lo == param.hi):
        return False
    try:
        a, b = float(linear.to_poi(value)), float(linear.to_poi(-value))
    except (ValueError, CevnsHFError):
        return False
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)


def _parameter_from_x(linear: LinearPOI, x: float) -> float | None:
    """The parameter value of X, or None where X is outside the parameter's reach (no limit)."""
    if not math.isfinite(x):
        return None
    try:
        return float(linear.from_poi(x))
    except (ValueError, CevnsHFError) as err:
        log.info("%s = %g has no parameter value (%s)", linear.name, x, err)
        return None


def _cls_parameter_limit(
    exps: tuple[Detector, ...],
    family: Family,
    param: Parameter,
    *,
    cl: float,
    reference: float | None,
    fixed: dict[str, float],
    calculator: str,
    n_toys: int,
    seed: int | None,
    backend: str,
    without_es: bool,
) -> ParameterLimit:
    linear = _linear_poi(family, param.name)
    check_calculator(calculator, n_toys)
    ref = (
        reference_value(exps, family, param.name, fixed=fixed, without_es=without_es)
        if reference is None
        else float(reference)
    )
    hypothesis = Hypothesis.from_mapping(family.name, {**fixed, param.name: ref})
    log.info("CLs limit on %s through %s, reference %s", param.name, linear.name, hypothesis)
    lw = linear_workspace(exps, hypothesis, linear.name, without_es=without_es)
    result = cls_upper_limit(lw.spec, cl=cl, method=calculator, n_toys=n_toys, seed=seed, backend=backend)
    upper = _parameter_from_x(linear, result.observed * lw.scale)
    expected = tuple(math.nan if (v := _parameter_from_x(linear, x * lw.scale)) is None else v for x in result.expected)
    symmetric = _sign_symmetric(param, linear, ref)
    lower = -upper if (symmetric and upper is not None) else None
    # best fit: the free fit of the linear POI, mapped back (the non-negative root)
    model, data = model_and_data(lw.spec)
    with pyhf_backend(backend):
        try:
            bestfit = pyhf.infer.mle.fit(data, model)
            muhat = float(bestfit[model.config.poi_index])
        except pyhf.exceptions.FailedMinimization as err:
            log.warning("best fit of %s failed: %s", lw.poi, err)
            muhat = math.nan
    best = _parameter_from_x(linear, muhat * lw.scale) if muhat >= 0 else None
    low_end = lower if symmetric else (param.sm if param.lo >= param.sm else None)
    return ParameterLimit(
        family=family.name,
        parameter=param.name,
        unit=param.unit,
        experiments=tuple(d.name for d in exps),
        cl=cl,
        method="cls",
        upper_limit=upper,
        lower_limit=lower,
        best_fit=best,
        expected_upper=expected,
        allowed=((low_end, upper),),
        threshold=1.0 - cl,
        fixed=fixed,
        without_es=without_es,
        details={
            "calculator": calculator,
            "linear_poi": lw.poi,
            "poi_unit": lw.unit,
            "poi_scale": lw.scale,
            "poi_upper_limit": result.observed,
            "poi_expected_upper_limit": {b: jsonable(v) for b, v in zip(BANDS, result.expected, strict=True)},
            "linear_upper_limit": result.observed * lw.scale,
            "reference": str(lw.reference),
            "best_fit_poi": jsonable(muhat),
            "n_hypotests": len(result.points),
        },
    )


class _ProfileCurve:
    """Profiled -2 ln L at mu_bsm = 1 as a function of one parameter, on the fast engine, cached."""

    def __init__(self, model: HypothesisLikelihood, param: Parameter) -> None:
        self.model, self.param = model, param
        self.sm_twice_nll = model.sm_twice_nll
        self.cache: dict[float, float] = {float(param.sm): self.sm_twice_nll}
        self.failed: list[float] = []

    def many(self, values: Sequence[float] | FloatArray) -> FloatArray:
        """The curve at several values, the uncached ones profiled in one batch."""
        todo = sorted({float(v) for v in np.ravel(values)} - set(self.cache))
        if todo:
            nll, _, converged = self.model.evaluate({self.param.name: todo})
            for v, f, ok in zip(todo, nll, converged, strict=True):
                if not ok or not math.isfinite(float(f)):
                    log.warning("the profile fit at %s = %g did not converge: point dropped", self.param.name, v)
                    self.failed.append(v)
                self.cache[v] = float(f) if ok else math.nan
        return np.asarray([self.cache[float(v)] for v in np.ravel(values)], dtype=float)

    def __call__(self, value: float) -> float:
        return float(self.many([value])[0])


def _even_parameter(family: Family, param: Parameter) -> bool:
    """Only the square of the parameter enters (a sign-symmetric linear POI): scan one side and mirror."""
    for lp in family.linear_pois:
        if lp.parameter == param.name and _sign_symmetric(param, lp, 0.5 * param.hi if math.isfinite(param.hi) else 1):
            return True
    return False


def _profile_parameter_limit(
    exps: tuple[Detector, ...],
    family: Family,
    param: Parameter,
    *,
    cl: float,
    fixed: dict[str, float],
    n_grid: int,
    without_es: bool,
) -> ParameterLimit:
    threshold = chi2_threshold(cl, dof=1)
    even = _even_parameter(family, param)
    sides = [s for s in (1, -1) if (param.hi > param.sm if s > 0 else param.lo < param.sm)]
    if even:
        sides = [1]
    if not sides:
        msg = f"{param.describe()} has no room around its SM value {param.sm:g} to scan"
        raise ConfigurationError(msg)
    n_side = max(4, n_grid // len(sides))
    scan = _ProfileCurve(HypothesisLikelihood.build(exps, family, fixed=fixed, without_es=without_es), param)
    grid = [float(param.sm)]
    scales: dict[int, float | None] = {}
    for sign in sides:
        scale = rate_scale(exps, family, param, sign, fixed, without_es)
        scales[sign] = scale.offset
        grid.extend(float(v) for v in side_grid(param, sign, scale, n_side))
    xs = np.unique(np.asarray(grid))
    ys = scan.many(xs)
    keep = np.isfinite(ys)
    xs, ys = xs[keep], ys[keep]
    if even:  # mirror: only the square enters
        xs = np.concatenate([-xs[:0:-1], xs])
        ys = np.concatenate([ys[:0:-1], ys])

    def evaluate(values: FloatArray) -> FloatArray:
        return scan.many(np.abs(values) if even else values)

    # minima and crossings located on the profiled curve itself (cevns_hf.inference.exact)
    curve = refine_curve(xs, ys, evaluate, {"cl": threshold}, log_x=False)
    best_x, best_y = curve.best_fit, curve.minimum
    allowed: list[tuple[float | None, float | None]] = [
        (None if iv.open_lo else iv.lo, None if iv.open_hi else iv.hi) for iv in curve.intervals["cl"]
    ]
    upper = allowed[-1][1] if allowed else None
    lower = allowed[0][0] if allowed else None
    if even and best_x < 0:
        best_x = -best_x
    delta = curve.twice_nll - best_y
    return ParameterLimit(
        family=family.name,
        parameter=param.name,
        unit=param.unit,
        experiments=tuple(d.name for d in exps),
        cl=cl,
        method="profile",
        upper_limit=upper,
        lower_limit=lower,
        best_fit=best_x,
        expected_upper=None,
        allowed=tuple(allowed),
        threshold=threshold,
        fixed=fixed,
        without_es=without_es,
        details={
            "twice_nll_min": best_y,
            "twice_nll_sm": scan.sm_twice_nll,
            "delta_chi2_sm": scan.sm_twice_nll - best_y,
            "scan": {"values": [float(x) for x in curve.x], "delta_chi2": [float(d) for d in delta]},
            "precision": curve.precision,
            "tolerance": curve.tolerance,
            "minima": [{"x": m.x, "depth": m.depth} for m in curve.minima],
            "unresolved": [list(c) for c in curve.unresolved],
            "rate_scale": {("+" if s > 0 else "-"): v for s, v in scales.items()},
            "n_fits": len(scan.cache) - 1,
            "failed_fits": list(scan.failed),
            "sign_symmetric": even,
        },
    )


def parameter_limit(
    experiments: Experiments,
    family: str | Family,
    parameter: str,
    *,
    cl: float = 0.9,
    method: str = "profile",
    reference: float | None = None,
    fixed: Mapping[str, float] | None = None,
    calculator: str = "asymptotic",
    n_toys: int = 1000,
    seed: int | None = None,
    n_grid: int = 40,
    backend: str = "numpy",
    without_es: bool = False,
) -> ParameterLimit:
    """Limit on one parameter of a BSM family from the observed data.

    * ``method="cls"`` (parameters with a :class:`~cevns_hf.bsm.family.LinearPOI`, e.g. ``mu_nu_mu`` via
      ``mu_nu_mu_sq``): the CLs upper limit on the linear quantity X from a linear-POI workspace built at a
      reference point (default: :func:`reference_value`, a ~30% rate change), mapped back with
      ``LinearPOI.from_poi``. A parameter of either sign entering squared gets lower = -upper.
    * ``method="profile"``: -2 ln L of the hypothesis workspace at mu_bsm = 1 (all nuisances profiled by the fast
      engine) on a grid of the parameter: ``n_grid`` values, linear out to 8 x the offset of a 30% rate
      change and geometric beyond it to the end of the range (one side and mirrored for a parameter entering
      squared), plus the SM point; minima and every crossing of Delta chi2 = chi2_1dof quantile(cl) (2.706 at
      90%) are located on the profiled curve itself (:func:`cevns_hf.inference.exact.refine_curve`: unresolved
      cells subdivided, |Delta chi2 - level| < 0.01 at the ends; ``details["precision"]``). The limits are the
      outermost crossings (None where the likelihood stays below the threshold up to the end of the range).

    Args:
        experiments: data sets (``"csi2021"``, ``"csi2021+lar2020"`` or a list).
        family: BSM family.
        parameter: the parameter.
        cl: confidence level.
        method: ``"profile"`` or ``"cls"``.
        reference: ``cls``: reference value of the parameter for the linear workspace.
        fixed: other parameters held fixed (e.g. ``{"m4_mev": 10.0}``).
        calculator: ``cls``: ``"asymptotic"`` or ``"toys"``.
        n_toys: ``cls`` with toys: pseudo-experiments per POI value.
        seed: ``cls`` with toys: seed.
        n_grid: ``profile``: grid values (besides the SM point and the refinement).
        backend: pyhf backend (``cls``).
        without_es: leave neutrino-electron scattering out of every channel.

    Returns:
        The limit.

    Raises:
        ConfigurationError: unknown family / parameter / method, or ``cls`` on a parameter without a
            linear POI (the message lists the valid choices).
    """
    cl = check_cl(cl)
    if method not in METHODS:
        msg = f"unknown limit method {method!r}; valid choices: {', '.join(METHODS)}"
        raise ConfigurationError(msg)
    exps = detectors.resolve(experiments)
    fam = resolve_family(family)
    param = fam.parameter(parameter)
    fixed_values = {str(k): float(v) for k, v in (fixed or {}).items()}
    for name in fixed_values:
        fam.parameter(name)
    if parameter in fixed_values:
        msg = f"{parameter!r} is the limited parameter: it cannot also be fixed"
        raise ConfigurationError(msg)
    fam.complete(fixed_values)
    if method == "cls":
        return _cls_parameter_limit(
            exps,
            fam,
            param,
            cl=cl,
            reference=reference,
            fixed=fixed_values,
            calculator=calculator,
            n_toys=n_toys,
            seed=seed,
            backend=backend,
            without_es=without_es,
        )
    if int(n_grid) < 4:
        msg = f"n_grid must be >= 4, got {n_grid!r}"
        raise ConfigurationError(msg)
    return _profile_parameter_limit(
        exps, fam, param, cl=cl, fixed=fixed_values, n_grid=int(n_grid), without_es=without_es
    )


# --------------------------------------------------------------------------------------------------------------
# exclusion contours
