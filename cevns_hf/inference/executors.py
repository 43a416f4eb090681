"""Executors for scans: serial, a local Dask cluster, or an existing Dask scheduler.

Scans accept any ``concurrent.futures``-style executor; this module only creates Dask ones (optional
dependency ``cevns_hf[dask]``), so that a scan that outgrows one machine runs on Dask, not on a home-made
scheduler.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Any, Protocol, TypeVar

from cevns_hf.exceptions import ConfigurationError

__all__ = [
    "SCHEDULER_SCHEMES",
    "SubmitGather",
    "check_scheduler_address",
    "dask_executor",
    "map_tasks",
    "worker_environ",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

_T = TypeVar("_T")
_R = TypeVar("_R")


#: Address schemes of Dask schedulers accepted (``HOST:PORT`` alone means ``tcp://``).
SCHEDULER_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss")
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::([0-9]{1,5}))?")


def check_scheduler_address(address: str) -> str:
    """Check the form of a Dask scheduler address, ``[SCHEME://]HOST[:PORT]``, before connecting.

    Raises:
        ConfigurationError: an unknown scheme, an empty or malformed host, or a port outside 1-65535.
    """
    text = address.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    match = _HOST_PORT.fullmatch(rest)
    port = match.group(2) if match else None
    if scheme not in SCHEDULER_SCHEMES or match is None or (port is not None and not 1 <= int(port) <= 65535):
        msg = (
            f"scheduler address {address!r} is not of the form [SCHEME://]HOST[:PORT] with SCHEME one of "
            f"{', '.join(SCHEDULER_SCHEMES)} and PORT in 1-65535 (e.g. tcp://10.0.0.1:8786)"
        )
        raise ConfigurationError(msg)
    return text


def worker_environ() -> dict[str, Any]:
    """Dask's environment for new worker processes without ``MALLOC_TRIM_THRESHOLD_``.

    Dask sets it to 65536 so that workers hand memory back to the system; glibc then stops raising its mmap
    threshold, every temporary array above 128 KiB is mapped afresh and page-faulted in, and a scan chunk
    takes 2.5x as long (measured: 9.0 s instead of 3.6 s, most of it system time). The thread caps
    (``OMP_NUM_THREADS`` = 1, ...) are kept. Use as
    ``dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()})`` before starting a cluster.
    """
    import dask

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ", default={}) or {})
    environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    return environ


@contextlib.contextmanager
def dask_executor(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """Yield an executor: ``None`` (serial), a local Dask cluster of ``workers`` processes, or a client of
    the Dask scheduler at ``scheduler`` (e.g. ``tcp://10.0.0.1:8786``). The cluster is closed on exit."""
    if workers is None and scheduler is None:
        yield None
        return
    if workers is not None and scheduler is not None:
        msg = "give either workers (a local Dask cluster) or scheduler (an existing cluster), not both"
        raise ConfigurationError(msg)
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if workers is not None and workers < 1:
        msg = f"workers must be >= 1, got {workers}"
        raise ConfigurationError(msg)
    dask_logger = logging.getLogger("distributed")
    chosen_level = dask_logger.level  # importing distributed resets its logger to INFO: keep the caller's choice
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as err:
        msg = "distributed scans need dask: pip install 'cevns_hf[dask]'"
        raise ConfigurationError(msg) from err
    if chosen_level != logging.NOTSET:
        dask_logger.setLevel(chosen_level)
    if scheduler is not None:
        scheduler = check_scheduler_address(scheduler)
        try:
            client = Client(scheduler, timeout="10s")  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError, ValueError, TypeError) as err:
            msg = f"cannot connect to the Dask scheduler at {scheduler!r}: {err}"
            raise ConfigurationError(msg) from err
        with client:
            log.info("running on the Dask scheduler %s", scheduler)
            yield client
        return
    import dask

    with dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}):
        cluster_cm = LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
    with cluster_cm as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        log.info("running on a local Dask cluster of %d workers", workers)
        yield client


class SubmitGather(Protocol):
    """An executor with ``submit`` and ``gather`` (e.g. a ``dask.distributed.Client``)."""

    def submit(self, func: Callable[..., Any], *args: Any) -> Any:
        """Schedule ``func(*args)``; return a future."""

    def gather(self, futures: Any) -> Any:
        """The results of ``futures``."""


def map_tasks(executor: Executor | SubmitGather | None, func: Callable[[_T], _R], tasks: Sequence[_T]) -> list[_R]:
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
