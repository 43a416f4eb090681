"""Detector-response building blocks shared by the detector modules (pure numpy functions)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import special

from cevns_hf._typing import FloatArray

__all__ = [
    "bin_fine",
    "gamma_smear",
    "gaussian_smear",
    "shifted_time_bins",
]


def __dir__() -> list[str]:
    return __all__


def bin_fine(fine_probs: FloatArray, fine_edges: FloatArray, edges: FloatArray) -> FloatArray:
    """Sum fine-bin contents (last axis) into coarse bins, linear interpolation of the cumulative sum.

    Coarse edges that coincide with fine edges give exact sums; others split a fine bin uniformly.
    """
    cum = np.concatenate([np.zeros((*fine_probs.shape[:-1], 1)), np.cumsum(fine_probs, axis=-1)], axis=-1)
    flat = cum.reshape(-1, cum.shape[-1])
    at = np.stack([np.interp(edges, fine_edges, row) for row in flat])
    return np.diff(at, axis=-1).reshape(*fine_probs.shape[:-1], len(edges) - 1)


def gamma_smear(mean: FloatArray, shape: FloatArray, fine_edges: FloatArray) -> FloatArray:
    """Probabilities of a gamma distribution (given mean and shape k) in fine bins, shape (n, n_fine).

    Entries with a non-positive mean give all-zero rows (no visible signal).
    """
    ok = (mean > 0) & (shape > 0)
    k = np.where(ok, shape, 1.0)[:, None]
    scale = np.where(ok, mean, 1.0)[:, None] / k
    cdf = special.gammainc(k, fine_edges[None, :] / scale)
    return np.where(ok[:, None], np.diff(cdf, axis=1), 0.0)


def gaussian_smear(mean: FloatArray, sigma: FloatArray, fine_edges: FloatArray) -> FloatArray:
    """Probabilities of a normal distribution in fine bins, shape (n, n_fine); zero rows for sigma <= 0."""
    ok = (sigma > 0) & (mean > 0)
    s = np.where(ok, sigma, 1.0)[:, None]
    cdf = special.ndtr((fine_edges[None, :] - mean[:, None]) / s)
    return np.where(ok[:, None], np.diff(cdf, axis=1), 0.0)


def shifted_time_bins(
    fine_edges: FloatArray,
    fine_probs: FloatArray,
    edges: FloatArray,
    *,
    shift: float = 0.0,
    efficiency: Callable[[FloatArray], FloatArray] | None = None,
) -> FloatArray:
    """Bin a finely binned time distribution into analysis bins after a shift and a time efficiency.

    Args:
        fine_edges: edges of the fine time bins [us].
        fine_probs: content of the fine bins (last axis).
        edges: analysis bin edges [us].
        shift: the distribution is moved by ``shift`` [us] (beam-timing systematic).
        efficiency: optional efficiency as a function of the reconstructed (shifted) time, evaluated at
            the centres of the shifted fine bins.
    """
    moved = fine_edges + shift
    probs = fine_probs
    if efficiency is not None:
        probs = probs * efficiency(0.5 * (moved[1:] + moved[:-1]))
    return bin_fine(probs, moved, edges)
