r"""2D allowed-region contours located on the profiled surface itself, to a stated tolerance.

The grid only brackets a contour: on every grid edge whose two nodes lie on either side of
:math:`\Delta\chi^2 = L`, the crossing is solved on the profile likelihood itself (all edges of a level
at once, a batched Illinois regula falsi on :math:`-2\ln L - \min - L` along the edge, in log10 of a
geometric axis), and the contour lines are drawn through these solved points with the marching-squares
topology of the grid (:func:`~cevns_hf.inference.intervals.marching_squares`). The minimum is refined
first (Nelder-Mead from the best grid point, inside the grid), so that :math:`\Delta\chi^2` is measured from
the true minimum. Cells whose corners differ by more than the largest level while one corner is below it
are reported as *unresolved*: a contour may bend through them in ways the grid cannot show.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize

from cevns_hf._typing import FloatArray
from cevns_hf.inference.intervals import marching_squares

__all__ = ["ExactContours", "refine_contours"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: A profile evaluation: (m, 2) points -> (m,) -2 ln L (nuisances profiled).
Evaluate2D = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class ExactContours:
    """Contours of a 2D profile surface with their crossing points solved on the surface.

    Attributes:
        best_fit: (x, y) of the refined minimum.
        minimum: -2 ln L there.
        contours: level name -> polylines (k, 2) of (x, y).
        levels: level name -> Delta chi2 threshold (2 dof).
        tolerance: the requested largest |Delta chi2 - level| at a contour point.
        precision: the largest |Delta chi2 - level| found at a contour point.
        unresolved: (x0, x1, y0, y1) cells the grid does not resolve.
        n_evaluations: profile evaluations spent on the refinement.
    """

    best_fit: tuple[float, float]
    minimum: float
    contours: Mapping[str, tuple[FloatArray, ...]]
    levels: Mapping[str, float]
    tolerance: float
    precision: float
    unresolved: tuple[tuple[float, float, float, float], ...] = ()
    n_evaluations: int = 0
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "best_fit": list(self.best_fit),
            "twice_nll_min": self.minimum,
            "contours": {k: [line.tolist() for line in v] for k, v in self.contours.items()},
            "levels": dict(self.levels),
            "tolerance": self.tolerance,
            "precision": self.precision,
            "unresolved": [list(c) for c in self.unresolved],
            "n_evaluations": self.n_evaluations,
            "notes": list(self.notes),
        }


def _coords(values: FloatArray, log_axis: bool) -> FloatArray:
    return np.log10(values) if log_axis else np.asarray(values, dtype=float)


def _values(coords: FloatArray, log_axis: bool) -> FloatArray:
    return np.asarray(10.0**coords if log_axis else coords, dtype=float)


def _unresolved_cells(delta: FloatArray, top: float) -> list[tuple[int, int]]:
    cells = []
    for i in range(delta.shape[0] - 1):
        for j in range(delta.shape[1] - 1):
            corners = delta[i : i + 2, j : j + 2]
            lo, hi = float(np.min(corners)), float(np.max(corners))
            if lo < top and (hi - lo > top or not np.isfinite(hi)):
                cells.append((i, j))
    return cells


def _solve_edges(
    evaluate: Evaluate2D,
    start: FloatArray,
    stop: FloatArray,
    g_start: FloatArray,
    g_stop: FloatArray,
    to_points: Callable[[FloatArray], FloatArray],
    tol: float,
    max_iter: int = 80,
) -> tuple[FloatArray, FloatArray, int]:
    """Roots of g along m segments (batched Illinois regula falsi); (points (m, 2), |g| at them, evaluations)."""
    a, b = np.array(start, dtype=float), np.array(stop, dtype=float)
    fa, fb = np.array(g_start, dtype=float), np.array(g_stop, dtype=float)
    best = np.where(np.abs(fa) < np.abs(fb), 0.0, 1.0)  # parameter t of the best point so far
    best_g = np.minimum(np.abs(fa), np.abs(fb))
    lo, hi = np.zeros(a.shape[0]), np.ones(a.shape[0])  # the bracket in t
    side = np.zeros(a.shape[0], dtype=int)
    count = 0
    todo = np.flatnonzero(best_g >= 0.1 * tol)
    for _ in range(max_iter):
        if todo.size == 0:
            break
        t = lo[todo] - fa[todo] * (hi[todo] - lo[todo]) / (fb[todo] - fa[todo])
        t = np.where(np.isfinite(t) & (t > lo[todo]) & (t < hi[todo]), t, 0.5 * (lo[todo] + hi[todo]))
        pts = to_points(a[todo] + t[:, None] * (b[todo] - a[todo]))
        g = np.asarray(evaluate(pts), dtype=float)
        count += todo.size
        g = np.where(np.isfinite(g), g, np.inf)
        better = np.abs(g) < best_g[todo]
        best[todo[better]], best_g[todo[better]] = t[better], np.abs(g[better])
        left = np.sign(g) == np.sign(fa[todo])
        # Illinois: halve the retained end's value when the same side moves twice
        keep_hi = todo[left]
        lo[keep_hi], fa[keep_hi] = t[left], g[left]
        fb[keep_hi] = np.where(side[keep_hi] == -1, 0.5 * fb[keep_hi], fb[keep_hi])
        side[keep_hi] = -1
        keep_lo = todo[~left]
        hi[keep_lo], fb[keep_lo] = t[~left], g[~left]
        fa[keep_lo] = np.where(side[keep_lo] == 1, 0.5 * fa[keep_lo], fa[keep_lo])
        side[keep_lo] = 1
        todo = todo[(best_g[todo] >= 0.1 * tol) & (hi[todo] - lo[todo] > 1e-13)]
    return to_points(a + best[:, None] * (b - a)), best_g, count


def _identity(uv: FloatArray) -> FloatArray:
    return uv


def refine_contours(
    x: FloatArray,
    y: FloatArray,
    twice_nll: FloatArray,
    evaluate: Evaluate2D,
    levels: Mapping[str, float],
    *,
    tol: float = 0.01,
    log_x: bool = False,
    log_y: bool = False,
) -> ExactContours:
    """Contours of a 2D profile surface with every point solved on the surface (see the module docstring).

    Args:
        x: first-axis grid values (n), increasing.
        y: second-axis grid values (m), increasing.
        twice_nll: (n, m) -2 ln L on the grid.
        evaluate: -2 ln L at (k, 2) new points.
        levels: level name -> Delta chi2 threshold (2 dof).
        tol: largest accepted |Delta chi2 - level| at a contour point.
        log_x: the first axis is geometric (solve and interpolate in log10 x); likewise ``log_y``.

    Returns:
        The refined minimum and contours; ``precision`` is the largest |Delta chi2 - level| at a point.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    f = np.where(np.isfinite(twice_nll), np.asarray(twice_nll, dtype=float), np.inf)
    u, v = _coords(xs, log_x), _coords(ys, log_y)
    count = 0

    def to_points(uv: FloatArray) -> FloatArray:
        return np.column_stack([_values(uv[:, 0], log_x), _values(uv[:, 1], log_y)])

    def scalar(uv: FloatArray) -> float:
        nonlocal count
        clipped = np.clip(uv, [u[0], v[0]], [u[-1], v[-1]])
        count += 1
        value = float(np.asarray(evaluate(to_points(clipped[None, :])), dtype=float)[0])
        return value if np.isfinite(value) else float("inf")

    flat = np.unravel_index(int(np.argmin(f)), f.shape)
    i0, j0 = int(flat[0]), int(flat[1])
    step = np.array([u[min(i0 + 1, u.size - 1)] - u[max(i0 - 1, 0)], v[min(j0 + 1, v.size - 1)] - v[max(j0 - 1, 0)]])
    start = np.array([u[i0], v[j0]])
    simplex = np.array([start, start + np.array([0.25 * step[0], 0.0]), start + np.array([0.0, 0.25 * step[1]])])
    res = optimize.minimize(
        scalar, start, method="Nelder-Mead", options={"initial_simplex": simplex, "xatol": 1e-10, "fatol": 1e-6}
    )
    best_uv = np.clip(res.x, [u[0], v[0]], [u[-1], v[-1]])
    f_min = min(float(res.fun), float(f[i0, j0]))
    if f_min == float(f[i0, j0]):
        best_uv = start
    notes: list[str] = []
    precision = 0.0
    out: dict[str, tuple[FloatArray, ...]] = {}
    for name, level in levels.items():
        g = f - f_min - level
        below = g < 0
        starts, stops, keys, g0, g1 = [], [], [], [], []
        for i in range(u.size):
            for j in range(v.size):
                if i + 1 < u.size and below[i, j] != below[i + 1, j]:
                    starts.append((u[i], v[j]))
                    stops.append((u[i + 1], v[j]))
                    keys.append((0, i, j))
                    g0.append(g[i, j])
                    g1.append(g[i + 1, j])
                if j + 1 < v.size and below[i, j] != below[i, j + 1]:
                    starts.append((u[i], v[j]))
                    stops.append((u[i], v[j + 1]))
                    keys.append((1, i, j))
                    g0.append(g[i, j])
                    g1.append(g[i, j + 1])
        if not keys:
            out[name] = ()
            continue

        def shifted(uv: FloatArray, lv: float = level) -> FloatArray:
            return np.asarray(evaluate(to_points(uv)), dtype=float) - f_min - lv

        pts, miss, n_eval = _solve_edges(
            shifted,
            np.array(starts),
            np.array(stops),
            np.array(g0),
            np.array(g1),
            _identity,
            tol,
        )
        count += n_eval
        solved_uv = pts
        worst = float(np.max(np.where(np.isfinite(miss), miss, np.inf)))
        precision = max(precision, worst)
        if worst >= tol:
            notes.append(f"{name}: {int(np.sum(miss >= tol))} contour point(s) not solved to {tol}")
        edge_points = {k: (float(p[0]), float(p[1])) for k, p in zip(keys, solved_uv, strict=True)}
        lines = marching_squares(u, v, np.where(np.isfinite(g), g, np.inf), 0.0, edge_points=edge_points)
        out[name] = tuple(to_points(np.asarray(line, dtype=float)) for line in lines)
    top = max(levels.values())
    cells = _unresolved_cells(f - f_min, top)
    unresolved = tuple((float(xs[i]), float(xs[i + 1]), float(ys[j]), float(ys[j + 1])) for i, j in cells)
    if unresolved:
        notes.append(f"{len(unresolved)} grid cell(s) with a jump larger than the largest level")
    best = to_points(best_uv[None, :])[0]
    return ExactContours(
        best_fit=(float(best[0]), float(best[1])),
        minimum=f_min,
        contours=out,
        levels=dict(levels),
        tolerance=tol,
        precision=precision,
        unresolved=unresolved,
        n_evaluations=count,
        notes=tuple(notes),
    )
