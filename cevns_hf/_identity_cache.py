"""A small LRU cache keyed by the identity of immutable objects (arrays of frozen dataclasses, models).

The engine rebuilds the same structures for every chunk of a scan: the channel blocks of a batch, the
blocks' restricted arrays, the compiled engine's layout. Their inputs are the same array objects every time
(folding a batch changes only its row weights), so the results are kept by the identity of those objects. The
cache holds references to its keys' objects: an ``id`` is never reused while its entry lives. The objects
must not be mutated (the engine never does).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Generic, TypeVar

__all__ = ["IdentityCache"]

_V = TypeVar("_V")


class IdentityCache(Generic[_V]):
    """``get(objects, extra, make)``: ``make()`` once per identity of ``objects`` and value of ``extra``.

    Example:
        >>> import numpy as np
        >>> cache = IdentityCache[float](size=2)
        >>> a = np.arange(3.0)
        >>> cache.get((a,), "sum", lambda: float(a.sum())), cache.get((a,), "sum", lambda: -1.0)
        (3.0, 3.0)
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, tuple[Sequence[object], _V]] = OrderedDict()

    def get(self, objects: Sequence[object], extra: Hashable, make: Callable[[], _V]) -> _V:
        """The cached value for these objects (by identity) and ``extra`` (by value), made if missing."""
        key = (tuple(id(o) for o in objects), extra)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit[1]
        value = make()
        with self._lock:
            self._items[key] = (tuple(objects), value)
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._items.clear()
