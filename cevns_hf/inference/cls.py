r"""CLs: hypothesis tests, upper limits on a linear POI and exclusion contours, through pyhf.

* :func:`cls_hypotest` and :func:`cls_upper_limit`: the CLs upper limit on the POI of a workspace whose
  POI enters linearly (a :func:`~cevns_hf.workspace.hypothesis.linear_workspace`), with the
  :math:`\tilde q_\mu` test statistic (Cowan et al., EPJC 71 (2011) 1554), observed and expected band:
  asymptotic through pyhf, or toy-based with the project's likelihood engine (:mod:`cevns_hf.inference.toys`,
  the workspace read by :func:`cevns_hf.inference.assemble.from_workspace`).
* :func:`exclusion_contour`: CLs at mu_bsm = 1 over a 2D grid of hypotheses (a pyhf PatchSet) and the
  contour lines at CLs = 1 - cl.

Notes on pyhf 0.7.6 (``pyhf-notes.md``): ``upper_limit(..., scan=None, level=...)`` does not pass ``level``
on to its toms748 search, so the limits here use their own bracketing and :func:`scipy.optimize.toms748`
per CLs curve (observed and the five expected ones), on a cache of :func:`pyhf.infer.hypotest` results.
Fits use the scipy optimizer (MINUIT can stall for minutes on the Asimov fits of these models).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyhf
from scipy import optimize

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, resolve_family
from cevns_hf.exceptions import ConfigurationError, FitError
from cevns_hf.inference.assemble import from_workspace
from cevns_hf.inference.intervals import iso_lines
from cevns_hf.inference.results import BANDS, CLsPoint, ExclusionContour, LimitResult
from cevns_hf.inference.toys import cls_from_toys, toy_distributions
from cevns_hf.workspace.hypothesis import Experiments
from cevns_hf.workspace.patchset import build_patchset, grid_points

log = logging.getLogger(__name__)

__all__ = [
    "CALCULATORS",
    "check_calculator",
    "check_cl",
    "cls_hypotest",
    "cls_upper_limit",
    "exclusion_contour",
    "model_and_data",
    "pyhf_backend",
]


def __dir__() -> list[str]:
    return __all__


#: CLs calculators: pyhf's asymptotic formulae or pseudo-experiments.
CALCULATORS = ("asymptotic", "toys")


@contextmanager
def pyhf_backend(name: str) -> Iterator[None]:
    """pyhf backend ``name`` with the scipy optimizer; the previous backend is restored afterwards."""
    old_tensorlib, old_optimizer = pyhf.get_backend()
    try:
        pyhf.set_backend(name, pyhf.optimize.scipy_optimizer())
    except (pyhf.exceptions.InvalidBackend, pyhf.exceptions.InvalidOptimizer, ImportError) as err:
        msg = f"pyhf backend {name!r} is not available ({err}); valid choices: numpy, jax, pytorch, tensorflow"
        raise ConfigurationError(msg) from err
    try:
        yield
    finally:
        pyhf.set_backend(old_tensorlib, old_optimizer)


def model_and_data(spec: Mapping[str, Any]) -> tuple[Any, Any]:
    try:
        ws = pyhf.Workspace(dict(spec))
        model = ws.model()
    except pyhf.exceptions.InvalidSpecification as err:
        msg = f"invalid workspace: {err}"
        raise ConfigurationError(msg) from err
    return model, ws.data(model)


def check_cl(cl: float) -> float:
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        msg = f"the confidence level must be in (0, 1), got {cl!r} (e.g. 0.9 or 0.95)"
        raise ConfigurationError(msg)
    return cl


def check_calculator(method: str, n_toys: int) -> None:
    if method not in CALCULATORS:
        msg = f"unknown CLs calculator {method!r}; valid choices: {', '.join(CALCULATORS)}"
        raise ConfigurationError(msg)
    if method == "toys" and int(n_toys) < 1:
        msg = f"n_toys must be >= 1, got {n_toys!r}"
        raise ConfigurationError(msg)


def _hypotest(model: Any, data: Any, poi_value: float) -> CLsPoint:
    """Asymptotic CLs through :func:`pyhf.infer.hypotest`."""
    try:
        obs, exp = pyhf.infer.hypotest(float(poi_value), data, model, test_stat="qtilde", return_expected_set=True)
    except pyhf.exceptions.FailedMinimization as err:
        msg = f"a fit of the CLs test at {model.config.poi_name} = {poi_value:g} did not converge: {err}"
        raise FitError(msg) from err
    values = tuple(float(v) for v in exp)
    return CLsPoint(float(poi_value), float(obs), (values[0], values[1], values[2], values[3], values[4]))


def cls_hypotest(
    spec: Mapping[str, Any],
    poi_value: float,
    *,
    method: str = "asymptotic",
    n_toys: int = 1000,
    seed: int | None = None,
    backend: str = "numpy",
) -> CLsPoint:
    """Observed and expected CLs of one POI value (test statistic :math:`\\tilde q_\\mu`).

    Args:
        spec: a pyhf workspace dict.
        poi_value: the tested POI value.
        method: ``"asymptotic"`` or ``"toys"``.
        n_toys: pseudo-experiments per hypothesis (toys).
        seed: toys: seed of the generator of this POI value (:func:`cevns_hf.inference.toys.toy_generator`);
            None takes fresh entropy (not reproducible). numpy's global random state is never used.
        backend: pyhf backend (asymptotic; the toys run on the project's numpy likelihood engine).

    Returns:
        The CLs values.

    Raises:
        ConfigurationError: invalid options, or toys on a workspace with modifiers the engine does not support.
        FitError: a fit did not converge.
    """
    check_calculator(method, n_toys)
    if method == "toys":
        lik, batch = from_workspace(spec)
        return cls_from_toys(toy_distributions(lik, batch, poi_value, n_toys=n_toys, seed=seed))
    model, data = model_and_data(spec)
    with pyhf_backend(backend):
        return _hypotest(model, data, poi_value)


class _CLsCurves:
    """Cached CLs evaluations of one model; CLs(0) = 1 by construction (no signal: CLs+b = CLb)."""

    def __init__(self, spec: Mapping[str, Any], method: str, n_toys: int, seed: int | None) -> None:
        self.spec = spec
        self.model, self.data = model_and_data(spec)
        self.engine = from_workspace(spec) if method == "toys" else None
        self.n_toys, self.seed = n_toys, seed
        self.cache: dict[float, CLsPoint] = {0.0: CLsPoint(0.0, 1.0, (1.0, 1.0, 1.0, 1.0, 1.0))}

    def point(self, mu: float) -> CLsPoint:
        mu = float(mu)
        if mu not in self.cache:
            if self.engine is None:
                self.cache[mu] = _hypotest(self.model, self.data, mu)
            else:
                dist = toy_distributions(*self.engine, mu, n_toys=self.n_toys, seed=self.seed)
                self.cache[mu] = cls_from_toys(dist)
            log.debug("CLs(%s = %g) = %s", self.model.config.poi_name, mu, self.cache[mu])
        return self.cache[mu]

    def value(self, mu: float, curve: int) -> float:
        """Curve 0: observed; 1-5: expected -2 ... +2 sigma."""
        p = self.point(mu)
        return p.observed if curve == 0 else p.expected[curve - 1]

    def bracket(self, curve: int, level: float) -> tuple[float, float] | None:
        """Cached (a, b) with CLs(a) >= level > CLs(b), b the smallest cached value below the level."""
        mus = sorted(self.cache)
        for i, mu in enumerate(mus):
            if self.value(mu, curve) < level:
                return (mus[i - 1], mu) if i > 0 else None
        return None

    def points(self) -> tuple[CLsPoint, ...]:
        return tuple(self.cache[m] for m in sorted(self.cache) if m > 0)


def _interpolate(curves: _CLsCurves, curve: int, level: float) -> float:
    """Crossing of CLs = level between cached points (linear in ln CLs where both are positive)."""
    ab = curves.bracket(curve, level)
    if ab is None:
        return math.nan
    a, b = ab
    fa, fb = curves.value(a, curve), curves.value(b, curve)
    if fa > 0 and fb > 0:
        fa, fb, target = math.log(fa), math.log(fb), math.log(level)
    else:
        target = level
    if fa == fb:
        return b
    return a + (b - a) * (fa - target) / (fa - fb)


def _solve(curves: _CLsCurves, curve: int, level: float, rtol: float) -> float:
    """Root of CLs(mu) = level for one curve by toms748 inside the cached bracket."""
    ab = curves.bracket(curve, level)
    if ab is None:
        return math.nan
    a, b = ab
    root = optimize.toms748(lambda m: curves.value(m, curve) - level, a, b, k=2, rtol=rtol, xtol=1e-12)
    return float(root)


def _poi_upper_bound(model: Any) -> float:
    return float(model.config.suggested_bounds()[model.config.poi_index][1])


def _asymptotic_limits(curves: _CLsCurves, level: float, rtol: float) -> tuple[float, tuple[float, ...]]:
    model = curves.model
    bound = _poi_upper_bound(model)
    init = float(model.config.suggested_init()[model.config.poi_index])
    mu = min(init if init > 0 else 1.0, bound)
    # bracket every curve: double until all six CLs values are below the level, halve while any is below
    while True:
        p = curves.point(mu)
        if max(p.observed, *p.expected) < level:
            break
        if mu >= bound:
            break
        mu = min(2.0 * mu, bound)
    mu = min(m for m in curves.cache if m > 0)
    for _ in range(20):
        p = curves.point(mu)
        if min(p.observed, *p.expected) >= level:
            break
        mu /= 2.0
    observed = _solve(curves, 0, level, rtol)
    expected = tuple(_solve(curves, k, level, rtol) for k in range(1, 6))
    return observed, expected


def _default_toy_scan(curves: _CLsCurves, level: float, n_points: int) -> FloatArray:
    """POI values for toys: up to 1.5 x the largest asymptotic limit (observed, +2 sigma expected)."""
    asym = _CLsCurves(curves.spec, "asymptotic", 0, None)
    observed, expected = _asymptotic_limits(asym, level, rtol=1e-2)
    finite = [v for v in (observed, *expected) if math.isfinite(v)]
    top = 1.5 * max(finite) if finite else _poi_upper_bound(curves.model)
    top = min(top, _poi_upper_bound(curves.model))
    return np.linspace(0.0, top, n_points + 1)[1:]


def cls_upper_limit(
    spec: Mapping[str, Any],
    *,
    cl: float = 0.9,
    method: str = "asymptotic",
    scan: Sequence[float] | FloatArray | None = None,
    n_toys: int = 1000,
    seed: int | None = None,
    backend: str = "numpy",
    rtol: float = 1e-3,
) -> LimitResult:
    """CLs upper limit on the POI of a workspace whose POI enters linearly (test statistic qtilde).

    The limit is the POI value where CLs = 1 - cl, for the observed data and for the expected band. Without
    ``scan`` and with the asymptotic calculator it is solved with toms748 per curve (relative tolerance
    ``rtol``) after bracketing from the POI's initial value by factors of two. With ``scan`` (or toys, whose
    default scan is 10 points up to 1.5 x the largest asymptotic limit) CLs is evaluated on the given POI
    values and the crossing interpolated linearly in ln CLs (CLs(0) = 1 is the anchor below the first point).

    Args:
        spec: a pyhf workspace dict; its POI lower bound should be 0 (e.g. a linear-POI workspace).
        cl: confidence level.
        method: ``"asymptotic"`` or ``"toys"``.
        scan: POI values to evaluate (optional).
        n_toys: pseudo-experiments per tested POI value (toys).
        seed: toys: seed (each POI value uses a generator seeded by ``(seed, value)``, so the results do not
            depend on the order of the values); None takes fresh entropy. numpy's global state is never used.
        backend: pyhf backend (asymptotic; the toys run on the project's numpy likelihood engine).
        rtol: relative tolerance of the root finding (asymptotic, no scan).

    Returns:
        The observed and expected limits and every CLs evaluation.

    Raises:
        ConfigurationError: invalid options, or the observed CLs does not fall below 1 - cl within the scan
            or the POI bounds, or toys on a workspace with modifiers the engine does not support.
        FitError: a fit did not converge.
    """
    cl = check_cl(cl)
    check_calculator(method, n_toys)
    level = 1.0 - cl
    curves = _CLsCurves(spec, method, n_toys, seed)
    model = curves.model
    with pyhf_backend(backend):
        if scan is None and method == "asymptotic":
            observed, expected = _asymptotic_limits(curves, level, rtol)
        else:
            values = np.asarray(scan, dtype=float) if scan is not None else _default_toy_scan(curves, level, 10)
            if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)) or np.any(values < 0):
                msg = f"scan must be a non-empty 1D array of finite POI values >= 0, got {scan!r}"
                raise ConfigurationError(msg)
            for mu in np.unique(values):
                if mu > 0:
                    curves.point(float(mu))
            observed = _interpolate(curves, 0, level)
            expected = tuple(_interpolate(curves, k, level) for k in range(1, 6))
    poi = str(model.config.poi_name)
    if not math.isfinite(observed):
        top = max(curves.cache)
        msg = (
            f"the observed CLs stays above {level:g} up to {poi} = {top:g}: no {cl:g} CL upper limit within "
            "the scan / POI bounds; extend the scan (or the POI bounds)"
        )
        raise ConfigurationError(msg)
    for band, value in zip(BANDS, expected, strict=True):
        if not math.isfinite(value):
            log.warning("expected %s CLs does not reach %g within the scanned %s values", band, level, poi)
    exp5 = (expected[0], expected[1], expected[2], expected[3], expected[4])
    return LimitResult(
        poi=poi,
        observed=float(observed),
        expected=exp5,
        cl=cl,
        method=method,
        n_toys=int(n_toys) if method == "toys" else None,
        seed=seed if method == "toys" else None,
        points=curves.points(),
    )


def _lines(x: FloatArray, y: FloatArray, z: FloatArray, level: float) -> tuple[tuple[tuple[float, float], ...], ...]:
    return tuple(tuple((float(p[0]), float(p[1])) for p in line) for line in iso_lines(x, y, z, level))


def _log_cls(values: FloatArray) -> FloatArray:
    return np.asarray(np.log(np.clip(np.asarray(values, dtype=float), 1e-300, None)), dtype=float)


def exclusion_contour(
    experiments: Experiments,
    family: str | Family,
    grid2d: Mapping[str, Sequence[float]],
    *,
    cl: float = 0.95,
    fixed: Mapping[str, float] | None = None,
    backend: str = "numpy",
    progress: Callable[[int, int], None] | None = None,
) -> ExclusionContour:
    """Asymptotic CLs at mu_bsm = 1 for every point of a 2D hypothesis grid and its exclusion contours.

    The grid is a pyhf PatchSet (:func:`~cevns_hf.workspace.hypothesis.build_patchset`); each patch is applied to
    the background-only workspace and tested with :func:`pyhf.infer.hypotest` (qtilde). A point whose
    hypothesis changes no template has CLs = 1.

    Args:
        experiments: data sets.
        family: BSM family.
        grid2d: exactly two parameter names -> their values (axis 0 and axis 1 of the results).
        cl: confidence level (contours at CLs = 1 - cl).
        fixed: other parameters held fixed.
        backend: pyhf backend.
        progress: called as ``progress(done, total)`` after each point.

    Returns:
        CLs arrays (observed and the expected band) and the contour lines.
    """
    cl = check_cl(cl)
    if len(grid2d) != 2:
        msg = f"an exclusion contour needs a grid over exactly two parameters, got {list(grid2d)}"
        raise ConfigurationError(msg)
    exps = detectors.resolve(experiments)
    fam = resolve_family(family)
    names = list(grid2d)
    axes = [np.asarray(grid2d[n], dtype=float) for n in names]
    for name, axis in zip(names, axes, strict=True):
        if axis.ndim != 1 or axis.size == 0 or np.any(np.diff(axis) <= 0):
            msg = f"grid values of {name!r} must be a non-empty increasing sequence, got {list(axis)}"
            raise ConfigurationError(msg)
    bkg, ps = build_patchset(
        exps, fam, {n: [float(v) for v in a] for n, a in zip(names, axes, strict=True)}, fixed=fixed
    )
    patchset = pyhf.PatchSet(ps)
    points = grid_points({n: list(a) for n, a in zip(names, axes, strict=True)})
    shape = (axes[0].size, axes[1].size)
    observed = np.ones(len(points))
    expected = np.ones((5, len(points)))
    with pyhf_backend(backend):
        for k, patch in enumerate(patchset.patches):
            if list(patch.patch):
                model, data = model_and_data(patch.apply(bkg))
                result = _hypotest(model, data, 1.0)
                observed[k] = result.observed
                expected[:, k] = result.expected
            else:
                log.debug("%s changes no template: CLs = 1", points[k])
            if progress is not None:
                progress(k + 1, len(points))
    obs = observed.reshape(shape)
    exp = expected.reshape((5, *shape))
    # contours of ln CLs (CLs falls roughly exponentially with the signal: better linear interpolation)
    level = math.log(1.0 - cl)
    contours = {"observed": _lines(axes[0], axes[1], _log_cls(obs), level)}
    for i, band in enumerate(BANDS):
        contours[f"expected_{band}"] = _lines(axes[0], axes[1], _log_cls(exp[i]), level)
    return ExclusionContour(
        family=fam.name,
        experiments=tuple(d.name for d in exps),
        x_name=names[0],
        y_name=names[1],
        x=tuple(float(v) for v in axes[0]),
        y=tuple(float(v) for v in axes[1]),
        cl=cl,
        cls_observed=obs,
        cls_expected=exp,
        contours=contours,
        fixed=dict(fixed or {}),
    )
