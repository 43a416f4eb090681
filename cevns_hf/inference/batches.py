"""The rows of the engine's likelihood (:class:`Batch`) and the result of profiling them (:class:`Profile`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.inference.groups import Groups, as_poi_values

__all__ = ["Batch", "Profile"]


def __dir__() -> list[str]:
    return __all__


def _rows(array: FloatArray | None, index: npt.NDArray[np.integer[Any]] | slice) -> FloatArray | None:
    """Rows ``index`` of an array whose leading axis is the row (length 1: broadcast, kept)."""
    if array is None or array.shape[0] == 1:
        return array
    return array[index]


@dataclass(frozen=True, eq=False)
class Batch:
    """H rows of the model, flattened over channels and bins (a leading axis of length 1 is broadcast).

    Attributes:
        parts: the grouped samples (:class:`~cevns_hf.inference.groups.Groups`), e.g. the fixed backgrounds (one
            row) and the hypothesis-dependent samples (H rows); their expected counts add up.
        data: (H, B) observed counts per row (None: the likelihood's observed data).
        aux: (H, K) auxiliary data of the unit-Gaussian constraints (None: 0).
        constant: (H,) :math:`2\\sum_b \\ln\\Gamma(n_b + 1) + K\\ln(2\\pi)` of ``data`` (set with ``data``).
    """

    parts: tuple[Groups, ...]
    data: FloatArray | None = None
    aux: FloatArray | None = None
    constant: FloatArray | None = None

    @property
    def size(self) -> int:
        """Number of rows H."""
        rows = [p.rows for p in self.parts] + [int(x.shape[0]) for x in (self.data, self.aux) if x is not None]
        return max(rows)

    @property
    def has_poi(self) -> bool:
        """Whether some samples depend on a POI (then every evaluation needs its value)."""
        return self.n_pois > 0

    @property
    def n_pois(self) -> int:
        """Number J of POIs the samples depend on (1 for a normfactor POI; a polynomial basis may have more)."""
        return max((p.n_pois for p in self.parts), default=0)

    def take(self, index: npt.NDArray[np.integer[Any]] | slice) -> Batch:
        """The rows selected by ``index`` (an integer array or a slice)."""
        return Batch(
            tuple(p.take(index) for p in self.parts),
            _rows(self.data, index),
            _rows(self.aux, index),
            _rows(self.constant, index),
        )

    def fold(self, mu: float | FloatArray) -> Batch:
        """The batch at fixed POI values ``mu`` (scalar or (H,) for one POI; (J,) or (H, J)): a batch without POI."""
        if not self.has_poi:
            return self
        m = as_poi_values(mu, self.n_pois)
        return replace(self, parts=tuple(p.fold(m) for p in self.parts))


@dataclass(frozen=True, eq=False)
class Profile:
    """Result of profiling the nuisances (and a free POI) at H rows.

    Attributes:
        twice_nll: (H,) pyhf's -2 ln L at the minimum.
        theta: (H, K) profiled nuisances (order of :attr:`Likelihood.nuisances`).
        converged: (H,) True where the Newton decrement fell below the tolerance.
        iterations: (H,) Newton iterations used.
        mu: (H,) the POI (fitted when free, else the fixed values); None without POI.
    """

    twice_nll: FloatArray
    theta: FloatArray
    converged: np.ndarray
    iterations: np.ndarray
    mu: FloatArray | None = None
