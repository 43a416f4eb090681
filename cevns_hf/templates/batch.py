"""Templates for grids of hypotheses: one vectorised cross-section evaluation per chunk of points.

A family model built with parameter arrays of shape (H, 1) evaluates all H hypotheses at once (numpy
broadcasting in the cross sections, one contraction with the precomputed detector response). Families or
detectors that do not vectorise fall back to a loop over points, with the same result.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from cevns_hf.bsm.family import Family
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.templates.histograms import Sample

__all__ = ["batch_model", "grid_neutrino_samples"]


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
    fam = family
    arrays = {k: np.asarray(v, dtype=float).reshape(-1, 1) for k, v in values.items()}
    sizes = {a.shape[0] for a in arrays.values()}
    if len(sizes) != 1:
        msg = f"all grid parameters need the same number of points, got {[a.shape[0] for a in arrays.values()]}"
        raise ConfigurationError(msg)
    full: dict[str, Any] = fam.complete({**(fixed or {})})
    for name, arr in arrays.items():
        fam.parameter(name).check(arr)
        full[name] = arr
    if fam.check is not None:
        fam.check(full)
    return fam.make_model(full)


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


def grid_neutrino_samples(
    detector: Detector,
    family: Family,
    values: Mapping[str, Sequence[float]],
    *,
    fixed: Mapping[str, float] | None = None,
    chunk: int = 256,
) -> tuple[Sample, ...]:
    """The hypothesis-dependent samples (CEvNS, ES) of ``experiment`` for H grid points.

    Args:
        detector: the detector.
        family: the BSM family.
        values: parameter name -> H values (the points, not axes: see
            :func:`cevns_hf.workspace.hypothesis.grid_points` to expand axes).
        fixed: parameters held fixed at every point.
        chunk: points evaluated together (memory ~ chunk x 30k points x 8 bytes per array).

    Returns:
        Samples whose histograms have a leading axis of length H.
    """
    n_points = len(next(iter(values.values())))
    parts: list[tuple[Sample, ...]] = []
    for start in range(0, n_points, chunk):
        sub = {k: list(v)[start : start + chunk] for k, v in values.items()}
        size = len(next(iter(sub.values())))
        batched: tuple[Sample, ...] | None = None
        try:
            batched = detector.neutrino_samples(batch_model(family, sub, fixed))
            if batched[0].nominal.ndim < 2 or batched[0].nominal.shape[0] != size:
                batched = None
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
    return tuple(
        Sample(
            p0.name,
            np.concatenate([p[k].nominal for p in parts]),
            p0.norms,
            {
                n: (
                    np.concatenate([p[k].shapes[n][0] for p in parts]),
                    np.concatenate([p[k].shapes[n][1] for p in parts]),
                )
                for n in p0.shapes
            },
        )
        for k, p0 in enumerate(parts[0])
    )
