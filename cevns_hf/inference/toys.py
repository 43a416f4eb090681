"""Toys (pseudo-experiments): temporary home of pyhf's toy-calculator support (replaced by our own engine)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pyhf
from scipy import stats

from cevns_hf.exceptions import CevnsHFError

log = logging.getLogger(__name__)

__all__ = ["ToysUnavailableError", "toys_supported"]


def __dir__() -> list[str]:
    return __all__


_PYHF_TOYS_FIXED = (0, 7, 7)  # first pyhf release that may carry the percentile fix (not yet released)


class ToysUnavailableError(CevnsHFError, RuntimeError):
    """Toy-based CLs is not available with the installed numpy / pyhf combination."""


def _version_tuple(text: str, n: int) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:n]:
        match = re.match(r"\d+", piece)
        parts.append(int(match.group()) if match else 0)
    return tuple(parts + [0] * (n - len(parts)))


def _numpy_version() -> tuple[int, ...]:
    """(major, minor) of the installed numpy."""
    return _version_tuple(np.__version__, 2)


def _pyhf_version() -> tuple[int, ...]:
    """(major, minor, patch) of the installed pyhf."""
    return _version_tuple(pyhf.__version__, 3)


def toys_supported() -> bool:
    """Whether pyhf's toy-based calculator works here (pyhf <= 0.7.6 needs numpy < 2.4)."""
    return _numpy_version() < (2, 4) or _pyhf_version() >= _PYHF_TOYS_FIXED


def _require_toys() -> None:
    if not toys_supported():
        msg = (
            f"toy-based CLs is unavailable with numpy {np.__version__} and pyhf {pyhf.__version__}: pyhf 0.7.6 "
            "calls numpy.percentile(..., interpolation=...), an argument numpy 2.4 removed (fixed on pyhf "
            "main, not released). Install numpy < 2.4 (cevns_hf pins it: pip install 'numpy<2.4') or use "
            "the asymptotic calculator (method='asymptotic')"
        )
        raise ToysUnavailableError(msg)


def _point_seed(seed: int, poi_value: float) -> np.ndarray[Any, Any]:
    """A 128-bit seed for the legacy RandomState derived from (seed, POI value)."""
    bits = np.frombuffer(np.float64(poi_value).tobytes(), dtype=np.uint32)
    return np.random.SeedSequence([int(seed), *(int(b) for b in bits)]).generate_state(4)


@contextmanager
def _seeded(seed: int | None, poi_value: float) -> Iterator[None]:
    """Seed numpy's global RandomState (which pyhf's toys use) and restore its previous state on exit."""
    if seed is None:
        yield
        return
    state = np.random.get_state()  # noqa: NPY002 - pyhf samples from the global legacy RandomState
    np.random.seed(_point_seed(seed, poi_value))  # noqa: NPY002
    try:
        yield
    finally:
        np.random.set_state(state)  # noqa: NPY002


@contextmanager
def _nonnegative_poisson_rates() -> Iterator[None]:
    """Generate toys from Poisson rates clipped at 0 (numpy backend).

    A fitted model can have a slightly negative expected count in a bin with no data (a histosys template
    extrapolated beyond +-1 sigma): pyhf's Poisson log-pdf accepts it, but scipy cannot sample from it and
    pyhf's toy generation stops with a domain error. A Poisson of rate <= 0 yields 0 events, which is what
    this sampler draws there; for rates >= 0 the draws are identical to pyhf's (same scipy call and stream).
    """
    from pyhf.tensor import numpy_backend

    poisson_class = numpy_backend._BasicPoisson
    original = poisson_class.sample

    def sample(self: Any, sample_shape: tuple[int, ...]) -> Any:
        rate = np.asarray(self.rate, dtype=float)
        if np.any(rate < 0):
            log.info(
                "toys: %d bins with negative expected counts (min %.3g) sampled as 0", (rate < 0).sum(), rate.min()
            )
            rate = np.clip(rate, 0.0, None)
        return stats.poisson(rate).rvs(size=tuple(sample_shape) + rate.shape)

    poisson_class.sample = sample
    try:
        yield
    finally:
        poisson_class.sample = original
