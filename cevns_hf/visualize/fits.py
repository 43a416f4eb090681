"""Figures of fits: data against the pre- or post-fit model in a physical projection, with a band and a ratio.

Functions return matplotlib ``Figure`` objects; the caller saves them (PNG and PDF), through the atomic
writer. Counts are shown per unit of the axis (events / PE, events / us), so bins of different widths
(0.125 us and 2 us) show the true shape; samples carry readable names.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.diagnostics import Projection
from cevns_hf.visualize._mpl import pyplot

__all__ = ["SAMPLE_LABELS", "figure_bytes", "projection_figure"]


def __dir__() -> list[str]:
    return __all__


#: Readable names of the samples in legends.
SAMPLE_LABELS = {
    "cevns": "CEvNS",
    "es": r"$\nu$-e scattering",
    "brn": "beam-related neutrons",
    "nin": r"$\nu$-induced neutrons",
    "ssb": "steady-state background",
    "dbrn": "delayed beam-related neutrons",
}


def projection_figure(projection: Projection, *, stage: str = "post-fit", min_fraction: float = 1e-3) -> Any:
    """Data and the stacked post-fit samples (or the pre-fit total) per unit width, a 1-sigma band, a ratio panel.

    Args:
        projection: a channel's projection from :func:`cevns_hf.inference.diagnostics.diagnose`.
        stage: ``"post-fit"`` or ``"pre-fit"`` (the label and which model is drawn).
        min_fraction: samples below this fraction of the total are left out of the stack (e.g. ES in the SM).

    Returns:
        The matplotlib Figure.
    """
    if stage not in ("post-fit", "pre-fit"):
        msg = f"stage must be 'post-fit' or 'pre-fit', got {stage!r}"
        raise ConfigurationError(msg)
    plt = pyplot()
    p = projection
    width = np.diff(p.edges)
    model = p.postfit if stage == "post-fit" else p.prefit
    sigma = p.postfit_sigma if stage == "post-fit" else p.prefit_sigma
    fig, (ax, rax) = plt.subplots(2, 1, sharex=True, figsize=(6.0, 5.2), gridspec_kw={"height_ratios": [3, 1]})
    if stage == "post-fit":
        bottom = np.zeros_like(width)
        total = float(np.sum(model))
        for name, values in sorted(p.postfit_samples.items(), key=lambda kv: float(np.sum(kv[1]))):
            if float(np.sum(values)) < min_fraction * total:
                continue
            ax.stairs(
                (bottom + values) / width,
                p.edges,
                baseline=bottom / width,
                fill=True,
                alpha=0.7,
                label=SAMPLE_LABELS.get(name, name),
            )
            bottom = bottom + values
    else:
        ax.stairs(model / width, p.edges, color="C0", label="pre-fit model")
    ax.stairs(
        (model + sigma) / width,
        p.edges,
        baseline=(model - sigma) / width,
        fill=True,
        color="none",
        hatch="////",
        edgecolor="grey",
        linewidth=0,
        label=f"{stage} uncertainty",
    )
    centres = 0.5 * (p.edges[1:] + p.edges[:-1])
    ax.errorbar(
        centres, p.observed / width, yerr=np.sqrt(p.observed) / width, xerr=width / 2, fmt="ko", ms=3, label="data"
    )
    unit = f" / {p.unit}" if p.unit else ""
    ax.set_ylabel(f"events{unit}")
    ax.set_title(f"{p.channel}, {stage}", loc="left")
    ax.legend(fontsize=8)
    safe = np.where(model > 0, model, np.nan)
    rax.errorbar(centres, p.observed / safe, yerr=np.sqrt(p.observed) / safe, xerr=width / 2, fmt="ko", ms=3)
    rax.stairs(
        1 + sigma / safe,
        p.edges,
        baseline=1 - sigma / safe,
        fill=True,
        color="none",
        hatch="////",
        edgecolor="grey",
        linewidth=0,
    )
    rax.axhline(1.0, color="k", lw=0.8)
    rax.set_ylabel("data / model")
    rax.set_xlabel(f"{p.axis} [{p.unit}]" if p.unit else p.axis)
    fig.tight_layout()
    return fig


def figure_bytes(fig: Any, formats: tuple[str, ...] = ("png", "pdf")) -> dict[str, bytes]:
    """The figure rendered in each format (for atomic writes by the caller); closes it."""
    import io

    out = {}
    try:
        for fmt in formats:
            buffer = io.BytesIO()
            fig.savefig(buffer, format=fmt, dpi=120, bbox_inches="tight")
            out[fmt] = buffer.getvalue()
    finally:
        pyplot().close(fig)
    return out
