r"""Streaming profile-likelihood scans: grids too large for memory, written to disk as the chunks finish.

:func:`stream_scan` evaluates the same likelihood as :func:`cevns_hf.inference.scan.profile_scan` (the
``mu_bsm = 1`` workspace, every nuisance profiled, through
:meth:`cevns_hf.inference.profile.HypothesisLikelihood.evaluate`) at every point of a grid of up to
:func:`max_stream_points` points (default :data:`DEFAULT_MAX_STREAM_POINTS`, 64^4; e.g. a 4D NSI scan of
eps_ee_u, eps_ee_d, eps_mumu_u, eps_mumu_d with 32 values each, 1,048,576 points), without holding more
than one chunk of engine data at a time:

* the grid is cut into chunks of ``chunk`` contiguous flat indices (C order, last axis fastest); a chunk is
  an independent task that carries only the axes and its index range and makes its points itself;
* each chunk's result is written into preallocated ``.npy`` files as soon as it arrives (any order), with
  a ``tqdm`` progress bar counting points on a terminal;
* the files are written in a staging folder beside ``output`` and moved into place when the scan is
  complete (:func:`cevns_hf.io.atomic.staged_directory`): an error or Ctrl-C leaves ``output`` as it was,
  and existing files are replaced only with ``force``.

Output folder (:data:`FILES`): ``twice_nll.npy`` (float64, the grid's shape), ``converged.npy`` (bool),
``theta.npy`` (the profiled nuisances, shape + (K,), float32 by default) and ``scan.json`` (experiments,
family, axes, fixed values, nuisance names, shape, timings, converged fraction, the best-fit grid point,
where Delta chi2 = 0, and the SM's Delta chi2). :func:`load_stream` opens it again as a
:class:`StreamResult` (arrays memory-mapped read-only, ``delta_chi2`` computed on first use).

Executors: ``None`` (serial), a ``dask.distributed.Client`` (tasks submitted a few at a time per worker
thread and consumed with ``dask.distributed.as_completed``; the likelihood is built once in this process and
scattered to every worker once, so no worker rebuilds it per task and every chunk is computed by the same
object as in the serial run: the arrays equal the serial ones bit for bit), or any
``concurrent.futures.Executor`` (the likelihood travels with each task). Chunk boundaries do not depend on
the executor. A chunk runs numpy's BLAS on one thread (Dask's worker processes do so anyway; a BLAS with
more threads sums in another order, which moves twice_nll by ~1e-11, e.g. through the least squares of the
polynomial bases), and a serial scan forgets the bases cached by earlier work in its process
(:func:`cevns_hf.templates.basis.clear_cache`), so that serial and Dask runs give the same bits. A thread
pool in a process whose BLAS has several threads can differ at that level (OpenBLAS's thread count is not
reliably limited from another thread); parallelism is meant to come from processes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import operator
import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from cevns_hf import detectors
from cevns_hf._threads import one_blas_thread
from cevns_hf._typing import FloatArray
from cevns_hf._version import __version__
from cevns_hf.bsm.family import Family, resolve_family
from cevns_hf.bsm.grid import check_grid, count_points, env_cap, refuse_above_cap
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.chunks import executor_kind, make_chunks, stream_results
from cevns_hf.inference.intervals import as_axis
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.inference.results import jsonable
from cevns_hf.inference.stream_files import (
    FILES,
    FORMAT,
    FORMAT_VERSION,
    METADATA,
    RowFile,
    StreamResult,
    free_bytes,
    load_stream,
)
from cevns_hf.io.atomic import check_targets, staged_directory
from cevns_hf.templates.basis import clear_cache as clear_basis_cache
from cevns_hf.workspace.hypothesis import Experiments

__all__ = [
    "DEFAULT_MAX_STREAM_POINTS",
    "FILES",
    "FORMAT",
    "MAX_STREAM_POINTS_ENV",
    "METADATA",
    "StreamResult",
    "check_stream_scan",
    "load_stream",
    "max_stream_points",
    "stream_scan",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Environment variable raising (or lowering) the cap on the points of a streamed grid.
MAX_STREAM_POINTS_ENV = "CEVNS_HF_MAX_STREAM_POINTS"
#: Default cap on the points of a streamed grid (64^4; about 1.3 GB of output with float32 nuisances).
DEFAULT_MAX_STREAM_POINTS = 1 << 24
_THETA_DTYPES = ("float32", "float64")

Progress = bool | Literal["always"]


def max_stream_points() -> int:
    """The cap on the points of a streamed grid: ``$CEVNS_HF_MAX_STREAM_POINTS`` or the default."""
    return env_cap(MAX_STREAM_POINTS_ENV, DEFAULT_MAX_STREAM_POINTS, "20000000")


def _bytes_per_point(n_nuisances: int, theta_dtype: str) -> int:
    return 8 + 1 + n_nuisances * np.dtype(theta_dtype).itemsize


def _check_size(sizes: Mapping[str, int], cap: int) -> int:
    """The number of points; refuse an empty axis or more points than ``cap`` (before any allocation)."""
    total = count_points(sizes)
    gigabytes = total * _bytes_per_point(17, "float32") / 1e9
    cap_text = f"the streaming cap of {cap:,} (about {gigabytes:.3g} GB of output for 17 nuisances)"
    refuse_above_cap(sizes, cap, cap_text, MAX_STREAM_POINTS_ENV)
    return total


def _show_progress(progress: Progress) -> bool:
    return progress == "always" or (progress is True and sys.stderr.isatty())


def _progress_bar(total: int, progress: Progress) -> Any:
    if not _show_progress(progress):
        return None
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, unit="pt", unit_scale=True, desc="scan", file=sys.stderr, smoothing=0.05)


# --- the scan ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    """A checked request: what :func:`stream_scan` needs before building the likelihood."""

    dets: tuple[Any, ...]
    fam: Family
    axes: dict[str, FloatArray]
    fixed: dict[str, float]
    total: int
    kind: str
    target: Path


def _plan(
    experiments: Experiments,
    family: str | Family,
    grid: Mapping[str, Sequence[float]],
    output: str | os.PathLike[str],
    fixed: Mapping[str, float] | None,
    executor: Any,
    chunk: int,
    batch: int,
    theta_dtype: str,
    progress: Progress,
    force: bool,
) -> _Plan:
    dets = detectors.resolve(experiments)
    fam = resolve_family(family)
    if not grid:
        msg = "the grid needs at least one parameter (name -> values)"
        raise ConfigurationError(msg)
    try:
        whole = [operator.index(n) for n in (chunk, batch) if not isinstance(n, bool)]
    except TypeError:
        whole = []
    if len(whole) != 2 or min(whole) < 1:
        msg = f"need whole numbers chunk >= 1 and batch >= 1, got {chunk!r} and {batch!r}"
        raise ConfigurationError(msg)
    if theta_dtype not in _THETA_DTYPES:
        msg = f"theta_dtype must be one of {list(_THETA_DTYPES)}, got {theta_dtype!r}"
        raise ConfigurationError(msg)
    if progress not in (True, False, "always"):
        msg = f"progress must be True, False or 'always', got {progress!r}"
        raise ConfigurationError(msg)
    cap = max_stream_points()
    for name, values in grid.items():
        fam.parameter(name)
        if np.ndim(values) != 1:
            msg = f"the axis of {name} must be a flat sequence of numbers"
            raise ConfigurationError(msg)
    total = _check_size({name: len(values) for name, values in grid.items()}, cap)
    check_grid(fam, grid, fixed=fixed, max_points=cap)  # ranges, order, the family's checks on every point
    axes: dict[str, FloatArray] = {}
    for name, values in grid.items():
        axes[name] = as_axis(values, f"the grid of {name}")
        fam.parameter(name).check(axes[name])
    fixed_values = {k: float(v) for k, v in (fixed or {}).items()}
    for name, value in fixed_values.items():
        fam.parameter(name).check(value)
    kind = executor_kind(executor)
    target = Path(output)
    if (target.exists() or target.is_symlink()) and not target.is_dir():
        msg = f"cannot write into {str(target)!r}: it exists and is not a directory"
        raise ConfigurationError(msg)
    check_targets([target / name for name in FILES], force)
    return _Plan(dets, fam, axes, fixed_values, total, kind, target)


def check_stream_scan(
    experiments: Experiments,
    family: str | Family,
    grid: Mapping[str, Sequence[float]],
    output: str | os.PathLike[str],
    *,
    fixed: Mapping[str, float] | None = None,
    chunk: int = 4096,
    batch: int = 512,
    theta_dtype: str = "float32",
    force: bool = False,
) -> int:
    """Every check :func:`stream_scan` makes before it builds the likelihood (nothing is computed or written).

    The command line runs it before it starts a Dask cluster; the arguments are those of :func:`stream_scan`.

    Returns:
        The number of grid points.

    Raises:
        ConfigurationError, HypothesisError, OutputExistsError: as :func:`stream_scan`.
    """
    return _plan(experiments, family, grid, output, fixed, None, chunk, batch, theta_dtype, False, force).total


def stream_scan(
    experiments: Experiments,
    family: str | Family,
    grid: Mapping[str, Sequence[float]],
    output: str | os.PathLike[str],
    *,
    fixed: Mapping[str, float] | None = None,
    without_es: bool = False,
    executor: Any = None,
    chunk: int = 4096,
    batch: int = 512,
    theta_dtype: str = "float32",
    linear_norms: bool = False,
    progress: Progress = True,
    force: bool = False,
) -> StreamResult:
    """Profile-likelihood scan of a large grid, every nuisance profiled, streamed into the folder ``output``.

    Everything is checked before the likelihood is built and before any file is written: the experiments,
    the family, every axis and value (:func:`cevns_hf.bsm.grid.check_grid`, with the streaming cap
    :func:`max_stream_points` in place of the in-memory one), the options and the output targets. See the
    module docstring for the files and the executors.

    Args:
        experiments: channels: names (``"csi2021+lar2020"``) or Detector objects.
        family: hypothesis family (object or registered name).
        grid: parameter name -> strictly increasing values; every combination is evaluated.
        output: the output folder (created; its :data:`FILES` are replaced only with ``force``).
        fixed: other family parameters held at given values (the rest at their SM values).
        without_es: leave neutrino-electron scattering out.
        executor: ``None`` (serial), a ``dask.distributed.Client``, or a ``concurrent.futures.Executor``;
            the arrays equal the serial ones.
        chunk: grid points per task (contiguous flat indices; a task's results are its memory).
        batch: hypotheses profiled together inside a task (engine memory ~ batch x 0.25 MB for CsI + LAr).
        theta_dtype: ``"float32"`` (default) or ``"float64"`` for the stored nuisances.
        linear_norms: normalisations as the linear mirror (symmetric histosys) instead of normsys.
        progress: a progress bar on stderr when it is a terminal (``True``), always (``"always"``), or never.
        force: replace existing output files.

    Returns:
        The result, read back from ``output`` (arrays memory-mapped read-only).

    Raises:
        ConfigurationError: unknown experiment, family or parameter, a bad grid or option, too many
            points, not enough disk space, an output that is not a folder.
        OutputExistsError: an output file exists and ``force`` is false.
    """
    plan = _plan(experiments, family, grid, output, fixed, executor, chunk, batch, theta_dtype, progress, force)
    dets, fam, axes, fixed_values = plan.dets, plan.fam, plan.axes, plan.fixed
    total, kind, target = plan.total, plan.kind, plan.target

    t0 = time.perf_counter()
    with one_blas_thread():
        model = HypothesisLikelihood.build(
            dets, fam, fixed=fixed_values, without_es=without_es, linear_norms=linear_norms
        )
    if kind != "dask":  # bases cached by earlier work here may come from a BLAS with more threads
        clear_basis_cache()
    setup_seconds = time.perf_counter() - t0
    nuisances = tuple(model.likelihood.nuisances)
    needed = total * _bytes_per_point(len(nuisances), theta_dtype) + 4 * 4096
    free = free_bytes(target)
    if free is not None and needed > free:
        msg = f"the scan needs about {needed / 1e9:.3g} GB in {str(target)!r}, only {free / 1e9:.3g} GB are free"
        raise ConfigurationError(msg)

    names = tuple(axes)
    axes_t = tuple(axes.values())
    shape = tuple(a.size for a in axes_t)
    n_chunks = -(-total // chunk)
    log.info(
        "streamed scan of %s over %s: %d points in %d chunks (%s) into %s",
        fam.name,
        list(names),
        total,
        n_chunks,
        kind,
        target,
    )
    t0 = time.perf_counter()
    best_value, best_flat, n_converged, done = math.inf, -1, 0, 0
    with staged_directory(target, FILES, overwrite=force) as stage:
        files: dict[str, RowFile] = {}
        bar = None
        ok = False
        try:
            files["twice_nll"] = RowFile(stage / "twice_nll.npy", np.float64, shape, len(shape))
            files["converged"] = RowFile(stage / "converged.npy", np.bool_, shape, len(shape))
            files["theta"] = RowFile(stage / "theta.npy", theta_dtype, (*shape, len(nuisances)), len(shape))
            bar = _progress_bar(total, progress)
            results = stream_results(executor, make_chunks(names, axes_t, total, chunk, batch, theta_dtype), model)
            with contextlib.closing(results):
                for res in results:
                    files["twice_nll"].write(res.start, res.twice_nll)
                    files["converged"].write(res.start, res.converged)
                    files["theta"].write(res.start, res.theta)
                    n_converged += int(np.count_nonzero(res.converged))
                    finite = np.isfinite(res.twice_nll)
                    if finite.any():
                        j = int(np.argmin(np.where(finite, res.twice_nll, np.inf)))
                        value, flat = float(res.twice_nll[j]), res.start + j
                        if value < best_value or (value == best_value and flat < best_flat):
                            best_value, best_flat = value, flat
                    done += res.stop - res.start
                    if bar is not None:
                        bar.update(res.stop - res.start)
            if done != total:  # pragma: no cover - an executor that lost tasks
                msg = f"the executor returned {done} of {total} points"
                raise ConfigurationError(msg)
            ok = True
        finally:
            if bar is not None:
                bar.close()
            for f in files.values():
                f.close(sync=ok)
        seconds = time.perf_counter() - t0
        meta = _metadata(
            dets=tuple(d.name for d in dets),
            fam=fam,
            axes=axes,
            fixed=fixed_values,
            model=model,
            nuisances=nuisances,
            shape=shape,
            theta_dtype=theta_dtype,
            chunk=chunk,
            batch=batch,
            kind=kind,
            linear_norms=linear_norms,
            seconds=seconds,
            setup_seconds=setup_seconds,
            n_converged=n_converged,
            best_flat=best_flat if best_flat >= 0 else None,
            best_value=best_value,
        )
        with open(stage / METADATA, "w", encoding="utf-8") as handle:
            handle.write(json.dumps(meta, indent=2, sort_keys=True) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
    n_bad = total - n_converged
    if n_bad:
        log.warning("%d of %d grid points did not converge", n_bad, total)
    log.info("streamed scan: %d points in %.1f s (%.0f points/s)", total, seconds, total / max(seconds, 1e-9))
    return load_stream(target)


def _metadata(
    *,
    dets: tuple[str, ...],
    fam: Family,
    axes: Mapping[str, FloatArray],
    fixed: Mapping[str, float],
    model: HypothesisLikelihood,
    nuisances: tuple[str, ...],
    shape: tuple[int, ...],
    theta_dtype: str,
    chunk: int,
    batch: int,
    kind: str,
    linear_norms: bool,
    seconds: float,
    setup_seconds: float,
    n_converged: int,
    best_flat: int | None,
    best_value: float,
) -> dict[str, Any]:
    total = math.prod(shape)
    best_index = None if best_flat is None else tuple(int(i) for i in np.unravel_index(best_flat, shape))
    best: dict[str, Any] | None = None
    if best_index is not None:
        best = {name: float(axes[name][i]) for name, i in zip(axes, best_index, strict=True)}
    files = {
        "twice_nll": {"path": "twice_nll.npy", "dtype": "float64", "shape": list(shape)},
        "converged": {"path": "converged.npy", "dtype": "bool", "shape": list(shape)},
        "theta": {"path": "theta.npy", "dtype": theta_dtype, "shape": [*shape, len(nuisances)]},
    }
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "cevns_hf_version": __version__,
        "experiments": list(dets),
        "family": fam.name,
        "parameters": list(axes),
        "grid": {k: [float(x) for x in v] for k, v in axes.items()},
        "shape": list(shape),
        "points": total,
        "fixed": dict(fixed),
        "without_es": bool(model.without_es),
        "linear_norms": bool(linear_norms),
        "nuisances": list(nuisances),
        "files": files,
        "chunk": int(chunk),
        "batch": int(batch),
        "executor": kind,
        "seconds": round(seconds, 3),
        "setup_seconds": round(setup_seconds, 3),
        "converged_fraction": n_converged / total,
        "n_not_converged": total - n_converged,
        "best_index": None if best_index is None else list(best_index),
        "best_fit": None if best is None else {**best, "twice_nll": best_value},
        "sm_twice_nll": jsonable(model.sm_twice_nll),
        "sm_delta_chi2": None if best is None else jsonable(model.sm_twice_nll - best_value),
    }
