"""Templates for grids of hypotheses: one vectorised cross-section evaluation per chunk of points.

A family model built with parameter arrays of shape (H, 1) evaluates all H hypotheses at once (numpy
broadcasting in the cross sections, one contraction with the precomputed detector response). Families or
detectors that do not vectorise fall back to a loop over points, with the same result.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.templates.basis import BasisError, cached_basis, fitting_box
from cevns_hf.templates.histograms import Sample

__all__ = ["batch_model", "engine_neutrino_samples", "grid_neutrino_samples"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)


def batch_model(
    family: Family, values: Mapping[str, Sequence[float]], fixed: Mapping[str, float] | None = None
) -> PhysicsModel:
    """One model for H hypotheses: each varied parameter becomes an (H, 1) array.

    Every value is checked against its parameter's range and the family's cross-parameter check runs on
    the whole grid.
    """
    return family.make_model(_validate(family, values, fixed))


def _validate(
    family: Family, values: Mapping[str, Sequence[float] | FloatArray], fixed: Mapping[str, float] | None
) -> dict[str, Any]:
    """The complete parameters of H points (varied ones as (H, 1) arrays), every value and cross-check validated."""
    arrays = {k: np.asarray(v, dtype=float).reshape(-1, 1) for k, v in values.items()}
    sizes = {a.shape[0] for a in arrays.values()}
    if len(sizes) != 1:
        msg = f"all grid parameters need the same number of points, got {[a.shape[0] for a in arrays.values()]}"
        raise ConfigurationError(msg)
    full: dict[str, Any] = family.complete({**(fixed or {})})
    for name, arr in arrays.items():
        family.parameter(name).check(arr)
        full[name] = arr
    if family.check is not None:
        family.check(full)
    return full


def _stack(samples: list[tuple[Sample, ...]]) -> tuple[Sample, ...]:
    out = []
    for k, first in enumerate(samples[0]):
        out.append(
            Sample(
                first.name,
                np.stack([s[k].nominal for s in samples]),
                first.norms,
                {
                    n: (np.stack([s[k].shapes[n][0] for s in samples]), np.stack([s[k].shapes[n][1] for s in samples]))
                    for n in first.shapes
                },
            )
        )
    return tuple(out)


def _leading(samples: tuple[Sample, ...], size: int) -> tuple[Sample, ...] | None:
    """The samples with every histogram given a leading axis of ``size`` points (a sample that does not depend
    on the hypothesis, e.g. the SM electron scattering of a nuclear-only model, comes without it); None when
    the model did not broadcast at all."""
    if samples[0].nominal.ndim < 2 or samples[0].nominal.shape[0] != size:
        return None
    ndim = samples[0].nominal.ndim

    def lead(arr: FloatArray) -> FloatArray:
        a = np.asarray(arr, dtype=float)
        return a if a.ndim == ndim else np.broadcast_to(a, (size, *a.shape))

    return tuple(
        Sample(s.name, lead(s.nominal), s.norms, {k: (lead(u), lead(d)) for k, (u, d) in s.shapes.items()})
        for s in samples
    )


def grid_neutrino_samples(
    detector: Detector,
    family: Family,
    values: Mapping[str, Sequence[float] | FloatArray],
    *,
    fixed: Mapping[str, float] | None = None,
    chunk: int = 256,
    basis: bool = True,
) -> tuple[Sample, ...]:
    """The hypothesis-dependent samples (CEvNS, ES) of ``detector`` for H grid points.

    Where the family's rate is a polynomial in the varied parameters (and the slice has more points than the
    basis needs to be built), the templates come from the exact polynomial basis of
    :mod:`cevns_hf.templates.basis`, one contraction for all points; elsewhere from the rate engine
    (:func:`engine_neutrino_samples`). Both agree to 1e-10 (checked when each basis is built).

    Args:
        detector: the detector.
        family: the BSM family.
        values: parameter name -> H values (the points, not axes: see
            :func:`cevns_hf.workspace.hypothesis.grid_points` to expand axes).
        fixed: parameters held fixed at every point.
        chunk: points evaluated together by the engine.
        basis: use the polynomial basis where it pays (False: the engine at every point).

    Returns:
        Samples whose histograms have a leading axis of length H.
    """
    poly = family.polynomial
    arrays = {k: np.asarray(v, dtype=float).ravel() for k, v in values.items()}
    n_points = len(next(iter(arrays.values())))
    named = tuple(k for k in arrays if poly is not None and k in poly.variables)
    if not basis or poly is None or not named:
        return engine_neutrino_samples(detector, family, values, fixed=fixed, chunk=chunk)
    _validate(family, arrays, fixed)
    others = [k for k in arrays if k not in named]
    slices: dict[tuple[float, ...], list[int]] = {}
    for i in range(n_points):
        slices.setdefault(tuple(float(arrays[k][i]) for k in others), []).append(i)
    parts: list[tuple[npt.NDArray[np.intp], tuple[Sample, ...]]] = []
    for key, rows in slices.items():
        idx = np.asarray(rows, dtype=np.intp)
        sub = {k: arrays[k][idx] for k in named}
        varied = tuple(k for k in named if np.ptp(sub[k]) > 0)
        where = {**(fixed or {}), **dict(zip(others, key, strict=True))}
        where.update({k: float(sub[k][0]) for k in named if k not in varied})
        m = math.comb(len(varied) + poly.degree, poly.degree)
        got = None
        if varied and idx.size > 3 * m:  # building the basis takes ~2.5 M engine points: it pays beyond
            points = {k: sub[k] for k in varied}
            box = fitting_box(family, points)
            try:
                got = cached_basis(detector, family, varied, tuple(sorted(where.items())), box).samples_at(points)
            except BasisError as err:
                log.warning("%s; using the rate engine", err)
        if got is None:
            sliced: dict[str, FloatArray] = {
                **sub,
                **{k: np.full(idx.size, v) for k, v in zip(others, key, strict=True)},
            }
            got = engine_neutrino_samples(detector, family, sliced, fixed=fixed, chunk=chunk)
        parts.append((idx, got))
    if len(parts) == 1:
        return parts[0][1]
    order = np.argsort(np.concatenate([idx for idx, _ in parts]))
    return _concatenate([got for _, got in parts], order)


def engine_neutrino_samples(
    detector: Detector,
    family: Family,
    values: Mapping[str, Sequence[float] | FloatArray],
    *,
    fixed: Mapping[str, float] | None = None,
    chunk: int = 256,
) -> tuple[Sample, ...]:
    """:func:`grid_neutrino_samples` from the rate engine at every point (no basis): one vectorised evaluation
    per ``chunk`` points (memory ~ chunk x 30k quadrature points x 8 bytes per array), or a loop over the
    points for a family whose model does not broadcast."""
    n_points = len(next(iter(values.values())))
    parts: list[tuple[Sample, ...]] = []
    for start in range(0, n_points, chunk):
        sub = {k: list(v)[start : start + chunk] for k, v in values.items()}
        size = len(next(iter(sub.values())))
        batched: tuple[Sample, ...] | None = None
        try:
            batched = _leading(detector.neutrino_samples(batch_model(family, sub, fixed)), size)
        except (TypeError, ValueError) as err:  # a family whose model does not broadcast
            log.debug("family %s does not vectorise (%s): looping over points", family.name, err)
            batched = None
        if batched is None:
            per_point = []
            for i in range(size):
                model = family.model({**(fixed or {}), **{k: v[i] for k, v in sub.items()}})
                per_point.append(detector.neutrino_samples(model))
            batched = _stack(per_point)
        parts.append(batched)
    if len(parts) == 1:
        return parts[0]
    return _concatenate(parts)


def _concatenate(parts: Sequence[tuple[Sample, ...]], order: npt.NDArray[np.intp] | None = None) -> tuple[Sample, ...]:
    """Samples of several point sets joined along the leading axis (then rows ``order``, if given)."""

    def join(arrays: list[FloatArray]) -> FloatArray:
        out = np.concatenate(arrays)
        return out if order is None else out[order]

    return tuple(
        Sample(
            p0.name,
            join([p[k].nominal for p in parts]),
            p0.norms,
            {
                n: (join([p[k].shapes[n][0] for p in parts]), join([p[k].shapes[n][1] for p in parts]))
                for n in p0.shapes
            },
        )
        for k, p0 in enumerate(parts[0])
    )
