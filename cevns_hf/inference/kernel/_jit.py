"""numba's compiler, as the kernels use it (None where numba does not import: the numpy engine runs)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, cast

try:
    import numba

    _WHY = ""
except ImportError as err:  # pragma: no cover - numba is a dependency; it refuses numpy releases it predates
    numba = None
    _WHY = str(err)

__all__ = ["available", "jit", "unavailable_reason"]

log = logging.getLogger(__name__)

#: Whether the compiled engine can run (numba imports).
available = numba is not None


@functools.cache
def unavailable_reason() -> str:
    """Why numba does not import ('' when it does); logged once as a warning (the numpy engine runs instead)."""
    if _WHY:  # pragma: no cover
        log.warning("numba does not import (%s): the profile engine runs in numpy, about 15x slower", _WHY)
    return _WHY


_F = TypeVar("_F", bound=Callable[..., Any])


def jit(func: _F) -> _F:
    """Compile with numba, cached on disk; IEEE semantics kept except the order of sums (``reassoc``, which
    lets the compiler vectorise them) and fused multiply-adds (``contract``). Without numba: ``func`` itself."""
    if numba is None:  # pragma: no cover
        return func
    options = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"reassoc", "contract", "nsz"}}
    return cast(_F, numba.njit(**options)(func))
