"""Predictions: expected events per sample of a detector at a hypothesis (``cevns-hf predict``)."""

from __future__ import annotations

from typing import Any

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis, parse_hypothesis
from cevns_hf.detectors.base import Detector

__all__ = ["predict"]


def __dir__() -> list[str]:
    return __all__


def predict(detector: Detector | str, hypothesis: Hypothesis | str | None = None) -> dict[str, Any]:
    """Expected events per sample in the analysis region at nominal nuisances (``predict --json``).

    Args:
        detector: the detector (object or registered name).
        hypothesis: a :class:`~cevns_hf.bsm.family.Hypothesis` or its text form ``family:name=value,...``;
            None for the Standard Model. The BSM change is included in ``cevns`` / ``es``.

    Returns:
        ``{"experiment": name, "samples": {sample: events}}`` (and ``"hypothesis"`` when one is given).
    """
    (det,) = detectors.resolve(detector)
    result: dict[str, Any] = {"experiment": det.name}
    model = None
    if hypothesis is not None:
        hyp = parse_hypothesis(hypothesis) if isinstance(hypothesis, str) else hypothesis
        model = hyp.model()
        result["hypothesis"] = str(hyp)
    tmpl = det.templates(model)
    result["samples"] = {k: round(v, 6) for k, v in tmpl.totals().items()}
    return result
