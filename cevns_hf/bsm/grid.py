"""Grids of hypotheses: axes, their cost, and every check a grid needs before anything is computed.

A grid is a mapping parameter name -> axis values; its points are every combination of the axes. The
checks here run before any allocation proportional to the grid and before any output is written:

* the number of points (the product of the axis lengths) against a cap, :func:`max_grid_points`
  (default :data:`DEFAULT_MAX_GRID_POINTS`; raise it with the environment variable
  :data:`MAX_GRID_POINTS_ENV`), with the estimated size in the error; a caller that keeps its results out
  of memory (:func:`cevns_hf.inference.stream.stream_scan`) passes its own cap (``max_points``);
* every axis: finite, distinct, strictly increasing values; positive bounds for a logarithmic axis;
* every value against its parameter's range, and the family's cross-parameter check (e.g. sterile
  unitarity, ``ue4_sq + umu4_sq <= 1``) on the product of the axes with the fixed values (in blocks of
  :data:`CHECK_BLOCK` points, so that a large grid's points are never all in memory at once).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cevns_hf.bsm.family import Family, HypothesisError
from cevns_hf.exceptions import ConfigurationError

__all__ = [
    "BYTES_PER_POINT",
    "CHECK_BLOCK",
    "DEFAULT_MAX_GRID_POINTS",
    "MAX_GRID_POINTS_ENV",
    "check_grid",
    "check_grid_size",
    "count_points",
    "env_cap",
    "make_axis",
    "max_grid_points",
    "refuse_above_cap",
]


def __dir__() -> list[str]:
    return __all__


#: Environment variable raising (or lowering) the grid-size cap.
MAX_GRID_POINTS_ENV = "CEVNS_HF_MAX_GRID_POINTS"
#: Default cap on the number of points of one grid (e.g. 500 x 500).
DEFAULT_MAX_GRID_POINTS = 250_000
#: Rough memory per grid point of a scan or patchset (results, per-point bookkeeping) for the estimate.
BYTES_PER_POINT = 2_000
#: Grid points given to a family's cross-parameter check at once (above the default cap: one block there).
CHECK_BLOCK = 1 << 18


def env_cap(name: str, default: int, example: str) -> int:
    """A positive whole-number cap from the environment variable ``name`` (``default`` when unset or blank)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    text = raw.strip()
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        msg = f"{name} = {raw!r} is not a positive whole number (e.g. {example})"
        raise ConfigurationError(msg)
    return int(text)


def max_grid_points() -> int:
    """The cap on the number of grid points: ``$CEVNS_HF_MAX_GRID_POINTS`` or :data:`DEFAULT_MAX_GRID_POINTS`."""
    return env_cap(MAX_GRID_POINTS_ENV, DEFAULT_MAX_GRID_POINTS, "1000000")


def check_grid_size(sizes: Mapping[str, int], *, max_points: int | None = None) -> int:
    """The number of points of a grid with these axis lengths; refuse it above :func:`max_grid_points`.

    Args:
        sizes: parameter name -> number of values on its axis.
        max_points: the cap to apply instead of :func:`max_grid_points` (a caller with its own limit).

    Returns:
        The number of points (the product of the sizes).

    Raises:
        ConfigurationError: a size below 1, or more points than the cap (the message gives the estimate).
    """
    cap = max_grid_points() if max_points is None else int(max_points)
    total = count_points(sizes)
    gigabytes = total * BYTES_PER_POINT / 1e9
    refuse_above_cap(
        sizes, cap, f"the cap of {cap:,} (estimated memory {gigabytes:.3g} GB before any template)", MAX_GRID_POINTS_ENV
    )
    return total


def count_points(sizes: Mapping[str, int]) -> int:
    """The number of points of a grid with these axis lengths (their product); refuse an empty axis.

    Raises:
        ConfigurationError: an axis with fewer than 1 value.
    """
    total = 1
    for name, n in sizes.items():
        if n < 1:
            msg = f"the axis of {name} needs at least 1 value, got {n}"
            raise ConfigurationError(msg)
        total *= int(n)
    return total


def refuse_above_cap(sizes: Mapping[str, int], cap: int, cap_text: str, env: str) -> None:
    """Refuse a grid of more points than ``cap``, naming its axes, the cap (``cap_text``: "the cap of N (...)")
    and the environment variable ``env`` that raises it.

    Raises:
        ConfigurationError: more points than the cap.
    """
    total = count_points(sizes)
    if total > cap:
        shape = " x ".join(f"{n} ({name})" for name, n in sizes.items())
        msg = (
            f"the grid {shape} has {total:,} points, more than {cap_text}; use fewer points, or raise the cap "
            f"with the environment variable {env}"
        )
        raise ConfigurationError(msg)


def make_axis(name: str, lo: float, hi: float, n: int, *, log: bool = False) -> list[float]:
    """The values of an axis: ``n`` points from ``lo`` to ``hi``, linear or logarithmic.

    Raises:
        ConfigurationError: non-finite bounds, ``n < 1``, more values than the grid cap, ``lo >= hi`` with
            ``n > 1``, ``lo != hi`` with ``n == 1``, non-positive bounds on a logarithmic axis, or bounds
            too close to give ``n`` distinct values.
    """
    if not (math.isfinite(lo) and math.isfinite(hi)):
        msg = f"the axis of {name} needs finite bounds, got {lo!r} and {hi!r}"
        raise ConfigurationError(msg)
    check_grid_size({name: n})
    if n == 1 and lo != hi:
        msg = f"the axis of {name} has 1 value but different bounds {lo:g} and {hi:g}: give n >= 2 or lo = hi"
        raise ConfigurationError(msg)
    if n > 1 and not lo < hi:
        msg = f"the axis of {name} needs lo < hi for {n} values, got lo = {lo:g}, hi = {hi:g}"
        raise ConfigurationError(msg)
    if log and (lo <= 0 or hi <= 0):
        msg = f"a logarithmic axis of {name} needs positive bounds, got {lo:g} and {hi:g}"
        raise ConfigurationError(msg)
    with np.errstate(all="ignore"):
        arr = np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n)
    if n > 1:
        arr[0], arr[-1] = lo, hi
    if not np.all(np.isfinite(arr)) or (arr.size > 1 and not np.all(np.diff(arr) > 0)):
        msg = f"the axis of {name} from {lo!r} to {hi!r} cannot hold {n} distinct values: use fewer points"
        raise ConfigurationError(msg)
    return [float(v) for v in arr]


def check_grid(
    family: Family,
    grid: Mapping[str, Sequence[float]],
    *,
    fixed: Mapping[str, float] | None = None,
    profile: Sequence[str] = (),
    max_points: int | None = None,
) -> int:
    """Check a grid of ``family`` before any computation.

    Args:
        family: the family.
        grid: parameter name -> axis values.
        fixed: other parameters at given values.
        profile: parameters minimised over at each point (they need a finite range).
        max_points: the size cap instead of :func:`max_grid_points` (see :func:`check_grid_size`).

    Returns:
        The number of grid points.

    Raises:
        HypothesisError: an unknown parameter, a value out of range, a parameter both on the grid and fixed
            or profiled, or a point failing the family's cross-parameter check.
        ConfigurationError: an empty grid, too many points, an axis not strictly increasing.
    """
    if not grid:
        msg = "the grid needs at least one parameter: a mapping name -> values"
        raise ConfigurationError(msg)
    fixed = dict(fixed or {})
    for name in [*grid, *fixed, *profile]:
        family.parameter(name)
    for label, names in (("fixed", list(fixed)), ("profiled", list(profile))):
        overlap = sorted(set(names) & set(grid))
        if overlap:
            msg = f"{overlap} cannot be both a grid axis and {label}"
            raise HypothesisError(msg)
    overlap = sorted(set(fixed) & set(profile))
    if overlap or len(set(profile)) != len(profile):
        msg = f"each parameter may be profiled once and not also fixed: profiled {list(profile)}, fixed {overlap}"
        raise HypothesisError(msg)
    total = check_grid_size({name: len(values) for name, values in grid.items()}, max_points=max_points)
    axes: dict[str, np.ndarray[Any, Any]] = {}
    for name, values in grid.items():
        arr = np.asarray(values, dtype=float)
        if arr.ndim != 1:
            msg = f"the axis of {name} must be a flat sequence of numbers"
            raise ConfigurationError(msg)
        family.parameter(name).check(arr)
        if arr.size > 1 and not np.all(np.diff(arr) > 0):
            msg = f"the axis of {name} must be strictly increasing (distinct values), got {arr.tolist()[:6]}..."
            raise ConfigurationError(msg)
        axes[name] = arr
    for name in profile:
        par = family.parameter(name)
        if not (math.isfinite(par.lo) and math.isfinite(par.hi)):
            msg = f"cannot profile {par.describe()} over its whole range: it is unbounded"
            raise HypothesisError(msg)
    full = family.complete(fixed)
    if family.check is not None:
        shape = tuple(arr.size for arr in axes.values())
        for start in range(0, total, CHECK_BLOCK):
            index = np.unravel_index(np.arange(start, min(start + CHECK_BLOCK, total)), shape)
            points = {name: arr[i].reshape(-1, 1) for (name, arr), i in zip(axes.items(), index, strict=True)}
            family.check({**full, **points})
    return total
