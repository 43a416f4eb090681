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
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from typing import TypeVar

import numpy as np

from cevns_hf import detectors
from cevns_hf._threads import one_blas_thread
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, resolve_family
from cevns_hf.bsm.grid import check_grid
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.exact import DEFAULT_TOLERANCE, refine_curve
from cevns_hf.inference.exact_contours import refine_contours
from cevns_hf.inference.executors import SubmitGather, map_tasks
from cevns_hf.inference.intervals import DEFAULT_LEVELS, as_axis, is_geometric, level_value, local_minimum_mask
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.inference.results import ScanResult
from cevns_hf.workspace.hypothesis import Experiments

__all__ = ["profile_scan"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")


# --- contours ------------------------------------------------------------------------------------------


# --- the scan ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Task:
    """A chunk of grid points for one worker."""

    model: HypothesisLikelihood
    names: tuple[str, ...]
    points: FloatArray  # (n, P)
    profiled: tuple[tuple[str, FloatArray, bool], ...]  # (name, coarse values, geometric)
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
    """twice_nll, nuisances and convergence flags of a task's points ``values`` (name -> (m,) arrays)."""
    return task.model.evaluate(values, theta0, batch=task.batch)


def _finite(values: FloatArray) -> FloatArray:
    return np.where(np.isfinite(values), values, np.inf)


_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


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
    """Profile the nuisances (and the profiled physics parameters) at a chunk of grid points.

    numpy's BLAS runs on one thread here, as in a Dask worker, so that a chunk gives the same bits in the
    driver and in any worker (a multi-threaded matrix product may sum in another order, ~1e-12 in 2NLL).
    """
    with one_blas_thread():
        return _run_task_body(task)


def _run_task_body(task: _Task) -> _TaskResult:
    n = task.points.shape[0]
    grid_values = {name: task.points[:, p] for p, name in enumerate(task.names)}
    if not task.profiled:
        nll, theta, conv = _evaluate(task, grid_values, task.model.theta0)
        return _TaskResult(nll, theta, conv, np.empty((n, 0)))
    # coarse product grid of the profiled parameters at every grid point
    coarse_shape = tuple(vals.size for _, vals, _ in task.profiled)
    combos = np.array(list(itertools.product(*[vals for _, vals, _ in task.profiled])), dtype=float)
    n_c = combos.shape[0]
    expanded = {k: np.repeat(v, n_c) for k, v in grid_values.items()}
    for q, (name, _, _) in enumerate(task.profiled):
        expanded[name] = np.tile(combos[:, q], n)
    nll_c, theta_c, conv_c = _evaluate(task, expanded, task.model.theta0)
    nll_c = _finite(nll_c).reshape(n, n_c)
    # refine from the lowest coarse local minima (separate valleys, e.g. the NSI degeneracy)
    score = np.where(local_minimum_mask(nll_c.reshape(n, *coarse_shape), first_axis=1).reshape(n, n_c), nll_c, np.inf)
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


def _profile_axes(
    fam: Family,
    profile: Sequence[str],
    profile_values: Mapping[str, Sequence[float]] | None,
    points: int,
) -> tuple[tuple[str, FloatArray, bool], ...]:
    given = dict(profile_values or {})
    unknown = sorted(set(given) - set(profile))
    if unknown:
        msg = f"profile_values given for {unknown}, which are not profiled ({list(profile)})"
        raise ConfigurationError(msg)
    out = []
    for name in profile:
        par = fam.parameter(name)
        if name in given:
            values = as_axis(given[name], f"the inner grid of {name}")
        else:
            if not (math.isfinite(par.lo) and math.isfinite(par.hi)):
                msg = (
                    f"cannot profile {par.describe()} over its whole range: give an inner grid "
                    f"(profile_values[{name!r}])"
                )
                raise ConfigurationError(msg)
            lo = par.lo + 1e-6 * (par.hi - par.lo) if par.lo_open else par.lo
            values = np.linspace(lo, par.hi, max(points, 2))
        par.check(values)
        out.append((name, values, is_geometric(values)))
    return tuple(out)


def profile_scan(
    experiments: Experiments,
    family: str | Family,
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
    exact: bool = True,
    tolerance: float = DEFAULT_TOLERANCE,
    linear_norms: bool = False,
) -> ScanResult:
    """Profile-likelihood scan of a hypothesis family over a grid (every nuisance profiled).

    Args:
        experiments: channels: names (``"csi2021+lar2020"``, ``["csi2021", "lar2020"]``) or
            :class:`~cevns_hf.detectors.base.Detector` objects.
        family: hypothesis family (object or a name of :data:`cevns_hf.bsm.FAMILIES`).
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
        exact: locate the minimum and every interval end (1D, :func:`cevns_hf.inference.exact.refine_curve`)
            or contour point (2D, :func:`cevns_hf.inference.exact_contours.refine_contours`) on the profiled
            likelihood itself.
        tolerance: largest accepted |Delta chi2 - level| at an exact interval end.
        profile_starts: refinements started from the lowest ``profile_starts`` local minima of the coarse
            grid (separate valleys); the best result is kept.
        linear_norms: the likelihood of the linear-mirror workspaces (normalisations as symmetric histosys)
            instead of the default normsys ones (:mod:`cevns_hf.workspace.modifiers`).

    Returns:
        The scan; ``.delta_chi2``, ``.intervals(...)``, ``.contours(...)``, ``.to_dict()``.

    Raises:
        ConfigurationError: unknown experiment, family or parameter, bad grid, overlapping options.
    """
    dets = detectors.resolve(experiments)
    fam = resolve_family(family)
    if not grid:
        msg = "the grid needs at least one parameter (name -> values)"
        raise ConfigurationError(msg)
    if chunk < 1 or profile_starts < 1 or refine_iterations < 0:
        msg = (
            "need chunk >= 1, profile_starts >= 1 and refine_iterations >= 0, "
            f"got {chunk}, {profile_starts} and {refine_iterations}"
        )
        raise ConfigurationError(msg)
    check_grid(fam, grid, fixed=fixed, profile=tuple(profile))  # size cap and every point, before any work
    axes: dict[str, FloatArray] = {}
    for name, values in grid.items():
        par = fam.parameter(name)
        axes[name] = as_axis(values, f"the grid of {name}")
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
    profiled = _profile_axes(fam, profile, profile_values, profile_points)
    model = HypothesisLikelihood.build(dets, fam, fixed=fixed_values, without_es=without_es, linear_norms=linear_norms)
    likelihood = model.likelihood

    names = tuple(axes)
    mesh = np.meshgrid(*axes.values(), indexing="ij")  # every combination, the last axis fastest
    matrix = np.stack([m.ravel() for m in mesh], axis=1).astype(float)
    tasks = [
        _Task(
            model=model,
            names=names,
            points=matrix[lo : lo + chunk],
            profiled=profiled,
            batch=chunk,
            refine=refine_iterations,
            starts=profile_starts,
        )
        for lo in range(0, matrix.shape[0], chunk)
    ]
    log.info("scan of %s over %s: %d points in %d chunks", fam.name, list(names), matrix.shape[0], len(tasks))
    results = map_tasks(executor, _run_task, tasks)
    shape = tuple(v.size for v in axes.values())
    n_k = len(likelihood.nuisances)
    twice_nll = np.concatenate([r.twice_nll for r in results]).reshape(shape)
    theta = np.concatenate([r.theta for r in results]).reshape((*shape, n_k))
    converged = np.concatenate([r.converged for r in results]).reshape(shape)
    prof_vals = np.concatenate([r.profiled for r in results]).reshape((*shape, len(profiled)))
    if not np.all(converged):
        log.warning("%d of %d grid points did not converge", int(np.sum(~converged)), converged.size)
    result = ScanResult(
        experiments=tuple(d.name for d in dets),
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
    if exact and len(names) == 1:
        template = tasks[0]

        def evaluate(xs: FloatArray) -> FloatArray:
            points = np.asarray(xs, dtype=float).reshape(-1, 1)
            return _run_task(replace(template, points=points)).twice_nll

        levels = {lv: level_value(lv, 1) for lv in DEFAULT_LEVELS}
        axis = axes[names[0]]
        curve = refine_curve(axis, twice_nll, evaluate, levels, tol=tolerance, log_x=is_geometric(axis))
        log.info("exact intervals: %d extra evaluations, precision %.2g", curve.n_evaluations, curve.precision)
        at_best = _run_task(replace(template, points=np.array([[curve.best_fit]])))
        best_profiled = {name: float(at_best.profiled[0, q]) for q, (name, _, _) in enumerate(profiled)}
        result = replace(result, exact=curve, exact_profiled=best_profiled)
    elif exact and len(names) == 2:
        template = tasks[0]

        def evaluate2d(points: FloatArray) -> FloatArray:
            return _run_task(replace(template, points=np.asarray(points, dtype=float).reshape(-1, 2))).twice_nll

        x_axis, y_axis = axes[names[0]], axes[names[1]]
        surface = refine_contours(
            x_axis,
            y_axis,
            twice_nll,
            evaluate2d,
            {lv: level_value(lv, 2) for lv in DEFAULT_LEVELS},
            tol=tolerance,
            log_x=is_geometric(x_axis),
            log_y=is_geometric(y_axis),
        )
        log.info("exact contours: %d extra evaluations, precision %.2g", surface.n_evaluations, surface.precision)
        result = replace(result, exact_contours=surface)
    return result
