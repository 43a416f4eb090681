r"""The one rule that turns the reference analyses' nuisances into HistFactory modifiers.

A :class:`~cevns_hf.templates.histograms.Sample` states its nuisances as the reference chi-squares do
(``physics.md`` section 7): a *linear normalisation* :math:`N^0 (1 + \sigma\theta)` per name in
``Sample.norms``, and a *shape* given by its :math:`\pm 1\sigma` histograms per name in ``Sample.shapes``.
This module is the only place that decides how they become modifiers; the workspace builders
(:mod:`cevns_hf.workspace.build`, :mod:`cevns_hf.workspace.hypothesis`), the fast likelihood
(:mod:`cevns_hf.inference.likelihood`) and the reference chi-square (:mod:`cevns_hf.reference.chi2`)
read it from here.

The rule (``docs/model.md``):

* a linear normalisation is a **symmetric histosys** with :math:`N^{hi/lo} = N^0 (1 \pm \sigma)`: pyhf's
  code4p interpolation is then exactly linear in :math:`\theta` (``pyhf-notes.md``), as the references are;
* a shape is a **histosys** with the :math:`\pm 1\sigma` templates (code4p: smooth inside
  :math:`|\theta| \le 1`, linear outside);
* a linear normalisation keeps its factor non-negative: :math:`1 + \sigma\theta \ge 0`, i.e.
  :math:`\theta \ge -1/\sigma` for :math:`\sigma > 0` and :math:`\theta \le 1/|\sigma|` for
  :math:`\sigma < 0`, within pyhf's default histosys bounds (-5, 5) (:func:`nuisance_bounds`).

Example:
    >>> import numpy as np
    >>> from cevns_hf.templates.histograms import Sample
    >>> [(v.name, v.kind, v.hi.tolist()) for v in variations(Sample("brn", np.array([10.0]), {"alpha_1": 0.25}))]
    [('alpha_1', 'norm', [12.5])]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.templates.histograms import Sample, Templates

__all__ = ["DEFAULT_BOUNDS", "Variation", "modifier_spec", "nuisance_bounds", "variations"]


def __dir__() -> list[str]:
    return __all__


#: pyhf's default bounds of a histosys parameter.
DEFAULT_BOUNDS = (-5.0, 5.0)
_SIGNIFICANT = 12


@dataclass(frozen=True, eq=False)
class Variation:
    """A nuisance's effect on one sample: the sample's histograms at :math:`\\theta = \\pm 1`.

    Attributes:
        name: nuisance name (``alpha_0``, ``beta_4`` ...).
        kind: ``"norm"`` (a linear normalisation) or ``"shape"``.
        hi: the histogram at theta = +1 (any leading axes of the sample's nominal are kept).
        lo: the histogram at theta = -1.
    """

    name: str
    kind: Literal["norm", "shape"]
    hi: FloatArray
    lo: FloatArray


def variations(sample: Sample) -> list[Variation]:
    """Every nuisance of ``sample`` as its +-1 sigma histograms: normalisations first, then shapes, by name."""
    nominal = np.asarray(sample.nominal, dtype=float)
    out = [
        Variation(name, "norm", nominal * (1.0 + sigma), nominal * (1.0 - sigma))
        for name, sigma in sorted(sample.norms.items())
    ]
    out += [
        Variation(name, "shape", np.asarray(up, dtype=float), np.asarray(down, dtype=float))
        for name, (up, down) in sorted(sample.shapes.items())
    ]
    return out


def _values(hist: FloatArray) -> list[float]:
    """Flatten a histogram (C order) to JSON floats rounded to 12 significant digits (deterministic)."""
    return [float(f"{x:.{_SIGNIFICANT}g}") for x in np.asarray(hist, dtype=float).ravel()]


def modifier_spec(variation: Variation) -> dict[str, Any]:
    """The pyhf JSON modifier of a variation: a histosys with its hi/lo histograms."""
    return {
        "name": variation.name,
        "type": "histosys",
        "data": {"hi_data": _values(variation.hi), "lo_data": _values(variation.lo)},
    }


def nuisance_bounds(templates: Sequence[Templates]) -> dict[str, tuple[float, float]]:
    """Bounds of the linearly normalised nuisances (every factor 1 + sigma theta >= 0), within (-5, 5).

    Nuisances that are only shapes are not listed (pyhf's defaults apply).
    """
    bounds: dict[str, tuple[float, float]] = {}
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
