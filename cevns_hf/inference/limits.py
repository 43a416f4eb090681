"""Limits: CLs upper limits on linear POIs, parameter limits (CLs or profile likelihood), exclusion contours.

Three entry points:

* :func:`cls_upper_limit` - the CLs upper limit on the POI of a workspace whose POI enters linearly (a
  :func:`~cevns_hf.workspace.hypothesis.linear_workspace`), with the :math:`\\tilde q_\\mu` test statistic
  (Cowan et al., EPJC 71 (2011) 1554), asymptotic or toy-based, observed and expected band.
* :func:`parameter_limit` - a limit on one parameter of a BSM family, either by CLs on the family's linear
  POI (``method="cls"``) or from a profile-likelihood scan of the parameter (``method="profile"``:
  Delta chi2 = -2 Delta ln L against the chi2 quantile with one degree of freedom, Wilks' theorem).
* :func:`exclusion_contour` - CLs at mu_bsm = 1 over a 2D grid of hypotheses (a pyhf PatchSet) and the
  contour lines at CLs = 1 - cl.

Notes on pyhf 0.7.6 (verified with pyhf 0.7.6, numpy 2.3, scipy 1.17):

* ``pyhf.infer.intervals.upper_limits.upper_limit(..., scan=None, level=...)`` does not pass ``level`` on to
  its toms748 search, which always solves CLs = 0.05 whatever ``level`` says. The limits here use their
  own bracketing and :func:`scipy.optimize.toms748` per CLs curve (observed and the five expected ones),
  on a cache of :func:`pyhf.infer.hypotest` results, so ``cl`` is honoured and fewer hypothesis tests are
  needed. Fits use the scipy optimizer (MINUIT can stall for minutes on the Asimov fits of these models).
* Toy-based CLs (``calctype="toybased"``) calls ``numpy.percentile(..., interpolation=...)``, removed in
  numpy 2.4 (fixed on pyhf main, unreleased); ``cevns_hf`` pins numpy < 2.4, and asking for toys with
  pyhf <= 0.7.6 and numpy >= 2.4 raises :class:`ToysUnavailableError` instead of crashing mid-scan.
* pyhf draws toys through ``scipy.stats`` without a ``random_state``, i.e. from numpy's *global* legacy
  RandomState; it has no hook for a local generator. With ``seed`` given, each tested POI value is run
  with the global state seeded from ``(seed, POI value)`` and the previous global state is restored
  afterwards, so results are reproducible, independent of the order in which POI values are tested, and
  the caller's random stream is left untouched.
"""

from __future__ import annotations

import logging
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyhf
from scipy import optimize, stats

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, Hypothesis, LinearPOI, Parameter, get_family
from cevns_hf.exceptions import CevnsHFError, ConfigurationError, FitError
from cevns_hf.workspace.build import build_workspace
from cevns_hf.workspace.hypothesis import build_patchset, grid_points, hypothesis_workspace, linear_workspace

__all__ = [
    "BANDS",
    "CALCULATORS",
    "METHODS",
    "CLsPoint",
    "ExclusionContour",
    "LimitResult",
    "ParameterLimit",
    "ToysUnavailableError",
    "cls_hypotest",
    "cls_upper_limit",
    "exclusion_contour",
    "parameter_limit",
    "reference_value",
    "toys_supported",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: CLs calculators: pyhf's asymptotic formulae or pseudo-experiments.
CALCULATORS = ("asymptotic", "toys")
#: Methods of :func:`parameter_limit`.
METHODS = ("profile", "cls")
#: Expected-band labels, in pyhf's order (CLs_exp[0] is the -2 sigma band).
BANDS = ("-2sigma", "-1sigma", "median", "+1sigma", "+2sigma")
#: Target relative change of the neutrino rates at the automatic reference point (20-50%).
_TARGET_RATE_CHANGE = 0.3
#: The profile grid spans this many times the parameter offset giving the target rate change.
_PROFILE_SPAN = 8.0
_PYHF_TOYS_FIXED = (0, 7, 7)  # first pyhf release that may carry the percentile fix (not yet released)


class ToysUnavailableError(CevnsHFError, RuntimeError):
    """Toy-based CLs is not available with the installed numpy / pyhf combination."""


# --------------------------------------------------------------------------------------------------------------
# results


def _jsonable(value: float | None) -> float | None:
    """None for None and non-finite floats (JSON has no NaN / Infinity)."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


@dataclass(frozen=True)
class CLsPoint:
    """CLs at one POI value.

    Attributes:
        poi_value: the tested POI value.
        observed: observed CLs.
        expected: expected CLs at -2, -1, 0, +1, +2 sigma (pyhf order).
    """

    poi_value: float
    observed: float
    expected: tuple[float, float, float, float, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "poi_value": self.poi_value,
            "cls_observed": _jsonable(self.observed),
            "cls_expected": {b: _jsonable(v) for b, v in zip(BANDS, self.expected, strict=True)},
        }


@dataclass(frozen=True)
class LimitResult:
    """A CLs upper limit on a workspace's POI.

    Attributes:
        poi: name of the POI.
        observed: observed upper limit on the POI.
        expected: expected upper limits at -2, -1, 0, +1, +2 sigma (NaN where the scan does not reach CLs =
            1 - cl for that band).
        cl: confidence level (CLs = 1 - cl at the limit).
        method: ``"asymptotic"`` or ``"toys"``.
        n_toys: toys per hypothesis (toys only).
        seed: seed of the toys (toys only; None: numpy's global state as it was).
        points: every CLs evaluation used, sorted by POI value.
    """

    poi: str
    observed: float
    expected: tuple[float, float, float, float, float]
    cl: float
    method: str
    n_toys: int | None = None
    seed: int | None = None
    points: tuple[CLsPoint, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "poi": self.poi,
            "observed": _jsonable(self.observed),
            "expected": {b: _jsonable(v) for b, v in zip(BANDS, self.expected, strict=True)},
            "cl": self.cl,
            "method": self.method,
            "n_toys": self.n_toys,
            "seed": self.seed,
            "points": [p.to_dict() for p in self.points],
        }


@dataclass(frozen=True)
class ParameterLimit:
    """A limit on one parameter of a BSM family.

    Attributes:
        family: the family.
        parameter: the parameter.
        unit: its unit.
        experiments: the fitted data sets.
        cl: confidence level.
        method: ``"cls"`` or ``"profile"``.
        upper_limit: largest allowed value (None: allowed up to the end of the parameter's range).
        lower_limit: smallest allowed value (None: allowed down to the end of its range, or the parameter
            cannot go below its SM value).
        best_fit: best-fit value (``cls``: the non-negative root of the fitted linear POI).
        expected_upper: ``cls`` only: expected upper limits at -2, -1, 0, +1, +2 sigma.
        allowed: allowed intervals (``profile``: every region with Delta chi2 below the threshold, None for
            an open end at the range boundary).
        threshold: Delta chi2 threshold (``profile``) or CLs level 1 - cl (``cls``).
        fixed: the other parameters held fixed.
        details: method-specific information (``cls``: linear POI, its unit and scale, the POI limit and
            the reference hypothesis; ``profile``: the scanned values and Delta chi2).
    """

    family: str
    parameter: str
    unit: str
    experiments: tuple[str, ...]
    cl: float
    method: str
    upper_limit: float | None
    lower_limit: float | None
    best_fit: float | None
    expected_upper: tuple[float, ...] | None = None
    allowed: tuple[tuple[float | None, float | None], ...] = ()
    threshold: float = math.nan
    fixed: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``cevns-hf limit --json`` contract)."""
        out: dict[str, Any] = {
            "family": self.family,
            "parameter": self.parameter,
            "unit": self.unit,
            "experiments": list(self.experiments),
            "cl": self.cl,
            "method": self.method,
            "upper_limit": _jsonable(self.upper_limit),
            "lower_limit": _jsonable(self.lower_limit),
            "best_fit": _jsonable(self.best_fit),
            "expected_upper_limit": (
                None
                if self.expected_upper is None
                else {b: _jsonable(v) for b, v in zip(BANDS, self.expected_upper, strict=True)}
            ),
            "allowed_intervals": [[_jsonable(a), _jsonable(b)] for a, b in self.allowed],
            "threshold": _jsonable(self.threshold),
            "fixed": dict(self.fixed),
        }
        out.update(self.details)
        return out


@dataclass(frozen=True)
class ExclusionContour:
    """CLs over a 2D grid of hypotheses (mu_bsm = 1) and its contours at CLs = 1 - cl.

    Attributes:
        family: the family.
        experiments: the fitted data sets.
        x_name: first grid parameter (array axis 0).
        y_name: second grid parameter (array axis 1).
        x: values of the first parameter.
        y: values of the second parameter.
        cl: confidence level.
        cls_observed: observed CLs, shape (len(x), len(y)).
        cls_expected: expected CLs, shape (5, len(x), len(y)), bands -2 ... +2 sigma.
        contours: curve label (``observed``, ``expected_-2sigma`` ... ``expected_+2sigma``) -> lines, each a
            tuple of (x, y) points; a point is excluded where CLs < 1 - cl.
        fixed: other parameters held fixed.
    """

    family: str
    experiments: tuple[str, ...]
    x_name: str
    y_name: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    cl: float
    cls_observed: FloatArray
    cls_expected: FloatArray
    contours: Mapping[str, tuple[tuple[tuple[float, float], ...], ...]]
    fixed: Mapping[str, float] = field(default_factory=dict)

    @property
    def excluded(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        """Observed exclusion per grid point (CLs < 1 - cl)."""
        return np.asarray(self.cls_observed < 1.0 - self.cl)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "family": self.family,
            "experiments": list(self.experiments),
            "x": {"name": self.x_name, "values": list(self.x)},
            "y": {"name": self.y_name, "values": list(self.y)},
            "cl": self.cl,
            "cls_observed": np.asarray(self.cls_observed, dtype=float).tolist(),
            "cls_expected": {b: np.asarray(self.cls_expected[i], dtype=float).tolist() for i, b in enumerate(BANDS)},
            "contours": {k: [[list(p) for p in line] for line in lines] for k, lines in self.contours.items()},
            "fixed": dict(self.fixed),
        }


# --------------------------------------------------------------------------------------------------------------
# helpers: backend, numpy/pyhf versions, seeding


def _version_tuple(text: str, n: int) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:n]:
        match = re.match(r"\d+", piece)
        parts.append(int(match.group()) if match else 0)
    return tuple(parts + [0] * (n - len(parts)))


def _numpy_version() -> tuple[int, ...]:
    """(major, minor) of the installed numpy."""
    return _version_tuple(np.__version__, 2)


def _pyhf_version() -> tuple[int, ...]:
    """(major, minor, patch) of the installed pyhf."""
    return _version_tuple(pyhf.__version__, 3)


def toys_supported() -> bool:
    """Whether pyhf's toy-based calculator works here (pyhf <= 0.7.6 needs numpy < 2.4)."""
    return _numpy_version() < (2, 4) or _pyhf_version() >= _PYHF_TOYS_FIXED


def _require_toys() -> None:
    if not toys_supported():
        msg = (
            f"toy-based CLs is unavailable with numpy {np.__version__} and pyhf {pyhf.__version__}: pyhf 0.7.6 "
            "calls numpy.percentile(..., interpolation=...), an argument numpy 2.4 removed (fixed on pyhf "
            "main, not released). Install numpy < 2.4 (cevns_hf pins it: pip install 'numpy<2.4') or use "
            "the asymptotic calculator (method='asymptotic')"
        )
        raise ToysUnavailableError(msg)


@contextmanager
def _backend(name: str) -> Iterator[None]:
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


def _point_seed(seed: int, poi_value: float) -> np.ndarray[Any, Any]:
    """A 128-bit seed for the legacy RandomState derived from (seed, POI value)."""
    bits = np.frombuffer(np.float64(poi_value).tobytes(), dtype=np.uint32)
    return np.random.SeedSequence([int(seed), *(int(b) for b in bits)]).generate_state(4)


@contextmanager
def _seeded(seed: int | None, poi_value: float) -> Iterator[None]:
    """Seed numpy's global RandomState (which pyhf's toys use) and restore its previous state on exit."""
    if seed is None:
        yield
        return
    state = np.random.get_state()  # noqa: NPY002 - pyhf samples from the global legacy RandomState
    np.random.seed(_point_seed(seed, poi_value))  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


@contextmanager
def _nonnegative_poisson_rates() -> Iterator[None]:
    """Generate toys from Poisson rates clipped at 0 (numpy backend).

    A fitted model can have a slightly negative expected count in a bin with no data (a histosys template
    extrapolated beyond +-1 sigma): pyhf's Poisson log-pdf accepts it, but scipy cannot sample from it and
    pyhf's toy generation stops with a domain error. A Poisson of rate <= 0 yields 0 events, which is what
    this sampler draws there; for rates >= 0 the draws are identical to pyhf's (same scipy call and stream).
    """
    from pyhf.tensor import numpy_backend

    poisson_class = numpy_backend._BasicPoisson
    original = poisson_class.sample

    def sample(self: Any, sample_shape: tuple[int, ...]) -> Any:
        rate = np.asarray(self.rate, dtype=float)
        if np.any(rate < 0):
            log.info(
                "toys: %d bins with negative expected counts (min %.3g) sampled as 0", (rate < 0).sum(), rate.min()
            )
            rate = np.clip(rate, 0.0, None)
        return stats.poisson(rate).rvs(size=tuple(sample_shape) + rate.shape)

    poisson_class.sample = sample
    try:
        yield
    finally:
        poisson_class.sample = original


def _model_and_data(spec: Mapping[str, Any]) -> tuple[Any, Any]:
    try:
        ws = pyhf.Workspace(dict(spec))
        model = ws.model()
    except pyhf.exceptions.InvalidSpecification as err:
        msg = f"invalid workspace: {err}"
        raise ConfigurationError(msg) from err
    return model, ws.data(model)


def _check_cl(cl: float) -> float:
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        msg = f"the confidence level must be in (0, 1), got {cl!r} (e.g. 0.9 or 0.95)"
        raise ConfigurationError(msg)
    return cl


def _check_calculator(method: str, n_toys: int) -> None:
    if method not in CALCULATORS:
        msg = f"unknown CLs calculator {method!r}; valid choices: {', '.join(CALCULATORS)}"
        raise ConfigurationError(msg)
    if method == "toys":
        if int(n_toys) < 1:
            msg = f"n_toys must be >= 1, got {n_toys!r}"
            raise ConfigurationError(msg)
        _require_toys()


def _hypotest(model: Any, data: Any, poi_value: float, method: str, n_toys: int, seed: int | None) -> CLsPoint:
    kwargs: dict[str, Any] = {"test_stat": "qtilde", "return_expected_set": True}
    if method == "toys":
        kwargs.update(calctype="toybased", ntoys=int(n_toys), track_progress=False)
    try:
        toys = method == "toys"
        with (
            _seeded(seed if toys else None, poi_value),
            _nonnegative_poisson_rates() if toys else nullcontext(),
            warnings.catch_warnings(),
        ):
            # pyhf 0.7.6 passes numpy.percentile's deprecated ``interpolation`` argument (numpy 2.0 - 2.3)
            warnings.filterwarnings("ignore", message=".*interpolation.*", category=DeprecationWarning)
            obs, exp = pyhf.infer.hypotest(float(poi_value), data, model, **kwargs)
    except pyhf.exceptions.FailedMinimization as err:
        msg = f"a fit of the CLs test at {model.config.poi_name} = {poi_value:g} did not converge: {err}"
        raise FitError(msg) from err
    values = tuple(float(v) for v in exp)
    return CLsPoint(float(poi_value), float(obs), (values[0], values[1], values[2], values[3], values[4]))


# --------------------------------------------------------------------------------------------------------------
# CLs on a linear POI


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
        seed: toys: seed for this POI value (see the module notes); None uses numpy's global state as is.
        backend: pyhf backend.

    Returns:
        The CLs values.

    Raises:
        ToysUnavailableError: toys requested with pyhf 0.7.6 and numpy >= 2.4.
    """
    _check_calculator(method, n_toys)
    model, data = _model_and_data(spec)
    with _backend(backend):
        return _hypotest(model, data, poi_value, method, n_toys, seed)


class _CLsCurves:
    """Cached CLs evaluations of one model; CLs(0) = 1 by construction (no signal: CLs+b = CLb)."""

    def __init__(self, model: Any, data: Any, method: str, n_toys: int, seed: int | None) -> None:
        self.model, self.data = model, data
        self.method, self.n_toys, self.seed = method, n_toys, seed
        self.cache: dict[float, CLsPoint] = {0.0: CLsPoint(0.0, 1.0, (1.0, 1.0, 1.0, 1.0, 1.0))}

    def point(self, mu: float) -> CLsPoint:
        mu = float(mu)
        if mu not in self.cache:
            self.cache[mu] = _hypotest(self.model, self.data, mu, self.method, self.n_toys, self.seed)
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
    asym = _CLsCurves(curves.model, curves.data, "asymptotic", 0, None)
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
        seed: toys: seed (each POI value uses a state derived from ``(seed, value)``; numpy's global state
            is restored afterwards); None draws from numpy's global state as it is.
        backend: pyhf backend.
        rtol: relative tolerance of the root finding (asymptotic, no scan).

    Returns:
        The observed and expected limits and every CLs evaluation.

    Raises:
        ConfigurationError: invalid options, or the observed CLs does not fall below 1 - cl within the scan
            or the POI bounds.
        ToysUnavailableError: toys requested with pyhf 0.7.6 and numpy >= 2.4.
        FitError: a fit did not converge.
    """
    cl = _check_cl(cl)
    _check_calculator(method, n_toys)
    level = 1.0 - cl
    model, data = _model_and_data(spec)
    curves = _CLsCurves(model, data, method, n_toys, seed)
    with _backend(backend):
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


# --------------------------------------------------------------------------------------------------------------
# parameter limits


def _experiments(experiments: str | Sequence[str]) -> list[str]:
    if isinstance(experiments, str):
        return detectors.split_experiments(experiments)
    out = [e for part in experiments for e in detectors.split_experiments(part)]
    if not out:
        msg = "give at least one experiment (e.g. csi2021)"
        raise ConfigurationError(msg)
    return out


def _span(param: Parameter, sign: int) -> float:
    """Distance from the SM value to the end of the range on one side (inside an open end)."""
    end = param.hi if sign > 0 else param.lo
    distance = abs(end - param.sm)
    if not math.isfinite(distance):
        return 1e3 * max(1.0, abs(param.sm))
    if sign < 0 and param.lo_open:
        distance *= 1.0 - 1e-9
    return distance


def _rate_changes(
    experiments: Sequence[str], family: str, parameter: str, values: FloatArray, fixed: Mapping[str, float]
) -> FloatArray:
    """sum |N_nu(hyp) - N_nu(SM)| / sum N_nu(SM) over bins and experiments (N_nu: CEvNS + ES) per value."""
    from cevns_hf.templates.batch import grid_neutrino_samples

    change = np.zeros(values.size)
    total = 0.0
    for exp in experiments:
        sm = detectors.templates(exp)
        nominal = sum(s.nominal for s in sm.samples if s.name in ("cevns", "es"))
        samples = grid_neutrino_samples(exp, family, {parameter: [float(v) for v in values]}, fixed=fixed)
        hyp = sum(s.nominal for s in samples)
        diff = np.asarray(hyp, dtype=float).reshape(values.size, -1) - np.asarray(nominal, dtype=float).reshape(1, -1)
        change += np.abs(diff).sum(axis=1)
        total += float(np.sum(nominal))
    return change / total


@dataclass(frozen=True)
class _RateScale:
    offset: float | None  # offset from the SM value where the rate change reaches the target (None: never)
    offsets: FloatArray
    changes: FloatArray


def _rate_scale(
    experiments: Sequence[str], family: Family, param: Parameter, sign: int, fixed: Mapping[str, float]
) -> _RateScale:
    """Offset from the SM value (on one side) at which the neutrino rates change by ~30%.

    Evaluated on a geometric ladder of offsets (4 per decade over 15 decades, one vectorised template
    evaluation); the first crossing of the target from small offsets is interpolated log-log.
    """
    span = _span(param, sign)
    offsets = span * np.geomspace(1e-15, 1.0, 61)
    values = param.sm + sign * offsets
    changes = _rate_changes(experiments, family.name, param.name, values, fixed)
    if not np.any(changes > 0):
        msg = (
            f"{param.name} does not change the predicted rates of {'+'.join(experiments)} "
            f"(other parameters: {dict(fixed) or 'SM'}); set the parameters it multiplies with fixed=..."
        )
        raise ConfigurationError(msg)
    above = np.nonzero(changes >= _TARGET_RATE_CHANGE)[0]
    if above.size == 0:
        return _RateScale(None, offsets, changes)
    i = int(above[0])
    if i == 0 or changes[i - 1] <= 0:
        return _RateScale(float(offsets[i]), offsets, changes)
    x0, x1 = math.log(offsets[i - 1]), math.log(offsets[i])
    y0, y1 = math.log(changes[i - 1]), math.log(changes[i])
    x = x0 + (x1 - x0) * (math.log(_TARGET_RATE_CHANGE) - y0) / (y1 - y0)
    return _RateScale(float(min(math.exp(x), offsets[i])), offsets, changes)


def reference_value(
    experiments: str | Sequence[str], family: str, parameter: str, *, fixed: Mapping[str, float] | None = None
) -> float:
    """A parameter value changing the neutrino (CEvNS + ES) rates by ~30% (above the SM value if possible).

    Used as the reference point of linear-POI workspaces: far enough from the SM for a precise template
    difference, near the expected sensitivity. Where no value reaches 30% (e.g. oscillation amplitudes),
    the value of largest change is returned.

    Args:
        experiments: data sets (``"csi2021"``, ``["csi2021", "lar2020"]`` ...).
        family: the BSM family.
        parameter: the parameter.
        fixed: other parameters held fixed.

    Returns:
        The reference value of ``parameter``.
    """
    exps = _experiments(experiments)
    fam = get_family(family)
    param = fam.parameter(parameter)
    sign = 1 if param.hi > param.sm else -1
    scale = _rate_scale(exps, fam, param, sign, dict(fixed or {}))
    offset = scale.offset if scale.offset is not None else float(scale.offsets[int(np.argmax(scale.changes))])
    return float(param.sm + sign * offset)


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
    exps: list[str],
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
) -> ParameterLimit:
    linear = _linear_poi(family, param.name)
    _check_calculator(calculator, n_toys)
    ref = reference_value(exps, family.name, param.name, fixed=fixed) if reference is None else float(reference)
    hypothesis = Hypothesis.from_mapping(family.name, {**fixed, param.name: ref})
    log.info("CLs limit on %s through %s, reference %s", param.name, linear.name, hypothesis)
    lw = linear_workspace(exps, hypothesis, linear.name)
    result = cls_upper_limit(lw.spec, cl=cl, method=calculator, n_toys=n_toys, seed=seed, backend=backend)
    upper = _parameter_from_x(linear, result.observed * lw.scale)
    expected = tuple(math.nan if (v := _parameter_from_x(linear, x * lw.scale)) is None else v for x in result.expected)
    symmetric = _sign_symmetric(param, linear, ref)
    lower = -upper if (symmetric and upper is not None) else None
    # best fit: the free fit of the linear POI, mapped back (the non-negative root)
    model, data = _model_and_data(lw.spec)
    with _backend(backend):
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
        experiments=tuple(exps),
        cl=cl,
        method="cls",
        upper_limit=upper,
        lower_limit=lower,
        best_fit=best,
        expected_upper=expected,
        allowed=((low_end, upper),),
        threshold=1.0 - cl,
        fixed=fixed,
        details={
            "calculator": calculator,
            "linear_poi": lw.poi,
            "poi_unit": lw.unit,
            "poi_scale": lw.scale,
            "poi_upper_limit": result.observed,
            "poi_expected_upper_limit": {b: _jsonable(v) for b, v in zip(BANDS, result.expected, strict=True)},
            "linear_upper_limit": result.observed * lw.scale,
            "reference": str(lw.reference),
            "best_fit_poi": _jsonable(muhat),
            "n_hypotests": len(result.points),
        },
    )


class _ProfileScan:
    """-2 ln L at mu_bsm = 1 (nuisances profiled) as a function of one parameter, cached."""

    def __init__(self, exps: list[str], family: Family, param: Parameter, fixed: dict[str, float]) -> None:
        self.exps, self.family, self.param, self.fixed = exps, family, param, fixed
        self.cache: dict[float, float] = {}
        spec = build_workspace([detectors.templates(e) for e in exps])
        model, data = _model_and_data(spec)
        _, sm_value = pyhf.infer.mle.fixed_poi_fit(1.0, data, model, return_fitted_val=True)
        self.sm_twice_nll = float(sm_value)
        self.cache[float(param.sm)] = self.sm_twice_nll
        self.failed: list[float] = []

    def __call__(self, value: float) -> float:
        value = float(value)
        if value in self.cache:
            return self.cache[value]
        hypothesis = Hypothesis.from_mapping(self.family.name, {**self.fixed, self.param.name: value})
        try:
            spec = hypothesis_workspace(self.exps, hypothesis)
        except ConfigurationError as err:  # no change of any template: the SM likelihood
            log.info("%s: %s; using the SM likelihood", hypothesis, err)
            self.cache[value] = self.sm_twice_nll
            return self.sm_twice_nll
        model, data = _model_and_data(spec)
        try:
            _, twice_nll = pyhf.infer.mle.fixed_poi_fit(1.0, data, model, return_fitted_val=True)
            result = float(twice_nll)
        except pyhf.exceptions.FailedMinimization as err:
            log.warning("fit at %s failed (%s): point dropped from the scan", hypothesis, err)
            self.failed.append(value)
            result = math.nan
        self.cache[value] = result
        log.debug("twice_nll(%s) = %.4f", hypothesis, result)
        return result


def _even_parameter(family: Family, param: Parameter) -> bool:
    """Only the square of the parameter enters (a sign-symmetric linear POI): scan one side and mirror."""
    for lp in family.linear_pois:
        if lp.parameter == param.name and _sign_symmetric(param, lp, 0.5 * param.hi if math.isfinite(param.hi) else 1):
            return True
    return False


def _side_grid(param: Parameter, sign: int, scale: _RateScale, n_side: int) -> FloatArray:
    span = _span(param, sign)
    if scale.offset is None:
        offsets = span * np.linspace(0.0, 1.0, n_side + 1)[1:]
    else:
        reach = min(_PROFILE_SPAN * scale.offset, span)
        n_lin = n_side if reach >= span else max(3, math.ceil(0.75 * n_side))
        offsets = reach * np.linspace(0.0, 1.0, n_lin + 1)[1:]
        if reach < span and n_side > n_lin:
            offsets = np.concatenate([offsets, np.geomspace(reach, span, n_side - n_lin + 1)[1:]])
    return np.asarray(param.sm + sign * offsets, dtype=float)


def _profile_parameter_limit(
    exps: list[str], family: Family, param: Parameter, *, cl: float, fixed: dict[str, float], n_grid: int, backend: str
) -> ParameterLimit:
    threshold = float(stats.chi2.ppf(cl, df=1))
    even = _even_parameter(family, param)
    sides = [s for s in (1, -1) if (param.hi > param.sm if s > 0 else param.lo < param.sm)]
    if even:
        sides = [1]
    if not sides:
        msg = f"{param.describe()} has no room around its SM value {param.sm:g} to scan"
        raise ConfigurationError(msg)
    n_side = max(4, n_grid // len(sides))
    with _backend(backend):
        scan = _ProfileScan(exps, family, param, fixed)
        grid = [float(param.sm)]
        scales: dict[int, float | None] = {}
        for sign in sides:
            scale = _rate_scale(exps, family, param, sign, fixed)
            scales[sign] = scale.offset
            grid.extend(float(v) for v in _side_grid(param, sign, scale, n_side))
        xs = np.unique(np.asarray(grid))
        ys = np.asarray([scan(x) for x in xs])
        keep = np.isfinite(ys)
        xs, ys = xs[keep], ys[keep]
        if even:  # mirror: only the square enters
            xs = np.concatenate([-xs[:0:-1], xs])
            ys = np.concatenate([ys[:0:-1], ys])

        def f(x: float) -> float:
            return scan(abs(x)) if even else scan(x)

        # refine the minimum between the neighbours of the best grid point
        i = int(np.argmin(ys))
        best_x, best_y = float(xs[i]), float(ys[i])
        lo_i, hi_i = max(i - 1, 0), min(i + 1, xs.size - 1)
        if hi_i > lo_i:
            res = optimize.minimize_scalar(
                lambda x: f(x) if math.isfinite(f(x)) else math.inf,
                bounds=(float(xs[lo_i]), float(xs[hi_i])),
                method="bounded",
                options={"xatol": 1e-3 * float(xs[hi_i] - xs[lo_i]), "maxiter": 12},
            )
            if math.isfinite(float(res.fun)) and float(res.fun) < best_y:
                best_x, best_y = float(res.x), float(res.fun)
        delta = ys - best_y
        # crossings of Delta chi2 = threshold between neighbours, refined with brentq
        crossings: list[tuple[float, bool]] = []  # (x, rising: allowed on the left)
        for k in range(xs.size - 1):
            a, b = float(xs[k]), float(xs[k + 1])
            da, db = delta[k] - threshold, delta[k + 1] - threshold
            if da * db < 0:
                root = optimize.brentq(
                    lambda x: f(x) - best_y - threshold, a, b, xtol=1e-6 * abs(b - a), rtol=1e-10, maxiter=50
                )
                crossings.append((float(root), bool(da < 0)))
    # allowed intervals, walking up from the lower end of the scan (None: open at the end of the range)
    allowed: list[tuple[float | None, float | None]] = []
    inside = bool(delta[0] < threshold)
    start: float | None = None
    for x, rising in crossings:
        if rising:  # allowed on the left of x
            allowed.append((start, x))
            inside = False
        else:
            start, inside = x, True
    if inside:
        allowed.append((start, None))
    upper = allowed[-1][1] if allowed else None
    lower = allowed[0][0] if allowed else None
    if even and best_x < 0:
        best_x = -best_x
    return ParameterLimit(
        family=family.name,
        parameter=param.name,
        unit=param.unit,
        experiments=tuple(exps),
        cl=cl,
        method="profile",
        upper_limit=upper,
        lower_limit=lower,
        best_fit=best_x,
        expected_upper=None,
        allowed=tuple(allowed),
        threshold=threshold,
        fixed=fixed,
        details={
            "twice_nll_min": best_y,
            "twice_nll_sm": scan.sm_twice_nll,
            "delta_chi2_sm": scan.sm_twice_nll - best_y,
            "scan": {"values": [float(x) for x in xs], "delta_chi2": [float(d) for d in delta]},
            "rate_scale": {("+" if s > 0 else "-"): v for s, v in scales.items()},
            "n_fits": len(scan.cache) - 1,
            "failed_fits": list(scan.failed),
            "sign_symmetric": even,
        },
    )


def parameter_limit(
    experiments: str | Sequence[str],
    family: str,
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
) -> ParameterLimit:
    """Limit on one parameter of a BSM family from the observed data.

    * ``method="cls"`` (parameters with a :class:`~cevns_hf.bsm.family.LinearPOI`, e.g. ``mu_nu_mu`` via
      ``mu_nu_mu_sq``): the CLs upper limit on the linear quantity X from a linear-POI workspace built at a
      reference point (default: :func:`reference_value`, a ~30% rate change), mapped back with
      ``LinearPOI.from_poi``. A parameter of either sign entering squared gets lower = -upper.
    * ``method="profile"``: -2 ln L of the hypothesis workspace at mu_bsm = 1 (all nuisances profiled, scipy
      optimizer) on a grid of the parameter: ``n_grid`` values, linear out to 8 x the offset of a 30% rate
      change and geometric beyond it to the end of the range (one side and mirrored for a parameter entering
      squared), plus the SM point; the minimum is refined between its neighbours and every crossing of
      Delta chi2 = chi2_1dof quantile(cl) (2.706 at 90%) is found with brentq. The limits are the outermost
      crossings (None where the likelihood stays below the threshold up to the end of the range).

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
        backend: pyhf backend.

    Returns:
        The limit.

    Raises:
        ConfigurationError: unknown family / parameter / method, or ``cls`` on a parameter without a
            linear POI (the message lists the valid choices).
    """
    cl = _check_cl(cl)
    if method not in METHODS:
        msg = f"unknown limit method {method!r}; valid choices: {', '.join(METHODS)}"
        raise ConfigurationError(msg)
    exps = _experiments(experiments)
    fam = get_family(family)
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
        )
    if int(n_grid) < 4:
        msg = f"n_grid must be >= 4, got {n_grid!r}"
        raise ConfigurationError(msg)
    return _profile_parameter_limit(exps, fam, param, cl=cl, fixed=fixed_values, n_grid=int(n_grid), backend=backend)


# --------------------------------------------------------------------------------------------------------------
# exclusion contours


def _contour_lines(
    x: FloatArray, y: FloatArray, z: FloatArray, level: float
) -> tuple[tuple[tuple[float, float], ...], ...]:
    """Lines of z(x, y) = level; z has shape (len(x), len(y)). contourpy, else matplotlib."""
    if min(x.size, y.size) < 2 or not np.any(np.isfinite(z)):
        return ()
    zt = np.ascontiguousarray(np.asarray(z, dtype=float).T)  # (ny, nx) as contour routines expect
    segments: list[FloatArray]
    masked = np.ma.masked_invalid(zt)  # type: ignore[no-untyped-call]
    try:
        import contourpy

        have_contourpy = True
    except ImportError:
        have_contourpy = False
    if have_contourpy:
        generator = contourpy.contour_generator(x=x, y=y, z=masked)
        segments = [np.asarray(s, dtype=float) for s in generator.lines(level)]
    else:
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            msg = "contour lines need contourpy or matplotlib: pip install contourpy"
            raise ConfigurationError(msg) from err
        axes = Figure().add_subplot()
        cs = axes.contour(x, y, masked, levels=[level])
        segments = [np.asarray(s, dtype=float) for s in cs.allsegs[0]]
    return tuple(tuple((float(p[0]), float(p[1])) for p in s) for s in segments if len(s) > 1)


def _log_cls(values: FloatArray) -> FloatArray:
    return np.asarray(np.log(np.clip(np.asarray(values, dtype=float), 1e-300, None)), dtype=float)


def exclusion_contour(
    experiments: str | Sequence[str],
    family: str,
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
    cl = _check_cl(cl)
    if len(grid2d) != 2:
        msg = f"an exclusion contour needs a grid over exactly two parameters, got {list(grid2d)}"
        raise ConfigurationError(msg)
    exps = _experiments(experiments)
    names = list(grid2d)
    axes = [np.asarray(grid2d[n], dtype=float) for n in names]
    for name, axis in zip(names, axes, strict=True):
        if axis.ndim != 1 or axis.size == 0 or np.any(np.diff(axis) <= 0):
            msg = f"grid values of {name!r} must be a non-empty increasing sequence, got {list(axis)}"
            raise ConfigurationError(msg)
    bkg, ps = build_patchset(
        exps, family, {n: [float(v) for v in a] for n, a in zip(names, axes, strict=True)}, fixed=fixed
    )
    patchset = pyhf.PatchSet(ps)
    points = grid_points({n: list(a) for n, a in zip(names, axes, strict=True)})
    shape = (axes[0].size, axes[1].size)
    observed = np.ones(len(points))
    expected = np.ones((5, len(points)))
    with _backend(backend):
        for k, patch in enumerate(patchset.patches):
            if list(patch.patch):
                model, data = _model_and_data(patch.apply(bkg))
                result = _hypotest(model, data, 1.0, "asymptotic", 0, None)
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
    contours = {"observed": _contour_lines(axes[0], axes[1], _log_cls(obs), level)}
    for i, band in enumerate(BANDS):
        contours[f"expected_{band}"] = _contour_lines(axes[0], axes[1], _log_cls(exp[i]), level)
    return ExclusionContour(
        family=family,
        experiments=tuple(exps),
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
