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

import concurrent.futures
import contextlib
import itertools
import json
import logging
import math
import operator
import os
import shutil
import sys
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Literal

import numpy as np

from cevns_hf import detectors
from cevns_hf._threads import one_blas_thread
from cevns_hf._typing import FloatArray
from cevns_hf._version import __version__
from cevns_hf.bsm.family import Family, resolve_family
from cevns_hf.bsm.grid import check_grid, env_cap
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.intervals import as_axis
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.inference.results import ScanResult, jsonable
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
#: The metadata file of an output folder.
METADATA = "scan.json"
#: The files of an output folder.
FILES = ("twice_nll.npy", "converged.npy", "theta.npy", METADATA)
#: The ``format`` entry of the metadata.
FORMAT = "cevns-hf stream scan"
_FORMAT_VERSION = 1
_THETA_DTYPES = ("float32", "float64")

Progress = bool | Literal["always"]


def max_stream_points() -> int:
    """The cap on the points of a streamed grid: ``$CEVNS_HF_MAX_STREAM_POINTS`` or the default."""
    return env_cap(MAX_STREAM_POINTS_ENV, DEFAULT_MAX_STREAM_POINTS, "20000000")


def _bytes_per_point(n_nuisances: int, theta_dtype: str) -> int:
    return 8 + 1 + n_nuisances * np.dtype(theta_dtype).itemsize


def _check_size(sizes: Mapping[str, int], cap: int) -> int:
    """The number of points; refuse an empty axis or more points than ``cap`` (before any allocation)."""
    total = 1
    for name, n in sizes.items():
        if n < 1:
            msg = f"the axis of {name} needs at least 1 value, got {n}"
            raise ConfigurationError(msg)
        total *= int(n)
    if total > cap:
        shape = " x ".join(f"{n} ({name})" for name, n in sizes.items())
        gigabytes = total * _bytes_per_point(17, "float32") / 1e9
        msg = (
            f"the grid {shape} has {total:,} points, more than the streaming cap of {cap:,} (about "
            f"{gigabytes:.3g} GB of output for 17 nuisances); use fewer points, or raise the cap with the "
            f"environment variable {MAX_STREAM_POINTS_ENV}"
        )
        raise ConfigurationError(msg)
    return total


# --- tasks ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Chunk:
    """Grid points ``start:stop`` (flat C-order indices) of the grid with these axes."""

    names: tuple[str, ...]
    axes: tuple[FloatArray, ...]
    start: int
    stop: int
    batch: int
    theta_dtype: str


@dataclass(frozen=True, eq=False)
class _ChunkResult:
    start: int
    stop: int
    twice_nll: FloatArray  # (n,) float64
    theta: FloatArray  # (n, K) in the output dtype
    converged: np.ndarray  # (n,) bool


def _run_chunk(chunk: _Chunk, model: HypothesisLikelihood) -> _ChunkResult:
    """Profile every nuisance at the chunk's points (made here from the axes), as :func:`profile_scan` does."""
    shape = tuple(axis.size for axis in chunk.axes)
    index = np.unravel_index(np.arange(chunk.start, chunk.stop), shape)
    values = {name: axis[i] for name, axis, i in zip(chunk.names, chunk.axes, index, strict=True)}
    with one_blas_thread():  # the same BLAS summation order in every process
        nll, theta, conv = model.evaluate(values, model.theta0, batch=chunk.batch)
    return _ChunkResult(
        chunk.start,
        chunk.stop,
        np.asarray(nll, dtype=np.float64),
        np.asarray(theta, dtype=chunk.theta_dtype),
        np.asarray(conv, dtype=bool),
    )


def _chunks(
    names: tuple[str, ...], axes: tuple[FloatArray, ...], total: int, chunk: int, batch: int, theta_dtype: str
) -> Iterator[_Chunk]:
    for start in range(0, total, chunk):
        yield _Chunk(names, axes, start, min(start + chunk, total), batch, theta_dtype)


def _is_dask_client(executor: Any) -> bool:
    return all(hasattr(executor, name) for name in ("scatter", "submit", "gather", "nthreads"))


def _executor_kind(executor: Any) -> str:
    if executor is None:
        return "serial"
    if _is_dask_client(executor):
        return "dask"
    if hasattr(executor, "submit"):
        return "futures"
    if hasattr(executor, "map"):
        return "map"
    msg = f"executor {executor!r} has neither map nor submit"
    raise ConfigurationError(msg)


def _stream_dask(client: Any, tasks: Iterator[_Chunk], model: HypothesisLikelihood) -> Generator[_ChunkResult]:
    """Run the tasks on a Dask client, a few per worker thread at a time, yielding results as they finish."""
    from dask.distributed import as_completed

    threads = sum(int(n) for n in client.nthreads().values())
    window = max(4 * threads, 4)
    remote = client.scatter(model, broadcast=True, hash=False)  # one copy per worker, for every task
    outstanding: set[Any] = set()

    def submit(task: _Chunk) -> Any:
        future = client.submit(_run_chunk, task, remote, pure=False)
        outstanding.add(future)
        return future

    try:
        queue = as_completed([submit(t) for t in itertools.islice(tasks, window)])  # type: ignore[no-untyped-call]
        for future in queue:
            result: _ChunkResult = future.result()
            outstanding.discard(future)
            future.release()
            following = next(tasks, None)
            if following is not None:
                queue.add(submit(following))  # type: ignore[no-untyped-call]
            yield result
    finally:
        if outstanding:
            client.cancel(list(outstanding))
        remote.release()


def _stream_futures(executor: Any, tasks: Iterator[_Chunk], model: HypothesisLikelihood) -> Generator[_ChunkResult]:
    """Run the tasks on a ``concurrent.futures``-style executor, a bounded number at a time."""
    window = 2 * max(int(getattr(executor, "_max_workers", 0) or 0), os.cpu_count() or 1)
    outstanding = {executor.submit(_run_chunk, t, model) for t in itertools.islice(tasks, window)}
    try:
        while outstanding:
            done, outstanding = concurrent.futures.wait(outstanding, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                following = next(tasks, None)
                if following is not None:
                    outstanding.add(executor.submit(_run_chunk, following, model))
                yield future.result()
    finally:
        for future in outstanding:
            future.cancel()


def _stream(executor: Any, tasks: Iterator[_Chunk], model: HypothesisLikelihood) -> Generator[_ChunkResult]:
    """The chunks' results as they finish (any order); closing the generator cancels what is pending."""
    kind = _executor_kind(executor)
    if kind == "serial":
        for task in tasks:
            yield _run_chunk(task, model)
    elif kind == "dask":
        yield from _stream_dask(executor, tasks, model)
    elif kind == "futures":
        yield from _stream_futures(executor, tasks, model)
    else:
        yield from executor.map(_run_chunk, tasks, itertools.repeat(model))


# --- output --------------------------------------------------------------------------------------------


class _NpyFile:
    """A preallocated ``.npy`` file filled by rows at given offsets (written through the file, not mapped)."""

    def __init__(self, path: Path, dtype: str | type, shape: tuple[int, ...], grid_ndim: int) -> None:
        self.dtype = np.dtype(dtype)
        row = int(np.prod(shape[grid_ndim:], dtype=np.int64)) * self.dtype.itemsize
        if int(np.prod(shape, dtype=np.int64)) == 0:  # nothing to map: header only
            np.save(path, np.empty(shape, dtype=self.dtype))
            self.offset = path.stat().st_size
        else:
            mapped = np.lib.format.open_memmap(path, mode="w+", dtype=self.dtype, shape=shape)
            self.offset = int(mapped.offset)
            del mapped
        self.row = row
        self.handle: IO[bytes] = open(path, "r+b")  # noqa: SIM115 (closed in close())

    def write(self, start: int, data: np.ndarray) -> None:
        """Write the rows ``start:start + len(data)`` (flat grid indices)."""
        block = np.ascontiguousarray(data, dtype=self.dtype)
        if block.nbytes == 0:
            return
        self.handle.seek(self.offset + start * self.row)
        self.handle.write(block.tobytes())

    def close(self, sync: bool) -> None:
        """Flush (and with ``sync`` fsync) and close."""
        try:
            if sync:
                self.handle.flush()
                os.fsync(self.handle.fileno())
        finally:
            self.handle.close()


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


def _free_bytes(path: Path) -> int | None:
    for candidate in [path, *path.parents]:
        if candidate.exists():
            with contextlib.suppress(OSError):
                return int(shutil.disk_usage(candidate).free)
            return None
    return None


# --- the result ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class StreamResult:
    """A streamed scan on disk: its metadata, and its arrays memory-mapped read-only on first use.

    Attributes:
        path: the output folder.
        experiments: the channels fitted.
        family: the hypothesis family.
        parameters: the grid axes, in order.
        grid: axis name -> values.
        fixed: family parameters held fixed (the others not on the grid are at their SM values).
        nuisances: names of the profiled nuisances (last axis of :attr:`theta`).
        without_es: whether electron scattering was left out.
        linear_norms: whether normalisations were the linear mirror (symmetric histosys).
        seconds: wall time of the scan itself (chunks and output).
        setup_seconds: wall time of building the likelihood and fitting the SM.
        converged_fraction: fraction of the points whose nuisance profile converged.
        best_index: grid index of the smallest finite twice_nll (the first in C order on a tie), or None.
        minimum: that twice_nll (None when no point is finite).
        metadata: the whole ``scan.json``.
    """

    path: Path
    experiments: tuple[str, ...]
    family: str
    parameters: tuple[str, ...]
    grid: Mapping[str, tuple[float, ...]]
    fixed: Mapping[str, float]
    nuisances: tuple[str, ...]
    without_es: bool
    linear_norms: bool
    seconds: float
    setup_seconds: float
    converged_fraction: float
    best_index: tuple[int, ...] | None
    minimum: float | None
    metadata: Mapping[str, Any]

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid shape (n1, n2, ...)."""
        return tuple(len(self.grid[p]) for p in self.parameters)

    @property
    def points(self) -> int:
        """Number of grid points."""
        return math.prod(self.shape)

    def _array(self, key: str) -> np.ndarray:
        entry = self.metadata["files"][key]
        array: np.ndarray = np.load(self.path / entry["path"], mmap_mode="r")
        if tuple(array.shape) != tuple(entry["shape"]) or str(array.dtype) != entry["dtype"]:
            msg = f"{self.path / entry['path']} holds {array.dtype} {array.shape}, {METADATA} says {entry}"
            raise ConfigurationError(msg)
        return array

    @cached_property
    def twice_nll(self) -> FloatArray:
        """-2 ln L at every grid point (memory-mapped, read-only), shape :attr:`shape`."""
        return self._array("twice_nll")

    @cached_property
    def converged(self) -> np.ndarray:
        """True where the nuisance profile converged (memory-mapped, read-only)."""
        return self._array("converged")

    @cached_property
    def theta(self) -> FloatArray:
        """The profiled nuisances at every grid point, shape :attr:`shape` + (K,) (memory-mapped, read-only)."""
        return self._array("theta")

    @cached_property
    def delta_chi2(self) -> FloatArray:
        """twice_nll minus its minimum (inf where not finite); computed on first use (one grid of float64)."""
        if self.minimum is None:
            msg = "no grid point has a finite likelihood"
            raise ConfigurationError(msg)
        nll = np.asarray(self.twice_nll)
        return np.where(np.isfinite(nll), nll, np.inf) - self.minimum

    @property
    def best_fit(self) -> dict[str, float]:
        """The best grid point (Delta chi2 = 0): its parameter values and ``twice_nll``."""
        if self.best_index is None or self.minimum is None:
            msg = "no grid point has a finite likelihood"
            raise ConfigurationError(msg)
        out = {p: float(self.grid[p][i]) for p, i in zip(self.parameters, self.best_index, strict=True)}
        out["twice_nll"] = self.minimum
        return out

    def to_scan_result(self) -> ScanResult:
        """A :class:`~cevns_hf.inference.results.ScanResult` over the same arrays (still memory-mapped), for
        its intervals (1 dof, profiled over the other axes), contours (2D) and JSON form."""
        return ScanResult(
            experiments=self.experiments,
            family=self.family,
            parameters=self.parameters,
            grid=self.grid,
            twice_nll=self.twice_nll,
            fixed=dict(self.fixed),
            nuisances=self.nuisances,
            theta=self.theta,
            converged=self.converged,
            without_es=self.without_es,
        )


def load_stream(path: str | os.PathLike[str]) -> StreamResult:
    """Open the output folder of :func:`stream_scan`.

    Raises:
        ConfigurationError: no ``scan.json`` there, or not one written by :func:`stream_scan`.
    """
    folder = Path(path)
    meta_path = folder / METADATA
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        msg = f"{str(meta_path)!r} is not the metadata of a streamed scan: {err}"
        raise ConfigurationError(msg) from err
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        msg = f"{str(meta_path)!r} is not the metadata of a streamed scan (format {FORMAT!r})"
        raise ConfigurationError(msg)
    best = meta["best_fit"]
    return StreamResult(
        path=folder,
        experiments=tuple(meta["experiments"]),
        family=meta["family"],
        parameters=tuple(meta["parameters"]),
        grid={k: tuple(float(x) for x in v) for k, v in meta["grid"].items()},
        fixed={k: float(v) for k, v in meta["fixed"].items()},
        nuisances=tuple(meta["nuisances"]),
        without_es=bool(meta["without_es"]),
        linear_norms=bool(meta["linear_norms"]),
        seconds=float(meta["seconds"]),
        setup_seconds=float(meta["setup_seconds"]),
        converged_fraction=float(meta["converged_fraction"]),
        best_index=None if meta["best_index"] is None else tuple(int(i) for i in meta["best_index"]),
        minimum=None if best is None else float(best["twice_nll"]),
        metadata=meta,
    )


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
    kind = _executor_kind(executor)
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
    free = _free_bytes(target)
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
        files: dict[str, _NpyFile] = {}
        bar = None
        ok = False
        try:
            files["twice_nll"] = _NpyFile(stage / "twice_nll.npy", np.float64, shape, len(shape))
            files["converged"] = _NpyFile(stage / "converged.npy", np.bool_, shape, len(shape))
            files["theta"] = _NpyFile(stage / "theta.npy", theta_dtype, (*shape, len(nuisances)), len(shape))
            bar = _progress_bar(total, progress)
            results = _stream(executor, _chunks(names, axes_t, total, chunk, batch, theta_dtype), model)
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
        "format_version": _FORMAT_VERSION,
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
