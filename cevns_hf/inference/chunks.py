"""Chunks of a streamed scan as independent tasks, run serially or on any executor (Dask, ``concurrent.futures``).

A chunk carries only the grid's axes and a range of flat indices; it makes its points where it runs and profiles
them with :meth:`cevns_hf.inference.profile.HypothesisLikelihood.evaluate` (numpy's BLAS on one thread, so that
every process computes the same bits). :func:`stream_results` yields the results as they finish, keeping a
bounded number of tasks in flight.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from cevns_hf._threads import one_blas_thread
from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.profile import HypothesisLikelihood

__all__ = ["Chunk", "ChunkResult", "executor_kind", "make_chunks", "run_chunk", "stream_results"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True, eq=False)
class Chunk:
    """Grid points ``start:stop`` (flat C-order indices) of the grid with these axes."""

    names: tuple[str, ...]
    axes: tuple[FloatArray, ...]
    start: int
    stop: int
    batch: int
    theta_dtype: str


@dataclass(frozen=True, eq=False)
class ChunkResult:
    start: int
    stop: int
    twice_nll: FloatArray  # (n,) float64
    theta: FloatArray  # (n, K) in the output dtype
    converged: np.ndarray  # (n,) bool


def run_chunk(chunk: Chunk, model: HypothesisLikelihood) -> ChunkResult:
    """Profile every nuisance at the chunk's points (made here from the axes), as
    :func:`~cevns_hf.inference.scan.profile_scan` does."""
    shape = tuple(axis.size for axis in chunk.axes)
    index = np.unravel_index(np.arange(chunk.start, chunk.stop), shape)
    values = {name: axis[i] for name, axis, i in zip(chunk.names, chunk.axes, index, strict=True)}
    with one_blas_thread():  # the same BLAS summation order in every process
        nll, theta, conv = model.evaluate(values, model.theta0, batch=chunk.batch)
    return ChunkResult(
        chunk.start,
        chunk.stop,
        np.asarray(nll, dtype=np.float64),
        np.asarray(theta, dtype=chunk.theta_dtype),
        np.asarray(conv, dtype=bool),
    )


def make_chunks(
    names: tuple[str, ...], axes: tuple[FloatArray, ...], total: int, chunk: int, batch: int, theta_dtype: str
) -> Iterator[Chunk]:
    for start in range(0, total, chunk):
        yield Chunk(names, axes, start, min(start + chunk, total), batch, theta_dtype)


def _is_dask_client(executor: Any) -> bool:
    return all(hasattr(executor, name) for name in ("scatter", "submit", "gather", "nthreads"))


def executor_kind(executor: Any) -> str:
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


def _stream_dask(client: Any, tasks: Iterator[Chunk], model: HypothesisLikelihood) -> Generator[ChunkResult]:
    """Run the tasks on a Dask client, a few per worker thread at a time, yielding results as they finish."""
    from dask.distributed import as_completed

    threads = sum(int(n) for n in client.nthreads().values())
    window = max(4 * threads, 4)
    remote = client.scatter(model, broadcast=True, hash=False)  # one copy per worker, for every task
    outstanding: set[Any] = set()

    def submit(task: Chunk) -> Any:
        future = client.submit(run_chunk, task, remote, pure=False)
        outstanding.add(future)
        return future

    try:
        queue = as_completed([submit(t) for t in itertools.islice(tasks, window)])  # type: ignore[no-untyped-call]
        for future in queue:
            result: ChunkResult = future.result()
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


def _stream_futures(executor: Any, tasks: Iterator[Chunk], model: HypothesisLikelihood) -> Generator[ChunkResult]:
    """Run the tasks on a ``concurrent.futures``-style executor, a bounded number at a time."""
    window = 2 * max(int(getattr(executor, "_max_workers", 0) or 0), os.cpu_count() or 1)
    outstanding = {executor.submit(run_chunk, t, model) for t in itertools.islice(tasks, window)}
    try:
        while outstanding:
            done, outstanding = concurrent.futures.wait(outstanding, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in done:
                following = next(tasks, None)
                if following is not None:
                    outstanding.add(executor.submit(run_chunk, following, model))
                yield future.result()
    finally:
        for future in outstanding:
            future.cancel()


def stream_results(executor: Any, tasks: Iterator[Chunk], model: HypothesisLikelihood) -> Generator[ChunkResult]:
    """The chunks' results as they finish (any order); closing the generator cancels what is pending."""
    kind = executor_kind(executor)
    if kind == "serial":
        for task in tasks:
            yield run_chunk(task, model)
    elif kind == "dask":
        yield from _stream_dask(executor, tasks, model)
    elif kind == "futures":
        yield from _stream_futures(executor, tasks, model)
    else:
        yield from executor.map(run_chunk, tasks, itertools.repeat(model))
