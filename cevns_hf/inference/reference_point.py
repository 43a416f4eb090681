"""How far from the Standard Model a parameter must go to change the neutrino rates visibly.

:func:`reference_value` (the reference point of linear-POI workspaces) and the parameter grids of
profile-likelihood limits start from the offset at which the CEvNS + ES rates change by ~30 %, found on a
geometric ladder of offsets with one vectorised template evaluation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, Parameter, resolve_family
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.likelihood import NEUTRINO_SAMPLES
from cevns_hf.templates.batch import grid_neutrino_samples
from cevns_hf.workspace.hypothesis import Experiments

__all__ = ["RateScale", "range_span", "rate_scale", "reference_value", "side_grid"]


def __dir__() -> list[str]:
    return __all__


#: Target relative change of the neutrino rates at the automatic reference point (20-50%).
_TARGET_RATE_CHANGE = 0.3


#: The profile grid spans this many times the parameter offset giving the target rate change.
_PROFILE_SPAN = 8.0


def range_span(param: Parameter, sign: int) -> float:
    """Distance from the SM value to the end of the range on one side (inside an open end)."""
    end = param.hi if sign > 0 else param.lo
    distance = abs(end - param.sm)
    if not math.isfinite(distance):
        return 1e3 * max(1.0, abs(param.sm))
    if sign < 0 and param.lo_open:
        distance *= 1.0 - 1e-9
    return distance


def _rate_changes(
    experiments: Sequence[Detector],
    family: Family,
    parameter: str,
    values: FloatArray,
    fixed: Mapping[str, float],
    without_es: bool = False,
) -> FloatArray:
    """sum |N_nu(hyp) - N_nu(SM)| / sum N_nu(SM) over bins and experiments (N_nu: CEvNS + ES) per value."""
    counted = tuple(n for n in NEUTRINO_SAMPLES if not (without_es and n == "es"))
    change = np.zeros(values.size)
    total = 0.0
    for det in experiments:
        sm = det.templates()
        nominal = sum(s.nominal for s in sm.samples if s.name in counted)
        samples = grid_neutrino_samples(det, family, {parameter: [float(v) for v in values]}, fixed=fixed)
        hyp = sum(s.nominal for s in samples if s.name in counted)
        diff = np.asarray(hyp, dtype=float).reshape(values.size, -1) - np.asarray(nominal, dtype=float).reshape(1, -1)
        change += np.abs(diff).sum(axis=1)
        total += float(np.sum(nominal))
    return change / total


@dataclass(frozen=True)
class RateScale:
    """The offset from the SM value where the rate change reaches the target, and the ladder behind it."""

    offset: float | None  # offset from the SM value where the rate change reaches the target (None: never)
    offsets: FloatArray
    changes: FloatArray


def rate_scale(
    experiments: Sequence[Detector],
    family: Family,
    param: Parameter,
    sign: int,
    fixed: Mapping[str, float],
    without_es: bool = False,
) -> RateScale:
    """Offset from the SM value (on one side) at which the neutrino rates change by ~30%.

    Evaluated on a geometric ladder of offsets (4 per decade over 15 decades, one vectorised template
    evaluation); the first crossing of the target from small offsets is interpolated log-log.
    """
    span = range_span(param, sign)
    offsets = span * np.geomspace(1e-15, 1.0, 61)
    values = param.sm + sign * offsets
    changes = _rate_changes(experiments, family, param.name, values, fixed, without_es)
    if not np.any(changes > 0):
        msg = (
            f"{param.name} does not change the predicted rates of {'+'.join(d.name for d in experiments)} "
            f"(other parameters: {dict(fixed) or 'SM'}); set the parameters it multiplies with fixed=..."
        )
        raise ConfigurationError(msg)
    above = np.nonzero(changes >= _TARGET_RATE_CHANGE)[0]
    if above.size == 0:
        return RateScale(None, offsets, changes)
    i = int(above[0])
    if i == 0 or changes[i - 1] <= 0:
        return RateScale(float(offsets[i]), offsets, changes)
    x0, x1 = math.log(offsets[i - 1]), math.log(offsets[i])
    y0, y1 = math.log(changes[i - 1]), math.log(changes[i])
    x = x0 + (x1 - x0) * (math.log(_TARGET_RATE_CHANGE) - y0) / (y1 - y0)
    return RateScale(float(min(math.exp(x), offsets[i])), offsets, changes)


def reference_value(
    experiments: Experiments,
    family: str | Family,
    parameter: str,
    *,
    fixed: Mapping[str, float] | None = None,
    without_es: bool = False,
) -> float:
    """A parameter value changing the neutrino (CEvNS + ES) rates by ~30% (above the SM value if possible).

    Used as the reference point of linear-POI workspaces: far enough from the SM for a precise template
    difference, near the expected sensitivity. Where no value reaches 30% (e.g. oscillation amplitudes),
    the value of largest change is returned.

    Args:
        experiments: data sets (``"csi2021"``, ``["csi2021", "lar2020"]`` ...).
        family: the BSM family.
        parameter: the parameter.
        fixed: other parameters held fixed.

    Returns:
        The reference value of ``parameter``.
    """
    exps = detectors.resolve(experiments)
    fam = resolve_family(family)
    param = fam.parameter(parameter)
    sign = 1 if param.hi > param.sm else -1
    scale = rate_scale(exps, fam, param, sign, dict(fixed or {}), without_es)
    offset = scale.offset if scale.offset is not None else float(scale.offsets[int(np.argmax(scale.changes))])
    return float(param.sm + sign * offset)


def side_grid(param: Parameter, sign: int, scale: RateScale, n_side: int) -> FloatArray:
    """``n_side`` values on one side of the SM value: linear out to 8 x the rate scale, geometric beyond."""
    span = range_span(param, sign)
    if scale.offset is None:
        offsets = span * np.linspace(0.0, 1.0, n_side + 1)[1:]
    else:
        reach = min(_PROFILE_SPAN * scale.offset, span)
        n_lin = n_side if reach >= span else max(3, math.ceil(0.75 * n_side))
        offsets = reach * np.linspace(0.0, 1.0, n_lin + 1)[1:]
        if reach < span and n_side > n_lin:
            offsets = np.concatenate([offsets, np.geomspace(reach, span, n_side - n_lin + 1)[1:]])
    return np.asarray(param.sm + sign * offsets, dtype=float)
