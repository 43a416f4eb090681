r"""Profile-likelihood scans over hypothesis grids, with intervals and contours.

:func:`profile_scan` evaluates pyhf's -2 ln L (:mod:`cevns_hf.inference.likelihood`: the likelihood of the
``mu_bsm = 1`` workspace of :func:`cevns_hf.workspace.hypothesis.hypothesis_workspace`, constants included) at
every combination of the grid axes, every nuisance profiled, and returns
:math:`\Delta\chi^2 = -2\ln L - \min_{grid}(-2\ln L)`:

* the hypothesis-dependent templates (CEvNS, ES) of a chunk of points come at once from
  :func:`cevns_hf.templates.batch.grid_neutrino_samples`; the backgrounds are shared;
* all points of a chunk are profiled together by the batched Newton method of
  :meth:`cevns_hf.inference.likelihood.Likelihood.profile`, started from the nuisances that fit the Standard Model;
* chunks (``chunk`` grid points each) are independent tasks: with ``executor`` (a
  :class:`concurrent.futures.Executor`, ``dask.distributed.Client(...).get_executor()``, or any object with
  ``submit`` and ``gather`` such as a ``dask.distributed.Client``) they run in parallel; every point is
  computed independently of the others, so the result equals the serial one.

Family parameters that are not grid axes are held at ``fixed`` (default: their SM values) or, when
listed in ``profile``, minimised over as well (*physics profiling*): for every grid point, a coarse
inner grid of the profiled parameter(s) (``profile_values``; default ``profile_points`` values spanning the
parameter's physical range, which must then be finite) is evaluated; from each of the lowest
``profile_starts`` (2) local minima of that coarse curve a golden-section search (``refine_iterations``
steps, 20 by default: the bracket between the coarse neighbours shrinks by 0.618^20 ~ 7e-5) refines the
value, in log10 of the parameter when its inner grid is geometric, and the lowest result is kept (two
starts follow both valleys of a degeneracy such as NSI's). Several profiled parameters: coarse product
grid, local minima along its axes, then one golden-section refinement per parameter in turn
(coordinate-wise). A valley narrower than the inner grid spacing can still be missed: choose the inner
grid accordingly.

Intervals and contours (Wilks' theorem; ``physics.md`` section 7): the thresholds are the exact
chi-square quantiles of :data:`LEVELS`, e.g. ``"1sigma"`` 1.00 (1 dof) / 2.30 (2 dof), ``"90"`` 2.71 / 4.61,
``"2sigma"`` 4.00 / 6.18, ``"95"`` 3.84 / 5.99, ``"3sigma"`` 9.00 / 11.83. A 1D curve gives unions of disjoint
intervals (:func:`intervals`, crossings interpolated linearly, in log x on a geometric grid); a 2D grid gives
allowed-region contours at the 2-dof levels (:func:`contours`: ``contourpy`` when installed, else
:func:`marching_squares`) and, per parameter, intervals of the curve profiled over the other axes at the
1-dof levels. Wilks' theorem can fail here (interference makes the likelihood non-monotonic): toys are the
honest check.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
from scipy import special, stats

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import get_family
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.likelihood import NEUTRINO_SAMPLES, Likelihood
from cevns_hf.templates.batch import grid_neutrino_samples
from cevns_hf.templates.histograms import Sample
from cevns_hf.workspace.hypothesis import grid_points

__all__ = [
    "DEFAULT_LEVELS",
    "LEVELS",
    "Interval",
    "ScanResult",
    "SubmitGather",
    "contours",
    "intervals",
    "level_value",
    "marching_squares",
    "profile_scan",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")


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


def _is_geometric(x: FloatArray) -> bool:
    """True for >= 3 positive, logarithmically (and not linearly) spaced values."""
    if x.size < 3 or np.any(x <= 0):
        return False
    step = np.diff(x)
    if np.allclose(step, step[0], rtol=1e-6, atol=0.0):
        return False
    log_step = np.diff(np.log(x))
    return bool(np.allclose(log_step, log_step[0], rtol=1e-6, atol=0.0))


def _axis(x: Sequence[float] | FloatArray, name: str = "x") -> FloatArray:
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
    xs = _axis(x)
    d = np.asarray(delta_chi2, dtype=float)
    if d.shape != xs.shape:
        msg = f"delta_chi2 has shape {d.shape}, x has {xs.shape}"
        raise ConfigurationError(msg)
    cut = level_value(level, dof)
    use_log = _is_geometric(xs) if log is None else bool(log)
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


# --- contours ------------------------------------------------------------------------------------------

#: corner (di, dj) offsets of a cell, counter-clockwise, and the edges (as corner pairs) around it
_CORNERS = ((0, 0), (1, 0), (1, 1), (0, 1))
_EDGES = ((0, 1), (1, 2), (3, 2), (0, 3))
#: the two edges adjacent to each corner
_CORNER_EDGES = ((3, 0), (0, 1), (1, 2), (2, 3))


def marching_squares(
    x: Sequence[float] | FloatArray, y: Sequence[float] | FloatArray, z: FloatArray, value: float
) -> list[FloatArray]:
    """Iso-lines of ``z[i, j]`` (at ``(x[i], y[j])``) at ``value``: a marching-squares fallback for contourpy.

    Crossings are interpolated linearly along the cell edges; saddle cells are resolved by the mean of
    the four corners; cells with a non-finite corner are skipped (lines end there).

    Args:
        x: first-axis coordinates (length n).
        y: second-axis coordinates (length m).
        z: values of shape (n, m).
        value: the level.

    Returns:
        Polylines as (k, 2) arrays of (x, y); a closed line repeats its first point at the end.
    """
    xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    zz = np.asarray(z, dtype=float)
    if zz.shape != (xs.size, ys.size):
        msg = f"z has shape {zz.shape}, expected {(xs.size, ys.size)}"
        raise ConfigurationError(msg)
    below = zz < value
    points: dict[tuple[int, int, int], tuple[float, float]] = {}
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
    xs, ys = _axis(x, "x"), _axis(y, "y")
    z = np.asarray(delta_chi2, dtype=float)
    if z.shape != (xs.size, ys.size):
        msg = f"delta_chi2 has shape {z.shape}, expected {(xs.size, ys.size)}"
        raise ConfigurationError(msg)
    if xs.size < 2 or ys.size < 2:
        return []
    cut = level_value(level, dof)
    lx = _is_geometric(xs) if log_x is None else bool(log_x)
    ly = _is_geometric(ys) if log_y is None else bool(log_y)
    u = np.log10(xs) if lx else xs
    v = np.log10(ys) if ly else ys
    try:
        import contourpy
    except ImportError:  # pragma: no cover - contourpy comes with matplotlib
        raw = marching_squares(u, v, z, cut)
    else:
        gen = contourpy.contour_generator(u, v, np.where(np.isfinite(z), z, np.nan).T, line_type="Separate")
        raw = [np.asarray(line, dtype=float) for line in gen.lines(cut)]
    out = []
    for line in raw:
        pts = np.array(line, dtype=float)
        if lx:
            pts[:, 0] = 10.0 ** pts[:, 0]
        if ly:
            pts[:, 1] = 10.0 ** pts[:, 1]
        out.append(pts)
    return out


# --- the scan ------------------------------------------------------------------------------------------


class SubmitGather(Protocol):
    """An executor with ``submit`` and ``gather`` (e.g. a ``dask.distributed.Client``)."""

    def submit(self, func: Callable[..., Any], *args: Any) -> Any:
        """Schedule ``func(*args)``; return a future."""

    def gather(self, futures: Any) -> Any:
        """The results of ``futures``."""


def _map(executor: Executor | SubmitGather | None, func: Callable[[_T], _R], tasks: Sequence[_T]) -> list[_R]:
    """``[func(t) for t in tasks]``, on ``executor`` when given (results in the order of ``tasks``)."""
    if executor is None or len(tasks) == 0:
        return [func(t) for t in tasks]
    if hasattr(executor, "gather") and hasattr(executor, "submit"):
        futures = [executor.submit(func, t) for t in tasks]
        return list(executor.gather(futures))
    if hasattr(executor, "map"):
        return list(executor.map(func, tasks))
    if hasattr(executor, "submit"):
        return [f.result() for f in [executor.submit(func, t) for t in tasks]]
    msg = f"executor {executor!r} has neither map nor submit"
    raise ConfigurationError(msg)


@dataclass(frozen=True, eq=False)
class _Task:
    """A chunk of grid points for one worker."""

    experiments: tuple[str, ...]
    family: str
    fixed: dict[str, float]
    names: tuple[str, ...]
    points: FloatArray  # (n, P)
    profiled: tuple[tuple[str, FloatArray, bool], ...]  # (name, coarse values, geometric)
    likelihood: Likelihood
    theta0: FloatArray
    batch: int
    refine: int
    starts: int


@dataclass(frozen=True, eq=False)
class _TaskResult:
    twice_nll: FloatArray  # (n,)
    theta: FloatArray  # (n, K)
    converged: np.ndarray  # (n,)
    profiled: FloatArray  # (n, Q)


def _evaluate(task: _Task, values: Mapping[str, FloatArray], theta0: FloatArray) -> tuple[FloatArray, ...]:
    """twice_nll, nuisances and convergence flags at the points ``values`` (name -> (m,) arrays)."""
    m = len(next(iter(values.values())))
    n_k = len(task.likelihood.nuisances)
    start = np.broadcast_to(np.asarray(theta0, dtype=float), (m, n_k))
    nll, theta, conv = np.empty(m), np.empty((m, n_k)), np.empty(m, dtype=bool)
    for lo in range(0, m, task.batch):
        hi = min(m, lo + task.batch)
        sub = {k: [float(x) for x in v[lo:hi]] for k, v in values.items()}
        samples = [
            grid_neutrino_samples(e, task.family, sub, fixed=task.fixed, chunk=hi - lo) for e in task.experiments
        ]
        prof = task.likelihood.profile(task.likelihood.batch(samples), start[lo:hi])
        nll[lo:hi], theta[lo:hi], conv[lo:hi] = prof.twice_nll, prof.theta, prof.converged
    return nll, theta, conv


def _finite(values: FloatArray) -> FloatArray:
    return np.where(np.isfinite(values), values, np.inf)


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def _local_minima(values: FloatArray) -> np.ndarray:
    """Mask of the entries of ``values`` (n, n1, n2, ...) not above any neighbour along the axes 1, 2, ..."""
    mask = np.isfinite(values)
    for axis in range(1, values.ndim):
        pad = [(0, 0)] * values.ndim
        pad[axis] = (1, 1)
        padded = np.pad(values, pad, constant_values=np.inf)
        lower = np.take(padded, np.arange(values.shape[axis]), axis=axis)
        upper = np.take(padded, np.arange(2, values.shape[axis] + 2), axis=axis)
        mask &= (values <= lower) & (values <= upper)
    return mask


def _refine(
    task: _Task, grid_values: Mapping[str, FloatArray], cur: FloatArray, nll: FloatArray, theta: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, np.ndarray]:
    """Golden-section refinement of each profiled parameter in turn, from the coarse values ``cur`` (m, Q)."""
    cur, nll, theta = cur.copy(), nll.copy(), theta.copy()
    conv = np.ones(cur.shape[0], dtype=bool)
    for q, (name, coarse, geometric) in enumerate(task.profiled):
        if coarse.size < 2 or task.refine < 1:
            continue
        grid_u = np.log10(coarse) if geometric else coarse
        pos = np.clip(np.searchsorted(coarse, cur[:, q]), 0, coarse.size - 1)
        a = grid_u[np.clip(pos - 1, 0, coarse.size - 1)]
        b = grid_u[np.clip(pos + 1, 0, coarse.size - 1)]
        start = theta.copy()

        def probe(
            u: FloatArray, q: int = q, name: str = name, geometric: bool = geometric, start: FloatArray = start
        ) -> FloatArray:
            nonlocal nll, theta, conv
            values = dict(grid_values)
            for r, (other, _, _) in enumerate(task.profiled):
                values[other] = cur[:, r]
            x = 10.0**u if geometric else u
            values[name] = x
            f, th, cv = _evaluate(task, values, start)
            f = _finite(f)
            better = f < nll
            cur[better, q] = x[better]
            nll = np.where(better, f, nll)
            theta = np.where(better[:, None], th, theta)
            conv = np.where(better, cv, conv)
            return f

        c = b - _GOLDEN * (b - a)
        d = a + _GOLDEN * (b - a)
        fc, fd = probe(c), probe(d)
        for _ in range(task.refine):
            left = fc < fd  # the minimum is in [a, d]
            b = np.where(left, d, b)
            a = np.where(left, a, c)
            new_c = b - _GOLDEN * (b - a)
            new_d = a + _GOLDEN * (b - a)
            c, d = np.where(left, new_c, d), np.where(left, c, new_d)
            f = probe(np.where(left, c, d))
            fc, fd = np.where(left, f, fd), np.where(left, fc, f)
    return cur, nll, theta, conv


def _run_task(task: _Task) -> _TaskResult:
    """Profile the nuisances (and the profiled physics parameters) at a chunk of grid points."""
    n = task.points.shape[0]
    grid_values = {name: task.points[:, p] for p, name in enumerate(task.names)}
    if not task.profiled:
        nll, theta, conv = _evaluate(task, grid_values, task.theta0)
        return _TaskResult(nll, theta, conv, np.empty((n, 0)))
    # coarse product grid of the profiled parameters at every grid point
    coarse_shape = tuple(vals.size for _, vals, _ in task.profiled)
    combos = np.array(list(itertools.product(*[vals for _, vals, _ in task.profiled])), dtype=float)
    n_c = combos.shape[0]
    expanded = {k: np.repeat(v, n_c) for k, v in grid_values.items()}
    for q, (name, _, _) in enumerate(task.profiled):
        expanded[name] = np.tile(combos[:, q], n)
    nll_c, theta_c, conv_c = _evaluate(task, expanded, task.theta0)
    nll_c = _finite(nll_c).reshape(n, n_c)
    # refine from the lowest coarse local minima (separate valleys, e.g. the NSI degeneracy)
    score = np.where(_local_minima(nll_c.reshape(n, *coarse_shape)).reshape(n, n_c), nll_c, np.inf)
    order = np.argsort(score, axis=1, kind="stable")
    rows = np.arange(n)
    best = np.argmin(nll_c, axis=1)
    best_x = combos[best]
    best_nll = nll_c[rows, best]
    best_theta = theta_c[rows * n_c + best]
    best_conv = conv_c[rows * n_c + best]
    for r in range(min(task.starts, n_c)):
        pick = order[:, r]
        use = np.flatnonzero(np.isfinite(score[rows, pick]))
        if r == 0:  # at least the coarse best everywhere
            pick = np.where(np.isfinite(score[rows, pick]), pick, best)
            use = rows
        if use.size == 0:
            break
        sub = {k: v[use] for k, v in grid_values.items()}
        flat = use * n_c + pick[use]
        x, f, th, cv = _refine(task, sub, combos[pick[use]], nll_c[use, pick[use]], theta_c[flat])
        better = f < best_nll[use]
        take = use[better]
        best_x[take], best_nll[take], best_theta[take] = x[better], f[better], th[better]
        best_conv[take] = cv[better]
    return _TaskResult(best_nll, best_theta, best_conv, best_x)


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
        """The best grid point: its parameter values, profiled physics parameters and ``twice_nll``."""
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
        return intervals(self.grid[parameter], self.profile_curve(parameter), level, dof=1)

    def contours(self, level: str | float = "1sigma") -> list[FloatArray]:
        """2-dof allowed-region contours of a 2D scan (polylines of (x, y))."""
        if len(self.parameters) != 2:
            msg = f"contours need a 2D scan, this one has {len(self.parameters)} axes"
            raise ConfigurationError(msg)
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


def _experiments(experiments: Sequence[str] | str) -> tuple[str, ...]:
    names: list[str] = []
    for item in [experiments] if isinstance(experiments, str) else experiments:
        names.extend(detectors.split_experiments(item))
    if not names:
        msg = "give at least one experiment"
        raise ConfigurationError(msg)
    if len(set(names)) != len(names):
        msg = f"each experiment may appear once, got {names}"
        raise ConfigurationError(msg)
    return tuple(names)


def _profile_axes(
    family: str,
    profile: Sequence[str],
    profile_values: Mapping[str, Sequence[float]] | None,
    points: int,
) -> tuple[tuple[str, FloatArray, bool], ...]:
    fam = get_family(family)
    given = dict(profile_values or {})
    unknown = sorted(set(given) - set(profile))
    if unknown:
        msg = f"profile_values given for {unknown}, which are not profiled ({list(profile)})"
        raise ConfigurationError(msg)
    out = []
    for name in profile:
        par = fam.parameter(name)
        if name in given:
            values = _axis(given[name], f"the inner grid of {name}")
        else:
            if not (math.isfinite(par.lo) and math.isfinite(par.hi)):
                msg = (
                    f"cannot profile {par.describe()} over its whole range: give an inner grid "
                    f"(profile_values / --profile {name}=lo:hi:n)"
                )
                raise ConfigurationError(msg)
            lo = par.lo + 1e-6 * (par.hi - par.lo) if par.lo_open else par.lo
            values = np.linspace(lo, par.hi, max(points, 2))
        par.check(values)
        out.append((name, values, _is_geometric(values)))
    return tuple(out)


def profile_scan(
    experiments: Sequence[str],
    family: str,
    grid: Mapping[str, Sequence[float]],
    *,
    fixed: Mapping[str, float] | None = None,
    profile: Sequence[str] = (),
    without_es: bool = False,
    executor: Executor | SubmitGather | None = None,
    chunk: int = 512,
    profile_values: Mapping[str, Sequence[float]] | None = None,
    profile_points: int = 21,
    refine_iterations: int = 20,
    profile_starts: int = 2,
) -> ScanResult:
    """Profile-likelihood scan of a hypothesis family over a grid (every nuisance profiled).

    Args:
        experiments: channels, e.g. ``["csi2021", "lar2020"]`` (``"csi2021+lar2020"`` is split).
        family: hypothesis family (:data:`cevns_hf.bsm.FAMILIES`).
        grid: parameter name -> strictly increasing values; every combination is evaluated.
        fixed: other family parameters held at given values (the rest at their SM values).
        profile: family parameters minimised over at each grid point (see the module docstring).
        without_es: leave neutrino-electron scattering out (CsI 2021): equivalent to
            ``CsI2021Config(with_es=False)``, whose CEvNS templates are the same.
        executor: runs the chunks in parallel (see the module docstring); results equal the serial ones.
        chunk: grid points per task, profiled together (memory ~ chunk x 0.25 MB for CsI + LAr).
        profile_values: inner (coarse) grid of a profiled parameter (default: ``profile_points`` values over
            its physical range).
        profile_points: size of the default inner grids.
        refine_iterations: golden-section steps refining a profiled parameter (0: coarse grid only).
        profile_starts: refinements started from the lowest ``profile_starts`` local minima of the coarse
            grid (separate valleys); the best result is kept.

    Returns:
        The scan; ``.delta_chi2``, ``.intervals(...)``, ``.contours(...)``, ``.to_dict()``.

    Raises:
        ConfigurationError: unknown experiment, family or parameter, bad grid, overlapping options.
    """
    exps = _experiments(experiments)
    fam = get_family(family)
    if not grid:
        msg = "the grid needs at least one parameter (name -> values)"
        raise ConfigurationError(msg)
    if chunk < 1 or profile_starts < 1 or refine_iterations < 0:
        msg = (
            "need chunk >= 1, profile_starts >= 1 and refine_iterations >= 0, "
            f"got {chunk}, {profile_starts} and {refine_iterations}"
        )
        raise ConfigurationError(msg)
    axes: dict[str, FloatArray] = {}
    for name, values in grid.items():
        par = fam.parameter(name)
        axes[name] = _axis(values, f"the grid of {name}")
        par.check(axes[name])
    fixed_values = {k: float(v) for k, v in (fixed or {}).items()}
    for name, value in fixed_values.items():
        fam.parameter(name).check(value)
    profile = tuple(profile)
    for label, names in (("fixed", fixed_values), ("profiled", profile)):
        overlap = sorted(set(names) & set(axes))
        if overlap:
            msg = f"{overlap} cannot be both a grid axis and {label}"
            raise ConfigurationError(msg)
    overlap = sorted(set(fixed_values) & set(profile))
    if overlap or len(set(profile)) != len(profile):
        msg = f"each parameter may be profiled once and not also fixed: {sorted(profile)} / fixed {overlap}"
        raise ConfigurationError(msg)
    profiled = _profile_axes(fam.name, profile, profile_values, profile_points)

    sm = [detectors.templates(e) for e in exps]
    drop = ("es",) if without_es else ()
    likelihood = Likelihood.from_templates(sm, drop=drop)
    per_channel = [
        [
            Sample(s.name, s.nominal[None], s.norms, {k: (u[None], d[None]) for k, (u, d) in s.shapes.items()})
            for s in t.samples
            if s.name in NEUTRINO_SAMPLES
        ]
        for t in sm
    ]
    theta0 = likelihood.profile(likelihood.batch(per_channel, size=1)).theta[0]

    names = tuple(axes)
    pts = grid_points({k: v.tolist() for k, v in axes.items()})
    matrix = np.array([[p[k] for k in names] for p in pts], dtype=float).reshape(len(pts), len(names))
    tasks = [
        _Task(
            experiments=exps,
            family=fam.name,
            fixed=fixed_values,
            names=names,
            points=matrix[lo : lo + chunk],
            profiled=profiled,
            likelihood=likelihood,
            theta0=theta0,
            batch=chunk,
            refine=refine_iterations,
            starts=profile_starts,
        )
        for lo in range(0, len(pts), chunk)
    ]
    log.info("scan of %s over %s: %d points in %d chunks", fam.name, list(names), len(pts), len(tasks))
    results = _map(executor, _run_task, tasks)
    shape = tuple(v.size for v in axes.values())
    n_k = len(likelihood.nuisances)
    twice_nll = np.concatenate([r.twice_nll for r in results]).reshape(shape)
    theta = np.concatenate([r.theta for r in results]).reshape((*shape, n_k))
    converged = np.concatenate([r.converged for r in results]).reshape(shape)
    prof_vals = np.concatenate([r.profiled for r in results]).reshape((*shape, len(profiled)))
    if not np.all(converged):
        log.warning("%d of %d grid points did not converge", int(np.sum(~converged)), converged.size)
    return ScanResult(
        experiments=exps,
        family=fam.name,
        parameters=names,
        grid={k: tuple(float(x) for x in v) for k, v in axes.items()},
        twice_nll=twice_nll,
        fixed=fixed_values,
        profiled={name: prof_vals[..., q] for q, (name, _, _) in enumerate(profiled)},
        nuisances=likelihood.nuisances,
        theta=theta,
        converged=converged,
        without_es=without_es,
    )
