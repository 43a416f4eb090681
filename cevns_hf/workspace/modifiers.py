r"""The one rule that turns the reference analyses' nuisances into HistFactory modifiers.

A :class:`~cevns_hf.templates.histograms.Sample` states its nuisances as the reference chi-squares do
(``physics.md`` section 7): a *normalisation* :math:`N^0 (1 + \sigma\theta)` per name in ``Sample.norms``, and a
*shape* given by its :math:`\pm 1\sigma` histograms per name in ``Sample.shapes``. This module is the only place
that decides how they become modifiers; the workspace builders (:mod:`cevns_hf.workspace.build`,
:mod:`cevns_hf.workspace.hypothesis`, :mod:`cevns_hf.workspace.patchset`) and the fast likelihood
(:mod:`cevns_hf.inference.assemble`) read it from here.

The rule (``docs/model.md``):

* by default a normalisation is a **normsys** (HistFactory's OverallSys) with factors
  :math:`\kappa_{hi} = 1 + \sigma`, :math:`\kappa_{lo} = 1 - \sigma` (pyhf's code4: exponential beyond
  :math:`|\theta| = 1`, a 6th-order polynomial inside, always positive, so no parameter bounds are needed). A factor
  that would not be positive (:math:`|\sigma| \ge 1`, e.g. ``beta_8`` = 100 %) is replaced by the reciprocal of the
  other one (:func:`normsys_factors`: :math:`\sigma = 1` gives :math:`\kappa_{hi} = 2`, :math:`\kappa_{lo} = 1/2`);
* with ``linear_norms=True`` a normalisation is the exact linear mirror of the reference chi-squares instead: a
  **symmetric histosys** with :math:`N^{hi/lo} = N^0 (1 \pm \sigma)`, exactly linear under pyhf's code4p
  (``pyhf-notes.md``), with the bounds :math:`1 + \sigma\theta \ge 0` of :func:`nuisance_bounds` (which
  ``pyhf json2xml`` does not keep);
* a shape is always a **histosys** with the :math:`\pm 1\sigma` templates (code4p: smooth inside
  :math:`|\theta| \le 1`, linear outside).

pyhf adds a sample's histosys deltas and multiplies the sum by its normsys factors (and normfactor):
:math:`\nu = \mu \prod_k f_k(\theta_k) \big(N^0 + \sum_j \Delta_j(\theta_j)\big)`.

Example:
    >>> import numpy as np
    >>> from cevns_hf.templates.histograms import Sample
    >>> brn = Sample("brn", np.array([10.0]), {"alpha_1": 0.25})
    >>> [(v.name, v.kind, float(v.hi), float(v.lo)) for v in variations(brn)]
    [('alpha_1', 'normsys', 1.25, 0.75)]
    >>> [(v.name, v.kind, v.hi.tolist()) for v in variations(brn, linear_norms=True)]
    [('alpha_1', 'histosys', [12.5])]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.templates.histograms import Sample, Templates

__all__ = ["DEFAULT_BOUNDS", "Variation", "modifier_spec", "normsys_factors", "nuisance_bounds", "variations"]


def __dir__() -> list[str]:
    return __all__


#: pyhf's default bounds of a histosys or normsys parameter.
DEFAULT_BOUNDS = (-5.0, 5.0)
_SIGNIFICANT = 12


@dataclass(frozen=True, eq=False)
class Variation:
    """A nuisance's effect on one sample as a pyhf modifier.

    Attributes:
        name: nuisance name (``alpha_0``, ``beta_4`` ...).
        kind: ``"normsys"`` (a normalisation factor) or ``"histosys"`` (histograms).
        hi: histosys: the histogram at theta = +1 (any leading axes of the sample's nominal kept); normsys: the
            factor :math:`\\kappa_{hi}` (a 0-d array).
        lo: the histogram, or the factor :math:`\\kappa_{lo}`, at theta = -1.
    """

    name: str
    kind: Literal["normsys", "histosys"]
    hi: FloatArray
    lo: FloatArray


def _round(x: float) -> float:
    return float(f"{x:.{_SIGNIFICANT}g}")


def normsys_factors(sigma: float) -> tuple[float, float]:
    r"""The normsys factors :math:`(\kappa_{hi}, \kappa_{lo})` of a relative uncertainty :math:`\sigma`.

    :math:`(1 + \sigma, 1 - \sigma)`, rounded to 12 significant digits as the workspaces store them; a factor
    that would be :math:`\le 0` (code4 takes its logarithm) becomes the reciprocal of the other one:
    :math:`\kappa_{lo} = 1/(1 + \sigma)` for :math:`\sigma \ge 1`, :math:`\kappa_{hi} = 1/(1 - \sigma)` for
    :math:`\sigma \le -1`.

    Example:
        >>> normsys_factors(0.25), normsys_factors(1.0), normsys_factors(-0.1)
        ((1.25, 0.75), (2.0, 0.5), (0.9, 1.1))
    """
    hi, lo = 1.0 + sigma, 1.0 - sigma
    if lo <= 0.0:
        lo = 1.0 / hi
    if hi <= 0.0:
        hi = 1.0 / lo
    return _round(hi), _round(lo)


def variations(sample: Sample, *, linear_norms: bool = False) -> list[Variation]:
    """Every nuisance of ``sample`` as a modifier: normalisations first, then shapes, by name.

    Args:
        sample: the sample.
        linear_norms: normalisations as symmetric histosys (the exact linear mirror) instead of normsys.
    """
    nominal = np.asarray(sample.nominal, dtype=float)
    out: list[Variation] = []
    for name, sigma in sorted(sample.norms.items()):
        if linear_norms:
            out.append(Variation(name, "histosys", nominal * (1.0 + sigma), nominal * (1.0 - sigma)))
        else:
            hi, lo = normsys_factors(float(sigma))
            out.append(Variation(name, "normsys", np.asarray(hi), np.asarray(lo)))
    out += [
        Variation(name, "histosys", np.asarray(up, dtype=float), np.asarray(down, dtype=float))
        for name, (up, down) in sorted(sample.shapes.items())
    ]
    return out


def _values(hist: FloatArray) -> list[float]:
    """Flatten a histogram (C order) to JSON floats rounded to 12 significant digits (deterministic)."""
    return [_round(x) for x in np.asarray(hist, dtype=float).ravel()]


def modifier_spec(variation: Variation) -> dict[str, Any]:
    """The pyhf JSON modifier of a variation: a normsys with its factors or a histosys with its histograms."""
    if variation.kind == "normsys":
        return {
            "name": variation.name,
            "type": "normsys",
            "data": {"hi": _round(float(variation.hi)), "lo": _round(float(variation.lo))},
        }
    return {
        "name": variation.name,
        "type": "histosys",
        "data": {"hi_data": _values(variation.hi), "lo_data": _values(variation.lo)},
    }


def nuisance_bounds(templates: Sequence[Templates], *, linear_norms: bool = False) -> dict[str, tuple[float, float]]:
    """Parameter bounds the modifiers need beyond pyhf's defaults (-5, 5).

    normsys factors are positive for every theta: nothing is needed (the default). With ``linear_norms`` the
    linearly normalised nuisances keep every factor 1 + sigma theta >= 0, within (-5, 5); nuisances that are
    only shapes are not listed.
    """
    bounds: dict[str, tuple[float, float]] = {}
    if not linear_norms:
        return bounds
    for tmpl in templates:
        for sample in tmpl.samples:
            for name, sigma in sample.norms.items():
                lo, hi = bounds.get(name, DEFAULT_BOUNDS)
                if sigma > 0:
                    lo = max(lo, -1.0 / sigma)
                elif sigma < 0:
                    hi = min(hi, -1.0 / sigma)
                bounds[name] = (lo, hi)
    return bounds
