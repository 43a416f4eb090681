"""Every result type of :mod:`cevns_hf.inference`, with its JSON form (``to_dict``).

Fits (:class:`FitResult`), scans (:class:`ScanResult`), CLs points and limits (:class:`CLsPoint`,
:class:`LimitResult`), parameter limits (:class:`ParameterLimit`) and exclusion contours
(:class:`ExclusionContour`). JSON has no NaN or Infinity: non-finite numbers become ``null``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.exact import ExactCurve
from cevns_hf.inference.exact_contours import ExactContours
from cevns_hf.inference.intervals import DEFAULT_LEVELS, Interval, contours, intervals, level_value

__all__ = [
    "BANDS",
    "CLsPoint",
    "ExclusionContour",
    "FitResult",
    "LimitResult",
    "ParameterLimit",
    "ScanResult",
    "jsonable",
]


def __dir__() -> list[str]:
    return __all__


#: Expected-band labels, in pyhf's order (CLs_exp[0] is the -2 sigma band).
BANDS = ("-2sigma", "-1sigma", "median", "+1sigma", "+2sigma")


def jsonable(value: float | None) -> float | None:
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
            "cls_observed": jsonable(self.observed),
            "cls_expected": {b: jsonable(v) for b, v in zip(BANDS, self.expected, strict=True)},
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
            "observed": jsonable(self.observed),
            "expected": {b: jsonable(v) for b, v in zip(BANDS, self.expected, strict=True)},
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
        without_es: neutrino-electron scattering was left out.
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
    without_es: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``cevns-hf limit --json`` contract)."""
        out: dict[str, Any] = {
            "family": self.family,
            "parameter": self.parameter,
            "unit": self.unit,
            "experiments": list(self.experiments),
            "cl": self.cl,
            "method": self.method,
            "upper_limit": jsonable(self.upper_limit),
            "lower_limit": jsonable(self.lower_limit),
            "best_fit": jsonable(self.best_fit),
            "expected_upper_limit": (
                None
                if self.expected_upper is None
                else {b: jsonable(v) for b, v in zip(BANDS, self.expected_upper, strict=True)}
            ),
            "allowed_intervals": [[jsonable(a), jsonable(b)] for a, b in self.allowed],
            "threshold": jsonable(self.threshold),
            "fixed": dict(self.fixed),
            "without_es": self.without_es,
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


def _finite(values: FloatArray) -> FloatArray:
    return np.where(np.isfinite(values), values, np.inf)


@dataclass(frozen=True)
class FitResult:
    """Result of a maximum-likelihood fit.

    Attributes:
        twice_nll: -2 ln L at the best fit.
        parameters: parameter name -> (best-fit value, HESSE error); vector parameters get ``name[i]``.
        cevns_events: channel -> (fitted CEvNS events, error).
        predicted_cevns: channel -> CEvNS events at nominal parameters (mu = 1, nuisances 0).
    """

    twice_nll: float
    parameters: Mapping[str, tuple[float, float]]
    cevns_events: Mapping[str, tuple[float, float]]
    predicted_cevns: Mapping[str, float]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (the ``cevns-hf fit --json`` contract)."""
        return {
            "cevns_events": {k: {"value": v, "error": e} for k, (v, e) in self.cevns_events.items()},
            "predicted_cevns_events": dict(self.predicted_cevns),
            "twice_nll": self.twice_nll,
            "parameters": {k: {"value": v, "error": e} for k, (v, e) in self.parameters.items()},
        }


@dataclass(frozen=True, eq=False)
class ScanResult:
    """Result of :func:`profile_scan`.

    Attributes:
        experiments: the channels fitted.
        family: the hypothesis family.
        parameters: the grid axes, in order.
        grid: axis name -> values.
        twice_nll: pyhf's -2 ln L (nuisances profiled) at every grid point, shape (n1, n2, ...).
        fixed: family parameters held fixed (the others not scanned nor profiled are at their SM values).
        profiled: profiled physics parameter -> its best value at every grid point (same shape).
        nuisances: names of the nuisance parameters.
        theta: profiled nuisances at every grid point, shape (n1, n2, ..., K).
        converged: (n1, n2, ...) True where the nuisance profile converged.
        without_es: whether electron scattering was left out.
        exact: 1D scans: the curve refined on the profile likelihood itself (minima and interval ends to a
            stated tolerance, :mod:`cevns_hf.inference.exact`); :meth:`intervals` and :attr:`best_fit` use it.
        exact_profiled: profiled physics parameters at the exact best fit.
        exact_contours: 2D scans: the minimum and the contour points solved on the profiled surface
            (:mod:`cevns_hf.inference.exact_contours`); :meth:`contours` and :attr:`best_fit` use it.
    """

    experiments: tuple[str, ...]
    family: str
    parameters: tuple[str, ...]
    grid: Mapping[str, tuple[float, ...]]
    twice_nll: FloatArray
    fixed: Mapping[str, float] = field(default_factory=dict)
    profiled: Mapping[str, FloatArray] = field(default_factory=dict)
    nuisances: tuple[str, ...] = ()
    theta: FloatArray = field(default_factory=lambda: np.empty(0))
    converged: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=bool))
    without_es: bool = False
    exact: ExactCurve | None = None
    exact_profiled: Mapping[str, float] = field(default_factory=dict)
    exact_contours: ExactContours | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape (n1, n2, ...)."""
        return tuple(len(self.grid[p]) for p in self.parameters)

    @property
    def minimum(self) -> float:
        """Smallest twice_nll on the grid."""
        finite = self.twice_nll[np.isfinite(self.twice_nll)]
        if finite.size == 0:
            msg = "no grid point has a finite likelihood"
            raise ConfigurationError(msg)
        return float(np.min(finite))

    @property
    def delta_chi2(self) -> FloatArray:
        """twice_nll minus its minimum over the grid (inf where the likelihood is not finite)."""
        return _finite(self.twice_nll) - self.minimum

    @property
    def best_index(self) -> tuple[int, ...]:
        """Grid index of the minimum (the first in C order on a tie)."""
        flat = int(np.argmin(_finite(self.twice_nll)))
        return tuple(int(i) for i in np.unravel_index(flat, self.shape))

    @property
    def best_fit(self) -> dict[str, float]:
        """The best point: its parameter values, profiled physics parameters and ``twice_nll``.

        With :attr:`exact` (1D) the refined minimum; otherwise the best grid point.
        """
        if self.exact is not None:
            return {self.parameters[0]: self.exact.best_fit, **self.exact_profiled, "twice_nll": self.exact.minimum}
        if self.exact_contours is not None:
            (px, py), (bx, by) = self.parameters, self.exact_contours.best_fit
            return {px: bx, py: by, "twice_nll": self.exact_contours.minimum}
        idx = self.best_index
        out = {p: float(self.grid[p][i]) for p, i in zip(self.parameters, idx, strict=True)}
        for name, values in self.profiled.items():
            out[name] = float(values[idx])
        out["twice_nll"] = float(self.twice_nll[idx])
        return out

    def profile_curve(self, parameter: str) -> FloatArray:
        """Delta chi2 along one axis, minimised over the other axes (the curve itself for a 1D scan)."""
        if parameter not in self.parameters:
            msg = f"{parameter!r} is not a scanned parameter; scanned: {list(self.parameters)}"
            raise ConfigurationError(msg)
        axis = self.parameters.index(parameter)
        others = tuple(i for i in range(len(self.parameters)) if i != axis)
        delta = self.delta_chi2
        return np.min(delta, axis=others) if others else delta

    def intervals(self, level: str | float = "1sigma", parameter: str | None = None) -> list[Interval]:
        """1-dof intervals of ``parameter`` (default: the only axis) from :meth:`profile_curve`."""
        if parameter is None:
            if len(self.parameters) != 1:
                msg = f"give the parameter for a {len(self.parameters)}D scan: one of {list(self.parameters)}"
                raise ConfigurationError(msg)
            parameter = self.parameters[0]
        if self.exact is not None and isinstance(level, str) and level in self.exact.intervals:
            return list(self.exact.intervals[level])
        return intervals(self.grid[parameter], self.profile_curve(parameter), level, dof=1)

    def contours(self, level: str | float = "1sigma") -> list[FloatArray]:
        """2-dof allowed-region contours of a 2D scan (polylines of (x, y))."""
        if len(self.parameters) != 2:
            msg = f"contours need a 2D scan, this one has {len(self.parameters)} axes"
            raise ConfigurationError(msg)
        if self.exact_contours is not None and isinstance(level, str) and level in self.exact_contours.contours:
            return list(self.exact_contours.contours[level])
        x, y = self.parameters
        return contours(self.grid[x], self.grid[y], self.delta_chi2, level, dof=2)

    def to_dict(self, levels: Sequence[str] = DEFAULT_LEVELS) -> dict[str, Any]:
        """JSON-ready form (the ``cevns-hf scan --json`` contract).

        Keys: ``parameters``, ``grid``, ``delta_chi2`` (nested lists [n1][n2]...; ``null`` where the
        likelihood is not finite), ``best_fit`` ({name: value, ..., "twice_nll": x}), ``levels`` (the Delta chi2
        thresholds used: {name: {"1": x, "2": y}}), ``experiments``, ``family``, ``fixed``, ``profiled``
        (names), ``without_es``, ``converged`` (all points) and ``n_not_converged``. A 1D scan adds
        ``intervals`` ({level: [[lo, hi], ...]}, 1 dof) and ``open_ends`` ({level: [[lo_open, hi_open], ...]},
        true where the interval stops at the grid edge); a 2D scan adds ``contours`` ({level: [[[x, y], ...],
        ...]}, 2 dof) and ``profiled_intervals`` ({parameter: {level: [[lo, hi], ...]}}: 1-dof intervals of
        the curve minimised over the other axis); higher dimensions only the latter. With profiled physics
        parameters, ``profiled_values`` gives their best value at every grid point (nested like
        ``delta_chi2``).
        """
        delta = self.delta_chi2
        out: dict[str, Any] = {
            "experiments": list(self.experiments),
            "family": self.family,
            "parameters": list(self.parameters),
            "grid": {p: list(self.grid[p]) for p in self.parameters},
            "fixed": dict(self.fixed),
            "profiled": list(self.profiled),
            "without_es": self.without_es,
            "delta_chi2": _nested(delta),
            "best_fit": self.best_fit,
            "levels": {lv: {"1": level_value(lv, 1), "2": level_value(lv, 2)} for lv in levels},
            "converged": bool(np.all(self.converged)),
            "n_not_converged": int(np.sum(~np.asarray(self.converged, dtype=bool))),
        }
        if self.profiled:
            out["profiled_values"] = {k: _nested(v) for k, v in self.profiled.items()}
        if self.exact is not None:
            out["exact"] = self.exact.to_dict()
        if self.exact_contours is not None:
            out["exact_contours"] = self.exact_contours.to_dict()
        if len(self.parameters) == 1:
            ivs = {lv: self.intervals(lv) for lv in levels}
            out["intervals"] = {lv: [[iv.lo, iv.hi] for iv in v] for lv, v in ivs.items()}
            out["open_ends"] = {lv: [[iv.open_lo, iv.open_hi] for iv in v] for lv, v in ivs.items()}
            return out
        if len(self.parameters) == 2:
            out["contours"] = {lv: [line.tolist() for line in self.contours(lv)] for lv in levels}
        out["profiled_intervals"] = {
            p: {lv: [[iv.lo, iv.hi] for iv in self.intervals(lv, p)] for lv in levels} for p in self.parameters
        }
        return out


def _nested(values: FloatArray) -> Any:
    arr = np.asarray(values, dtype=float)
    if arr.ndim == 0:
        return float(arr) if math.isfinite(float(arr)) else None
    return [_nested(v) for v in arr]
