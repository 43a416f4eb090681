"""numpy's BLAS on one thread while a task runs: the same summation order, hence the same bits, in every process."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

__all__ = ["one_blas_thread"]


class _OneBlasThread:
    """Hold numpy's BLAS at one thread while any task of this process runs (reference-counted, so that
    tasks on a thread pool never restore the default under each other). The libraries are looked up once
    (a ``threadpoolctl.ThreadpoolController``: a lookup costs milliseconds, a task may take less)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._limiter: Any = None
        self._controller: Any = None

    def __enter__(self) -> None:
        with self._lock:
            if self._users == 0:
                if self._controller is None:
                    from threadpoolctl import ThreadpoolController

                    self._controller = ThreadpoolController()
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._users += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._users -= 1
            if self._users == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_ONE_BLAS_THREAD = _OneBlasThread()


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """A context in which numpy's BLAS runs on one thread (nestable, thread-safe): the same summation order,
    hence the same bits, in the driver and in any Dask worker process."""
    return _ONE_BLAS_THREAD
