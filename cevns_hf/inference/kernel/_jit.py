"""numba's compiler, as the kernels use it (None where numba does not import: the numpy engine runs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

try:
    import numba
except ImportError:  # pragma: no cover - numba is a dependency; without it the numpy engine runs
    numba = None

__all__ = ["available", "jit"]

#: Whether the compiled engine can run (numba imports).
available = numba is not None

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(func: _F) -> _F:
    """Compile with numba, cached on disk; IEEE semantics kept except the order of sums (``reassoc``, which
    lets the compiler vectorise them) and fused multiply-adds (``contract``). Without numba: ``func`` itself."""
    if numba is None:  # pragma: no cover
        return func
    options = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"reassoc", "contract", "nsz"}}
    return cast(_F, numba.njit(**options)(func))
