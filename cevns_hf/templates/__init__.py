"""Binned templates: the interface between the detector models and the workspace builders.

* :mod:`~cevns_hf.templates.histograms`: :class:`Axis`, :class:`Sample`, :class:`Templates`;
* :mod:`~cevns_hf.templates.predict`: expected events per sample for a hypothesis;
* :mod:`~cevns_hf.templates.batch`: the hypothesis-dependent samples of a grid of hypotheses at once.
"""

from __future__ import annotations

from cevns_hf.templates.histograms import Axis, Sample, Templates

__all__ = ["Axis", "Sample", "Templates"]


def __dir__() -> list[str]:
    return __all__
