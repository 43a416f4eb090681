r"""Feldman-Cousins intervals and regions from the engine's own toys, every nuisance profiled.

For a family whose rate is a polynomial in the scanned parameters :math:`x` (one or two of them;
:class:`~cevns_hf.bsm.family.Polynomial`), the test statistic at a grid point :math:`x_i` is the profile
likelihood ratio with the parameters restricted to the grid's range :math:`X` (the physical region of the
construction, e.g. :math:`\mu_\nu \ge 0`):

.. math::
    t(x_i) = -2\ln L(x_i, \hat{\hat\theta}_i) - \min_{x \in X} \big[-2\ln L(x, \hat\theta(x))\big] \;\ge 0 .

The minimum over :math:`x` is a free fit of :math:`x` and the nuisances together (the exact polynomial basis makes
:math:`x` POIs of the engine, :meth:`~cevns_hf.inference.profile.HypothesisLikelihood.basis_batch`), started from
the generating point and from the lowest local minima of the observed curve or surface, so that a second valley
(the nu_mu charge radius, light mediators interfering with the SM) is not missed.

The construction (Feldman & Cousins, PRD 57 (1998) 3873; with nuisances by the profile construction, e.g.
Cranmer, PHYSTAT 2003, and the NOvA/T2K practice): at every grid point, toys are drawn from the model at
:math:`x_i` with the nuisances at their conditional fit to the observed data, :math:`n_b \sim
\mathrm{Poisson}(\lambda_b)`, auxiliary data :math:`a_k \sim N(\hat{\hat\theta}_k, 1)`; each toy is fitted at
:math:`x_i` and freely, giving :math:`t`; the critical value :math:`t_c(x_i)` is the CL quantile of the toys'
:math:`t`. The point is in the FC region at level CL when :math:`t_{obs}(x_i) \le t_c(x_i)`. Wilks' theorem
would instead use the chi-square quantile (1 or 2 dof) at every point.

Precision: a critical value carries the Monte Carlo uncertainty of a quantile,
:math:`\sqrt{CL(1-CL)/N} / f(t_c)` (reported through the binomial error of the CL); the ends of a 1D interval
are located on the grid (linear interpolation of :math:`t_{obs} - t_c` between the two grid points that bracket
them), so they are known to one grid step, which :class:`FCResult` states.

Random numbers: a :class:`numpy.random.Generator` per grid point, seeded by ``SeedSequence([seed, i])``: the toys of
a point do not depend on chunking or on which other points are computed.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.intervals import (
    _PROBABILITIES,
    Interval,
    as_axis,
    chi2_threshold,
    intervals,
    level_value,
    local_minimum_mask,
)
from cevns_hf.inference.likelihood import Batch
from cevns_hf.inference.profile import HypothesisLikelihood

__all__ = [
    "FCResult",
    "critical_values",
    "fc_statistic",
    "feldman_cousins",
    "free_fit_starts",
    "level_probability",
    "local_minima",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Toy rows fitted together (bounds the (rows, K, B) arrays of the engine to ~100 MB).
_ROWS = 2048
#: Lowest local minima of the observed curve used as extra starts of the free fits.
_STARTS = 3


def level_probability(level: str) -> float:
    """The coverage probability of a level: a name (``"1sigma"`` 0.6827, ``"90"`` 0.90, ...) or a number in (0, 1)
    written as text (``"0.95"``)."""
    if level in _PROBABILITIES:
        return float(_PROBABILITIES[level])
    try:
        value = float(level)
    except ValueError:
        value = math.nan
    if not 0.0 < value < 1.0:
        msg = f"unknown confidence level {level!r}; valid choices: {list(_PROBABILITIES)} or a number in (0, 1)"
        raise ConfigurationError(msg)
    return value


def _wilks_threshold(level: str, dof: int) -> float:
    if level in _PROBABILITIES:
        return level_value(level, dof)
    return chi2_threshold(level_probability(level), dof)


@dataclass(frozen=True, eq=False)
class FCResult:
    """Feldman-Cousins critical values and regions on a grid (next to Wilks').

    Attributes:
        experiments: the channels.
        family: the family name.
        parameters: the scanned parameters (1 or 2).
        grid: parameter -> grid values (the region of the construction is their range).
        t_obs: observed test statistic on the grid (shape of the grid; Delta chi2 from the global minimum in
            the grid's range).
        critical: level -> critical values :math:`t_c` on the grid.
        n_toys: toys per grid point.
        seed: the seed.
        best_fit: parameter -> observed best fit (free fit within the range).
        seconds: wall time of the toys.
    """

    experiments: tuple[str, ...]
    family: str
    parameters: tuple[str, ...]
    grid: dict[str, tuple[float, ...]]
    t_obs: FloatArray
    critical: dict[str, FloatArray]
    n_toys: int
    seed: int
    best_fit: dict[str, float]
    seconds: float = 0.0
    fixed: dict[str, float] = field(default_factory=dict)

    def accepted(self, level: str) -> np.ndarray:
        """Grid points inside the FC region at ``level`` (t_obs <= t_c)."""
        return np.asarray(self.t_obs <= self._critical(level))

    def _critical(self, level: str) -> FloatArray:
        if level not in self.critical:
            msg = f"no Feldman-Cousins critical values at level {level!r}; computed: {list(self.critical)}"
            raise ConfigurationError(msg)
        return self.critical[level]

    def intervals(self, level: str) -> list[Interval]:
        """FC intervals of a 1D construction (ends interpolated between the bracketing grid points)."""
        if len(self.parameters) != 1:
            msg = "intervals need a 1D construction; use accepted() for 2D regions"
            raise ConfigurationError(msg)
        x = np.asarray(self.grid[self.parameters[0]])
        return intervals(x, self.t_obs - self._critical(level) + 1.0, 1.0, log=False)

    def wilks_intervals(self, level: str) -> list[Interval]:
        """Wilks intervals of the same curve (the chi-square threshold of 1 dof), for comparison."""
        x = np.asarray(self.grid[self.parameters[0]])
        return intervals(x, self.t_obs, _wilks_threshold(level, 1), log=False)

    def precision(self) -> dict[str, float]:
        """Known precision: the grid step of each parameter (interval ends lie within one step)."""
        return {name: float(np.max(np.diff(values))) for name, values in self.grid.items()}

    def critical_error(self, level: str) -> float:
        """Binomial error of the coverage of the critical values, :math:`\\sqrt{CL(1-CL)/N}`."""
        p = level_probability(level)
        return math.sqrt(p * (1.0 - p) / self.n_toys)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary: grid, t_obs, critical values, intervals (1D) or accepted masks (2D), Wilks'."""
        out: dict[str, Any] = {
            "method": "feldman-cousins",
            "experiments": list(self.experiments),
            "family": self.family,
            "parameters": list(self.parameters),
            "fixed": dict(self.fixed),
            "grid": {k: list(v) for k, v in self.grid.items()},
            "n_toys": self.n_toys,
            "seed": self.seed,
            "best_fit": dict(self.best_fit),
            "t_obs": np.round(self.t_obs, 6).tolist(),
            "critical": {lv: np.round(c, 6).tolist() for lv, c in self.critical.items()},
            "critical_coverage_error": {lv: self.critical_error(lv) for lv in self.critical},
            "precision": self.precision(),
            "seconds": round(self.seconds, 3),
        }
        if len(self.parameters) == 1:
            out["intervals"] = {lv: [list(i) for i in self.intervals(lv)] for lv in self.critical}
            out["wilks_intervals"] = {lv: [list(i) for i in self.wilks_intervals(lv)] for lv in self.critical}
        else:
            out["accepted"] = {lv: self.accepted(lv).tolist() for lv in self.critical}
            wilks = {lv: (self.t_obs <= _wilks_threshold(lv, 2)).tolist() for lv in self.critical}
            out["wilks_accepted"] = wilks
        return out


def local_minima(values: FloatArray, count: int) -> list[tuple[int, ...]]:
    """Indices of the ``count`` lowest local minima of a 1D or 2D array (neighbours along the axes)."""
    mask = local_minimum_mask(values)
    flat = np.flatnonzero(mask.ravel())
    order = flat[np.argsort(values.ravel()[flat], kind="stable")][:count]
    return [tuple(int(i) for i in np.unravel_index(f, values.shape)) for f in order]


def free_fit_starts(y: FloatArray, curve: FloatArray) -> list[FloatArray]:
    """Starting points (J,) of the free fits: the lowest local minima of an observed curve or surface ``curve`` on
    the grid points ``y`` (P, J) (C order), and the centre of the box.

    The centre matters where the rate is even in the parameter (a magnetic moment): at 0 the derivative in the
    parameter vanishes, so a fit started there cannot leave it even when the data prefer a non-zero value.
    """
    starts = [y[int(np.ravel_multi_index(i, curve.shape))] for i in local_minima(curve, _STARTS)]
    return [*starts, np.zeros(y.shape[1])]


def fc_statistic(
    model: HypothesisLikelihood,
    batch: Batch,
    y: FloatArray,
    data: FloatArray,
    aux: FloatArray,
    theta0: FloatArray,
    starts: Sequence[FloatArray],
    tol: float = 1e-7,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """t = 2NLL(y) - min over the box of 2NLL for R data sets, every nuisance profiled.

    Args:
        model: the likelihood.
        batch: the polynomial batch (POIs y in [-1, 1]^J).
        y: (R, J) the tested points.
        data: (R, B) counts.
        aux: (R, K) auxiliary data.
        theta0: (R, K) starting nuisances.
        starts: extra starting points (J,) of the free fits (the fit from ``y`` itself is always made; a start
            equal to ``y`` in every row is skipped).
        tol: convergence threshold of the fits (Newton decrement).

    Returns:
        (t (R,), the POIs of the minimum (R, J), the nuisances of the fit at y (R, K)).
    """
    lik = model.likelihood
    n_j = y.shape[1]
    bounds = (np.full(n_j, -1.0), np.full(n_j, 1.0))
    fixed = lik.profile(lik.with_data(batch.fold(y), data, aux), theta0, tol=tol, quiet=True)
    best = fixed.twice_nll.copy()
    where = y.copy()
    free_batch = lik.with_data(batch, data, aux)
    others = [s for s in starts if not np.all(np.abs(y - np.asarray(s)[None, :]) < 1e-12)]
    for start in [y, *[np.broadcast_to(s, y.shape) for s in others]]:
        free = lik.profile(free_batch, fixed.theta, mu0=start, poi_bounds=bounds, tol=tol, quiet=True)
        mu = np.asarray(free.mu, dtype=float).reshape(y.shape[0], n_j)
        better = np.isfinite(free.twice_nll) & (free.twice_nll < best)
        best = np.where(better, free.twice_nll, best)
        where[better] = mu[better]
    return np.maximum(fixed.twice_nll - best, 0.0), where, fixed.theta


def critical_values(
    model: HypothesisLikelihood,
    batch: Batch,
    y: FloatArray,
    theta: FloatArray,
    probabilities: Sequence[float],
    *,
    n_toys: int,
    seeds: Sequence[int | Sequence[int]],
    starts: Sequence[FloatArray] = (),
    progress: Any = None,
    tol: float = 1e-7,
) -> FloatArray:
    """FC critical values at points ``y`` (P, J) whose toys are thrown at nuisances ``theta`` (P, K).

    Returns:
        (P, L) quantiles of the toys' t at ``probabilities`` (L,).
    """
    lik = model.likelihood
    n_pts = y.shape[0]
    out = np.empty((n_pts, len(probabilities)))
    per_chunk = max(1, _ROWS // n_toys)
    for lo in range(0, n_pts, per_chunk):
        pts = np.arange(lo, min(n_pts, lo + per_chunk))
        y_rep = np.repeat(y[pts], n_toys, axis=0)
        th_rep = np.repeat(theta[pts], n_toys, axis=0)
        lam = np.maximum(lik.expected(batch.fold(y_rep[::n_toys]), theta[pts]), 0.0)
        data = np.empty((pts.size * n_toys, lam.shape[1]))
        aux = np.empty_like(th_rep)
        for k, p in enumerate(pts):
            rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seeds[p])))
            rows = slice(k * n_toys, (k + 1) * n_toys)
            data[rows] = rng.poisson(lam[k], size=(n_toys, lam.shape[1]))
            aux[rows] = rng.normal(theta[p], 1.0, size=(n_toys, theta.shape[1]))
        t, _, _ = fc_statistic(model, batch, y_rep, data, aux, th_rep, starts, tol)
        out[pts] = np.quantile(t.reshape(pts.size, n_toys), probabilities, axis=1).T
        if progress is not None:
            progress.update(pts.size)
    return out


def feldman_cousins(
    model: HypothesisLikelihood,
    grid: Mapping[str, Sequence[float] | FloatArray],
    *,
    n_toys: int = 1000,
    levels: Sequence[str] = ("1sigma", "90"),
    seed: int = 0,
    progress: bool = False,
    tol: float = 1e-7,
) -> FCResult:
    """Feldman-Cousins critical values and regions of one or two parameters on a grid (module docstring).

    Args:
        model: the likelihood of the family on its detectors (fixed parameters included).
        grid: 1 or 2 parameters -> strictly increasing values (their product is the grid; its range is the
            region of the construction).
        n_toys: toys per grid point.
        levels: confidence levels (names of :data:`cevns_hf.inference.intervals.LEVELS`, or numbers in (0, 1)
            as text).
        seed: seed of the toys.
        progress: show a progress bar on stderr.
        tol: convergence of the toy fits on the Newton decrement (about twice the error of each t).

    Raises:
        ConfigurationError: more than two parameters, a family not polynomial in them, a bad grid or level.
    """
    import time

    fam = model.family
    names = tuple(grid)
    if not 1 <= len(names) <= 2:
        msg = f"Feldman-Cousins needs one or two grid parameters, got {list(names)}"
        raise ConfigurationError(msg)
    poly = fam.polynomial
    if poly is None or not set(names) <= set(poly.variables):
        declared = "none" if poly is None else ", ".join(poly.variables)
        msg = (
            f"Feldman-Cousins needs a family whose rate is a polynomial in {list(names)} (the free fits use its "
            f"exact basis); {fam.name} is polynomial in: {declared}"
        )
        raise ConfigurationError(msg)
    if int(n_toys) < 10:
        msg = f"need at least 10 toys per grid point, got {n_toys}"
        raise ConfigurationError(msg)
    probabilities = [level_probability(lv) for lv in levels]
    axes = {name: as_axis(grid[name], f"the grid of {name}") for name in names}
    for name, axis in axes.items():
        fam.parameter(name).check(axis)
        if axis.size < 2:
            msg = f"the grid of {name} needs at least 2 values"
            raise ConfigurationError(msg)
    box = tuple((float(a[0]), float(a[-1])) for a in axes.values())
    batch, center, half = model.basis_batch(names, box)
    shape = tuple(a.size for a in axes.values())
    points = np.array(list(itertools.product(*axes.values())), dtype=float).reshape(-1, len(names))
    y = (points - center) / half
    nll, theta, conv = model.evaluate({n: points[:, j] for j, n in enumerate(names)})
    failed = int(np.sum(~np.asarray(conv, dtype=bool)))
    if failed:
        log.warning("the observed profile did not converge at %d of %d grid points", failed, conv.size)
    starts = free_fit_starts(y, nll.reshape(shape))
    lik = model.likelihood
    unit_box = (-np.ones(len(names)), np.ones(len(names)))
    obs_free = lik.profile(batch, model.theta0, mu0=np.array(starts), poi_bounds=unit_box)
    i_best = int(np.argmin(obs_free.twice_nll))
    global_min = min(float(np.min(nll)), float(obs_free.twice_nll[i_best]))
    y_best = np.asarray(obs_free.mu, dtype=float).reshape(len(starts), len(names))[i_best]
    if obs_free.twice_nll[i_best] > np.min(nll):
        y_best = y[int(np.argmin(nll))]
    best_fit = {n: float(y_best[j] * half[j] + center[j]) for j, n in enumerate(names)}
    t_obs = (nll - global_min).reshape(shape)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=points.shape[0], desc="Feldman-Cousins", unit="point")
    t0 = time.perf_counter()
    try:
        crit = critical_values(
            model,
            batch,
            y,
            theta,
            probabilities,
            n_toys=int(n_toys),
            seeds=[[int(seed), i] for i in range(points.shape[0])],
            starts=starts,
            progress=bar,
            tol=tol,
        )
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    log.info("Feldman-Cousins: %d points x %d toys in %.1f s", points.shape[0], n_toys, seconds)
    return FCResult(
        experiments=tuple(d.name for d in model.detectors),
        family=fam.name,
        parameters=names,
        grid={n: tuple(float(v) for v in a) for n, a in axes.items()},
        t_obs=t_obs,
        critical={lv: crit[:, j].reshape(shape) for j, lv in enumerate(levels)},
        n_toys=int(n_toys),
        seed=int(seed),
        best_fit=best_fit,
        seconds=seconds,
        fixed=dict(model.fixed),
    )
