"""Predictions and the Standard-Model summary table (our numbers beside the published ones)."""

from __future__ import annotations

from typing import Any

from cevns_hf import detectors
from cevns_hf.analysis import published

__all__ = ["predict", "summary_markdown"]


def __dir__() -> list[str]:
    return __all__


def predict(experiment: str, hypothesis: str | None = None) -> dict[str, Any]:
    """Expected events per sample in the analysis region at nominal nuisances (``predict --json``).

    With a hypothesis (text form ``family:name=value,...``) the BSM change is included in ``cevns`` / ``es``.
    """
    model = None
    result: dict[str, Any] = {"experiment": experiment}
    if hypothesis is not None:
        from cevns_hf.bsm.family import parse_hypothesis

        hyp = parse_hypothesis(hypothesis)
        model = hyp.model()
        result["hypothesis"] = str(hyp)
    tmpl = detectors.templates(experiment, model)
    result["samples"] = {k: round(v, 6) for k, v in tmpl.totals().items()}
    return result


def summary_markdown(results: dict[str, Any]) -> str:
    """Markdown table of our predictions and fits beside the published numbers."""
    rows = ["| quantity | cevns_hf | published |", "|---|---|---|"]
    for exp, (val, err) in published.PREDICTED_CEVNS.items():
        ours = results["predictions"].get(exp, {}).get("cevns")
        if ours is not None:
            rows.append(f"| {exp} predicted CEvNS | {ours:.1f} | {val:.0f} +- {err:.0f} |")
    for exp, (val, err) in published.FITTED_CEVNS.items():
        fit = results["fits"].get(exp)
        if fit is not None:
            ev = fit["cevns_events"][exp]
            rows.append(f"| {exp} fitted CEvNS | {ev['value']:.1f} +- {ev['error']:.1f} | {val:.0f} +- {err:.0f} |")
    comb = results["fits"].get("csi2021+lar2020")
    if comb is not None:
        for exp, ev in comb["cevns_events"].items():
            rows.append(
                f"| {exp} fitted CEvNS (joint csi2021+lar2020 fit) | {ev['value']:.1f} +- {ev['error']:.1f} | - |"
            )
    return "# cevns_hf Standard-Model results\n\n" + "\n".join(rows) + "\n"
