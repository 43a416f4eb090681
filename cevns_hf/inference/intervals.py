r"""Confidence levels, intervals and contours of Delta chi2 curves and surfaces: one module for all of them.

* :data:`LEVELS` / :func:`level_value` / :func:`chi2_threshold`: the Delta chi2 thresholds (Wilks' theorem,
  ``physics.md`` section 7): exact chi-square quantiles of the coverage, e.g. ``"1sigma"`` 1.00 (1 dof) /
  2.30 (2 dof), ``"90"`` 2.71 / 4.61, ``"2sigma"`` 4.00 / 6.18, ``"95"`` 3.84 / 5.99, ``"3sigma"`` 9.00 / 11.83.
* :func:`intervals`: unions of disjoint intervals of a 1D curve (crossings interpolated linearly, in
  log x on a geometric grid).
* :func:`contours`: allowed-region boundaries of a 2D surface; :func:`iso_lines` is the one contour
  routine underneath (``contourpy`` when installed, else :func:`marching_squares`), also used for CLs
  exclusion contours.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import special, stats

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError

__all__ = [
    "DEFAULT_LEVELS",
    "LEVELS",
    "Interval",
    "as_axis",
    "chi2_threshold",
    "contours",
    "intervals",
    "is_geometric",
    "iso_lines",
    "level_value",
    "local_minimum_mask",
    "marching_squares",
]


def __dir__() -> list[str]:
    return __all__


def local_minimum_mask(values: FloatArray, first_axis: int = 0) -> np.ndarray:
    """Mask of the finite entries of ``values`` not above any neighbour along the axes ``first_axis``, ... (a
    leading axis before ``first_axis`` holds independent curves or surfaces).

    Example:
        >>> local_minimum_mask(np.array([3.0, 1.0, 2.0, 0.5, 4.0])).tolist()
        [False, True, False, True, False]
    """
    mask = np.isfinite(values)
    for axis in range(first_axis, values.ndim):
        pad = [(0, 0)] * values.ndim
        pad[axis] = (1, 1)
        padded = np.pad(values, pad, constant_values=np.inf)
        lower = np.take(padded, np.arange(values.shape[axis]), axis=axis)
        upper = np.take(padded, np.arange(2, values.shape[axis] + 2), axis=axis)
        mask &= (values <= lower) & (values <= upper)
    return mask


def _gaussian_coverage(n_sigma: float) -> float:
    return float(special.erf(n_sigma / math.sqrt(2.0)))


_PROBABILITIES = {
    "1sigma": _gaussian_coverage(1.0),
    "90": 0.90,
    "2sigma": _gaussian_coverage(2.0),
    "95": 0.95,
    "3sigma": _gaussian_coverage(3.0),
}


#: level name -> (Delta chi2 threshold for 1 dof, for 2 dof): exact chi-square quantiles of the coverage.
LEVELS: dict[str, tuple[float, float]] = {
    name: (float(stats.chi2.ppf(p, 1)), float(stats.chi2.ppf(p, 2))) for name, p in _PROBABILITIES.items()
}


#: Levels reported by :meth:`ScanResult.to_dict`.
DEFAULT_LEVELS = ("1sigma", "90", "2sigma")


def level_value(level: str | float, dof: int = 1) -> float:
    """The Delta chi2 threshold of ``level``: a name of :data:`LEVELS` (for 1 or 2 dof) or a number."""
    if isinstance(level, str):
        if level not in LEVELS:
            msg = f"unknown confidence level {level!r}; valid choices: {list(LEVELS)} or a Delta chi2 value"
            raise ConfigurationError(msg)
        if dof not in (1, 2):
            return float(stats.chi2.ppf(_PROBABILITIES[level], dof))
        return LEVELS[level][dof - 1]
    value = float(level)
    if not value > 0 or not math.isfinite(value):
        msg = f"a Delta chi2 level must be a positive number, got {level!r}"
        raise ConfigurationError(msg)
    return value


def chi2_threshold(cl: float, dof: int = 1) -> float:
    """The Delta chi2 threshold of confidence level ``cl`` for ``dof`` degrees of freedom (Wilks' theorem).

    Example:
        >>> round(chi2_threshold(0.9), 3), round(chi2_threshold(0.9, dof=2), 3)
        (2.706, 4.605)
    """
    cl = float(cl)
    if not 0.0 < cl < 1.0:
        msg = f"the confidence level must be in (0, 1), got {cl!r} (e.g. 0.9 or 0.95)"
        raise ConfigurationError(msg)
    if int(dof) < 1:
        msg = f"the degrees of freedom must be >= 1, got {dof!r}"
        raise ConfigurationError(msg)
    return float(stats.chi2.ppf(cl, int(dof)))


class Interval(tuple[float, float]):
    """An interval ``(lo, hi)``; ``open_lo`` / ``open_hi`` flag an end stopped by the grid edge."""

    open_lo: bool
    open_hi: bool

    def __new__(cls, lo: float, hi: float, open_lo: bool = False, open_hi: bool = False) -> Interval:
        """Build ``(lo, hi)`` with its open-end flags."""
        obj = super().__new__(cls, (float(lo), float(hi)))
        obj.open_lo = bool(open_lo)
        obj.open_hi = bool(open_hi)
        return obj

    def __getnewargs__(self) -> tuple[float, float, bool, bool]:
        """Arguments of ``__new__`` for pickling."""
        return (self[0], self[1], self.open_lo, self.open_hi)

    @property
    def lo(self) -> float:
        """Lower end."""
        return self[0]

    @property
    def hi(self) -> float:
        """Upper end."""
        return self[1]

    def __repr__(self) -> str:
        flags = "".join((" open_lo" if self.open_lo else "", " open_hi" if self.open_hi else ""))
        return f"Interval({self[0]!r}, {self[1]!r}{flags})"


def is_geometric(x: FloatArray) -> bool:
    """True for >= 3 positive, logarithmically (and not linearly) spaced values."""
    if x.size < 3 or np.any(x <= 0):
        return False
    step = np.diff(x)
    if np.allclose(step, step[0], rtol=1e-6, atol=0.0):
        return False
    log_step = np.diff(np.log(x))
    return bool(np.allclose(log_step, log_step[0], rtol=1e-6, atol=0.0))


def as_axis(x: Sequence[float] | FloatArray, name: str = "x") -> FloatArray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)):
        msg = f"{name} must be a non-empty 1D sequence of finite numbers"
        raise ConfigurationError(msg)
    if arr.size > 1 and not np.all(np.diff(arr) > 0):
        msg = f"{name} must be strictly increasing, got {arr.tolist()}"
        raise ConfigurationError(msg)
    return arr


def _crossing(u0: float, d0: float, u1: float, d1: float, cut: float) -> float:
    """Where the straight line from (u0, d0) to (u1, d1) crosses ``cut`` (d0 <= cut < d1 or reverse)."""
    if not (math.isfinite(d0) and math.isfinite(d1)) or d1 == d0:
        return u0 if math.isfinite(d0) and d0 <= cut else u1
    return u0 + (cut - d0) * (u1 - u0) / (d1 - d0)


def intervals(
    x: Sequence[float] | FloatArray,
    delta_chi2: Sequence[float] | FloatArray,
    level: str | float = "1sigma",
    *,
    dof: int = 1,
    log: bool | None = None,
) -> list[Interval]:
    """The region where a 1D Delta chi2 curve is at or below ``level``, as disjoint intervals.

    Each run of grid points below the threshold gives one interval whose ends are the crossings of the
    linearly interpolated curve; an end at the first or last grid point stays there and is flagged
    (:attr:`Interval.open_lo` / :attr:`Interval.open_hi`): the region may extend beyond the grid. Non-finite
    values count as excluded.

    Args:
        x: strictly increasing grid values.
        delta_chi2: the curve at ``x``.
        level: a name of :data:`LEVELS` or a Delta chi2 value.
        dof: degrees of freedom of the named level (1 for a 1D scan or a profiled curve).
        log: interpolate in log10(x); default: when the grid is geometric.

    Returns:
        The intervals, in increasing order (empty when no grid point is below the threshold).
    """
    xs = as_axis(x)
    d = np.asarray(delta_chi2, dtype=float)
    if d.shape != xs.shape:
        msg = f"delta_chi2 has shape {d.shape}, x has {xs.shape}"
        raise ConfigurationError(msg)
    cut = level_value(level, dof)
    use_log = is_geometric(xs) if log is None else bool(log)
    if use_log and np.any(xs <= 0):
        msg = "log interpolation needs positive x"
        raise ConfigurationError(msg)
    u = np.log10(xs) if use_log else xs
    inside = np.isfinite(d) & (d <= cut)
    edges = np.diff(np.concatenate([[0], inside.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    out = []
    last = xs.size - 1
    for i, j in zip(starts.tolist(), stops.tolist(), strict=True):
        lo = u[0] if i == 0 else _crossing(u[i - 1], d[i - 1], u[i], d[i], cut)
        hi = u[last] if j == last else _crossing(u[j], d[j], u[j + 1], d[j + 1], cut)
        if use_log:
            lo, hi = 10.0**lo, 10.0**hi
        # the grid ends are exact, not round-tripped through log10
        lo = xs[0] if i == 0 else lo
        hi = xs[last] if j == last else hi
        out.append(Interval(lo, hi, open_lo=i == 0, open_hi=j == last))
    return out


#: corner (di, dj) offsets of a cell, counter-clockwise, and the edges (as corner pairs) around it
_CORNERS = ((0, 0), (1, 0), (1, 1), (0, 1))


_EDGES = ((0, 1), (1, 2), (3, 2), (0, 3))


#: the two edges adjacent to each corner
_CORNER_EDGES = ((3, 0), (0, 1), (1, 2), (2, 3))


def marching_squares(
    x: Sequence[float] | FloatArray,
    y: Sequence[float] | FloatArray,
    z: FloatArray,
    value: float,
    *,
    edge_points: Mapping[tuple[int, int, int], tuple[float, float]] | None = None,
) -> list[FloatArray]:
    """Iso-lines of ``z[i, j]`` (at ``(x[i], y[j])``) at ``value``: a marching-squares fallback for contourpy.

    Crossings are interpolated linearly along the cell edges; saddle cells are resolved by the mean of
    the four corners; cells with a non-finite corner are skipped (lines end there).

    Args:
        x: first-axis coordinates (length n).
        y: second-axis coordinates (length m).
        z: values of shape (n, m).
        value: the level.
        edge_points: crossing points to use instead of the linear interpolation, keyed by edge:
            ``(0, i, j)`` the edge from ``(x[i], y[j])`` to ``(x[i+1], y[j])``, ``(1, i, j)`` the edge from
            ``(x[i], y[j])`` to ``(x[i], y[j+1])`` (e.g. crossings solved on the function itself).

    Returns:
        Polylines as (k, 2) arrays of (x, y); a closed line repeats its first point at the end.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    zz = np.asarray(z, dtype=float)
    if zz.shape != (xs.size, ys.size):
        msg = f"z has shape {zz.shape}, expected {(xs.size, ys.size)}"
        raise ConfigurationError(msg)
    below = zz < value
    points: dict[tuple[int, int, int], tuple[float, float]] = dict(edge_points or {})
    links: dict[tuple[int, int, int], list[tuple[int, int, int]]] = {}

    def edge_key(i: int, j: int, a: int, b: int) -> tuple[int, int, int]:
        (ai, aj), (bi, bj) = _CORNERS[a], _CORNERS[b]
        i0, j0 = i + min(ai, bi), j + min(aj, bj)
        key = (0, i0, j0) if aj == bj else (1, i0, j0)  # 0: along x, 1: along y
        if key not in points:
            za, zb = zz[i + ai, j + aj], zz[i + bi, j + bj]
            t = (value - za) / (zb - za)
            points[key] = (
                xs[i + ai] + t * (xs[i + bi] - xs[i + ai]),
                ys[j + aj] + t * (ys[j + bj] - ys[j + aj]),
            )
        return key

    def connect(k1: tuple[int, int, int], k2: tuple[int, int, int]) -> None:
        links.setdefault(k1, []).append(k2)
        links.setdefault(k2, []).append(k1)

    for i in range(xs.size - 1):
        for j in range(ys.size - 1):
            corners = [zz[i + di, j + dj] for di, dj in _CORNERS]
            if not all(math.isfinite(c) for c in corners):
                continue
            state = [bool(below[i + di, j + dj]) for di, dj in _CORNERS]
            crossed = [e for e, (a, b) in enumerate(_EDGES) if state[a] != state[b]]
            if not crossed:
                continue
            keys = {e: edge_key(i, j, *_EDGES[e]) for e in crossed}
            if len(crossed) == 2:
                connect(keys[crossed[0]], keys[crossed[1]])
                continue
            centre_below = sum(corners) / 4.0 < value
            for c in range(4):
                if state[c] != centre_below:
                    e1, e2 = _CORNER_EDGES[c]
                    connect(keys[e1], keys[e2])
    lines: list[FloatArray] = []
    unused = {k: list(v) for k, v in links.items()}

    def walk(start: tuple[int, int, int]) -> list[tuple[int, int, int]]:
        path = [start]
        current = start
        while unused[current]:
            nxt = unused[current].pop(0)
            unused[nxt].remove(current)
            path.append(nxt)
            current = nxt
        return path

    for key in sorted(k for k, v in links.items() if len(v) == 1):
        if unused[key]:
            lines.append(np.array([points[k] for k in walk(key)]))
    for key in sorted(links):
        if unused[key]:
            lines.append(np.array([points[k] for k in walk(key)]))
    return lines


def contours(
    x: Sequence[float] | FloatArray,
    y: Sequence[float] | FloatArray,
    delta_chi2: FloatArray,
    level: str | float = "1sigma",
    *,
    dof: int = 2,
    log_x: bool | None = None,
    log_y: bool | None = None,
) -> list[FloatArray]:
    """Boundary of the allowed region {Delta chi2 <= level} of a 2D scan, as polylines.

    Args:
        x: strictly increasing values of the first axis (n).
        y: strictly increasing values of the second axis (m).
        delta_chi2: (n, m) values, ``delta_chi2[i, j]`` at ``(x[i], y[j])``.
        level: a name of :data:`LEVELS` (2-dof threshold by default) or a Delta chi2 value.
        dof: degrees of freedom of a named level.
        log_x: interpolate in log10(x) (default: when the axis is geometric); likewise ``log_y``.

    Returns:
        Polylines as (k, 2) arrays of (x, y) (``contourpy`` if installed, else :func:`marching_squares`).
    """
    xs, ys = as_axis(x, "x"), as_axis(y, "y")
    z = np.asarray(delta_chi2, dtype=float)
    if z.shape != (xs.size, ys.size):
        msg = f"delta_chi2 has shape {z.shape}, expected {(xs.size, ys.size)}"
        raise ConfigurationError(msg)
    if xs.size < 2 or ys.size < 2:
        return []
    cut = level_value(level, dof)
    lx = is_geometric(xs) if log_x is None else bool(log_x)
    ly = is_geometric(ys) if log_y is None else bool(log_y)
    u = np.log10(xs) if lx else xs
    v = np.log10(ys) if ly else ys
    out = []
    for line in iso_lines(u, v, z, cut):
        pts = np.array(line, dtype=float)
        if lx:
            pts[:, 0] = 10.0 ** pts[:, 0]
        if ly:
            pts[:, 1] = 10.0 ** pts[:, 1]
        out.append(pts)
    return out


def iso_lines(x: FloatArray, y: FloatArray, z: FloatArray, value: float) -> list[FloatArray]:
    """Lines of ``z(x, y) = value``, ``z[i, j]`` at ``(x[i], y[j])``; non-finite values end the lines.

    The one contour routine of the package: ``contourpy`` (a matplotlib dependency) when installed, else
    :func:`marching_squares`, which draws the same points.

    Args:
        x: increasing first-axis coordinates (length n).
        y: increasing second-axis coordinates (length m).
        z: values of shape (n, m).
        value: the level.

    Returns:
        Polylines as (k, 2) arrays of (x, y) with at least two points each.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    zz = np.asarray(z, dtype=float)
    if min(xs.size, ys.size) < 2 or not np.any(np.isfinite(zz)):
        return []
    try:
        import contourpy
    except ImportError:  # pragma: no cover - contourpy comes with matplotlib
        raw = marching_squares(xs, ys, zz, value)
    else:
        gen = contourpy.contour_generator(xs, ys, np.where(np.isfinite(zz), zz, np.nan).T, line_type="Separate")
        raw = [np.asarray(line, dtype=float) for line in gen.lines(value)]
    return [np.array(line, dtype=float) for line in raw if len(line) > 1]
