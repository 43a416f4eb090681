r"""Intervals located on the profiled curve itself, to a stated tolerance, whatever grid was given.

A grid scan gives :math:`\Delta\chi^2` at grid points only; interval ends interpolated across a cell are
only as good as the cell is small. Here every reported number is refined on the profile likelihood itself
(the fast engine, :class:`~cevns_hf.inference.profile.HypothesisLikelihood`, through an ``evaluate``
callable):

1. **Unresolved cells are subdivided.** A cell is unresolved when the curve changes across it by more than
   the largest level while one of its ends lies below that level (linear interpolation across it cannot be
   trusted), or when an allowed run is a single grid point (an interval narrower than two cells). Each
   such cell gets ``subdivide - 1`` new points (in log x on a geometric axis), at most ``max_rounds``
   times; cells still unresolved are reported.
2. **Every local minimum is refined** by bounded Brent minimisation between its neighbours
   (:func:`scipy.optimize.minimize_scalar`); the deepest is the global minimum, the others within
   :math:`\Delta\chi^2 \le 25` are reported with their depth above it.
3. **Every crossing** of :math:`\Delta\chi^2 = L` is bracketed on the (refined) grid and solved with
   :func:`scipy.optimize.brentq` on :math:`-2\ln L(x) - \min - L`, and kept only when
   :math:`|\Delta\chi^2 - L| <` ``tol`` at the root (default 0.01); the largest deviation found is the
   achieved precision.

An allowed region that reaches the end of the grid is open there (``open_lo`` / ``open_hi``): the grid,
not the data, bounds it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.intervals import Interval, is_geometric

__all__ = ["DEFAULT_TOLERANCE", "ExactCurve", "LocalMinimum", "refine_curve"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Largest accepted |Delta chi2 - level| at a reported interval end.
DEFAULT_TOLERANCE = 0.01
#: Secondary minima deeper than this (5 sigma, 1 dof) above the global one are not reported: they bear on
#: no interval, and far from the allowed region they can be points where the profile fit did not converge.
_REPORTED_DEPTH = 25.0
#: A profile evaluation: (m,) parameter values -> (m,) -2 ln L (nuisances profiled).
Evaluate = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class LocalMinimum:
    """A local minimum of the profiled curve.

    Attributes:
        x: its position.
        twice_nll: -2 ln L there.
        depth: Delta chi2 above the global minimum (0 for the global minimum).
    """

    x: float
    twice_nll: float
    depth: float


@dataclass(frozen=True)
class ExactCurve:
    """A 1D profile curve with its minima and intervals located on the curve itself.

    Attributes:
        x: every evaluated position (the grid and the refinement points), increasing.
        twice_nll: -2 ln L at ``x``.
        minima: the global minimum first, then secondary minima by depth.
        intervals: level name -> allowed intervals (ends solved on the curve).
        levels: level name -> Delta chi2 threshold.
        tolerance: the requested largest |Delta chi2 - level| at an interval end.
        precision: the largest |Delta chi2 - level| found at a reported end (0 when there is none).
        unresolved: (lo, hi) cells where the curve is still not resolved after the subdivisions.
        n_evaluations: profile evaluations spent on the refinement (beyond the grid).
    """

    x: FloatArray
    twice_nll: FloatArray
    minima: tuple[LocalMinimum, ...]
    intervals: Mapping[str, tuple[Interval, ...]]
    levels: Mapping[str, float]
    tolerance: float
    precision: float
    unresolved: tuple[tuple[float, float], ...] = ()
    n_evaluations: int = 0
    notes: tuple[str, ...] = field(default=())

    @property
    def best_fit(self) -> float:
        """Position of the global minimum."""
        return self.minima[0].x

    @property
    def minimum(self) -> float:
        """-2 ln L at the global minimum."""
        return self.minima[0].twice_nll

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "best_fit": self.best_fit,
            "twice_nll_min": self.minimum,
            "minima": [{"x": m.x, "twice_nll": m.twice_nll, "depth": m.depth} for m in self.minima],
            "intervals": {k: [[iv.lo, iv.hi] for iv in v] for k, v in self.intervals.items()},
            "open_ends": {k: [[iv.open_lo, iv.open_hi] for iv in v] for k, v in self.intervals.items()},
            "levels": dict(self.levels),
            "tolerance": self.tolerance,
            "precision": self.precision,
            "unresolved": [list(c) for c in self.unresolved],
            "n_evaluations": self.n_evaluations,
            "notes": list(self.notes),
        }


class _Curve:
    """The evaluated points of the curve, kept sorted, with a counter of new evaluations."""

    def __init__(self, x: FloatArray, f: FloatArray, evaluate: Evaluate) -> None:
        order = np.argsort(x)
        self.x, self.f = np.asarray(x, dtype=float)[order], np.asarray(f, dtype=float)[order]
        self.evaluate = evaluate
        self.count = 0

    def add(self, xs: FloatArray) -> None:
        new = np.setdiff1d(np.asarray(xs, dtype=float), self.x)
        if new.size == 0:
            return
        values = np.asarray(self.evaluate(new), dtype=float)
        self.count += new.size
        x = np.concatenate([self.x, new])
        f = np.concatenate([self.f, np.where(np.isfinite(values), values, np.inf)])
        order = np.argsort(x)
        self.x, self.f = x[order], f[order]

    def at(self, x: float) -> float:
        hit = np.flatnonzero(self.x == x)
        if hit.size:
            return float(self.f[hit[0]])
        self.add(np.array([x]))
        return float(self.f[np.flatnonzero(self.x == x)[0]])


def _between(a: float, b: float, k: int, log_x: bool) -> FloatArray:
    """``k - 1`` points dividing (a, b) evenly (in log10 for a geometric axis)."""
    if log_x and a > 0 and b > 0:
        return np.asarray(np.geomspace(a, b, k + 1)[1:-1], dtype=float)
    return np.asarray(np.linspace(a, b, k + 1)[1:-1], dtype=float)


def _unresolved(curve: _Curve, top: float) -> list[int]:
    """Cells i (between x[i] and x[i+1]) where the curve is not resolved below the level ``top``."""
    d = curve.f - np.min(curve.f)
    cells = []
    for i in range(d.size - 1):
        lo, hi = sorted((d[i], d[i + 1]))
        if lo < top and (hi - lo > top or not math.isfinite(hi)):
            cells.append(i)
    below = d <= top
    for i in range(d.size):  # an allowed run of one point: refine both neighbouring cells
        if below[i] and (i == 0 or not below[i - 1]) and (i == d.size - 1 or not below[i + 1]):
            cells.extend(c for c in (i - 1, i) if 0 <= c < d.size - 1)
    return sorted(set(cells))


def _refine_minimum(curve: _Curve, i: int) -> tuple[float, float]:
    """Bounded Brent minimisation between the neighbours of the local minimum at index ``i``."""
    lo, hi = curve.x[max(i - 1, 0)], curve.x[min(i + 1, curve.x.size - 1)]
    best_x, best_f = float(curve.x[i]), float(curve.f[i])
    if hi <= lo:
        return best_x, best_f
    res = optimize.minimize_scalar(
        lambda x: curve.at(float(x)),
        bounds=(float(lo), float(hi)),
        method="bounded",
        options={"xatol": 1e-9 * max(abs(hi - lo), 1e-300), "maxiter": 60},
    )
    if math.isfinite(float(res.fun)) and float(res.fun) < best_f:
        return float(res.x), float(res.fun)
    return best_x, best_f


def refine_curve(
    x: FloatArray,
    twice_nll: FloatArray,
    evaluate: Evaluate,
    levels: Mapping[str, float],
    *,
    tol: float = DEFAULT_TOLERANCE,
    log_x: bool | None = None,
    subdivide: int = 4,
    max_rounds: int = 8,
    max_minima: int = 4,
) -> ExactCurve:
    """Minima and intervals of a 1D profile curve, located on the curve itself (see the module docstring).

    Args:
        x: grid positions (any order; at least two).
        twice_nll: -2 ln L at ``x``.
        evaluate: -2 ln L at new positions (the fast engine).
        levels: level name -> Delta chi2 threshold.
        tol: largest accepted |Delta chi2 - level| at an interval end.
        log_x: subdivide in log10 x (default: when the grid is geometric).
        subdivide: each unresolved cell is split into this many cells per round.
        max_rounds: subdivision rounds at most.
        max_minima: local minima refined at most (the lowest ones).

    Returns:
        The refined curve; ``precision`` is the largest |Delta chi2 - level| at the reported ends.

    Raises:
        ConfigurationError: fewer than two grid points, or no finite likelihood.
    """
    xs = np.asarray(x, dtype=float)
    if xs.size < 2 or not levels:
        msg = f"an exact interval needs at least two grid points and a level, got {xs.size} and {dict(levels)}"
        raise ConfigurationError(msg)
    curve = _Curve(xs, np.asarray(twice_nll, dtype=float), evaluate)
    if not np.any(np.isfinite(curve.f)):
        msg = "no grid point has a finite likelihood"
        raise ConfigurationError(msg)
    geometric = is_geometric(curve.x) if log_x is None else bool(log_x)
    top = max(levels.values())
    notes: list[str] = []
    for _ in range(max_rounds):
        cells = _unresolved(curve, top)
        if not cells:
            break
        curve.add(np.concatenate([_between(curve.x[i], curve.x[i + 1], subdivide, geometric) for i in cells]))
    unresolved = tuple((float(curve.x[i]), float(curve.x[i + 1])) for i in _unresolved(curve, top))
    if unresolved:
        notes.append(f"{len(unresolved)} cell(s) still unresolved after {max_rounds} subdivision rounds")
    # minima: every grid-local minimum (lowest first), refined between its neighbours
    f = curve.f
    is_min = np.isfinite(f) & (np.r_[np.inf, f[:-1]] >= f) & (np.r_[f[1:], np.inf] >= f)
    candidates = sorted(np.flatnonzero(is_min).tolist(), key=lambda i: f[i])[:max_minima]
    found = [_refine_minimum(curve, int(np.flatnonzero(curve.x == xs_i)[0])) for xs_i in curve.x[candidates]]
    found.sort(key=lambda m: m[1])
    f_min = found[0][1]
    minima = tuple(LocalMinimum(mx, mf, mf - f_min) for mx, mf in found if mf - f_min <= _REPORTED_DEPTH)
    # crossings of every level, solved on the curve
    precision = 0.0
    out: dict[str, tuple[Interval, ...]] = {}
    for name, level in levels.items():
        grid_x = curve.x.copy()  # the root finding below adds points to the curve
        d = curve.f - f_min - level
        inside = d <= 0
        ends: list[tuple[float, bool]] = []  # (x, True: an allowed region starts there)
        for i in range(d.size - 1):
            if inside[i] == inside[i + 1]:
                continue
            a, b = float(grid_x[i]), float(grid_x[i + 1])
            if not (math.isfinite(d[i]) and math.isfinite(d[i + 1])):
                root = b if inside[i + 1] else a
            else:
                root = optimize.brentq(
                    lambda t, lv=level: curve.at(float(t)) - f_min - lv, a, b, xtol=1e-14 * max(abs(a), abs(b), 1e-300)
                )
            miss = abs(curve.at(float(root)) - f_min - level)
            if miss >= tol:
                notes.append(f"{name}: |Delta chi2 - level| = {miss:.3g} at {root:.6g} (tolerance {tol})")
            precision = max(precision, miss)
            ends.append((float(root), bool(inside[i + 1])))
        intervals: list[Interval] = []
        first, last = float(grid_x[0]), float(grid_x[-1])
        start: float | None = first if inside[0] else None
        for root, opens in ends:
            if opens:
                start = root
            elif start is not None:
                intervals.append(Interval(start, root, open_lo=bool(inside[0]) and start == first))
                start = None
        if start is not None:
            intervals.append(Interval(start, last, open_lo=bool(inside[0]) and start == first, open_hi=True))
        out[name] = tuple(intervals)
    return ExactCurve(
        x=curve.x,
        twice_nll=curve.f,
        minima=minima,
        intervals=out,
        levels=dict(levels),
        tolerance=tol,
        precision=precision,
        unresolved=unresolved,
        n_evaluations=curve.count,
        notes=tuple(notes),
    )
