"""Plots of fits and scans (matplotlib, non-interactive Agg backend; optional dependency ``[plot]``).

Every function writes one figure file through :func:`cevns_hf.io.atomic.atomic_output` (a temporary file +
rename) and returns its path; an existing file, or a symlink, is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.templates.histograms import Templates
from cevns_hf.visualize._mpl import pyplot
from cevns_hf.visualize.fits import SAMPLE_LABELS

__all__ = ["plot_projections"]


def __dir__() -> list[str]:
    return __all__


#: Delta chi2 levels drawn: 1 dof (1 sigma, 90 %, 2 sigma) and 2 dof (1 sigma, 90 %, 2 sigma).
LEVELS_1D = {"1sigma": 1.0, "90%": 2.706, "2sigma": 4.0}
LEVELS_2D = {"1sigma": 2.30, "90%": 4.61, "2sigma": 6.18}


def _save(fig: Any, path: Path, overwrite: bool) -> Path:
    from cevns_hf.io.atomic import atomic_output

    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
    finally:
        pyplot().close(fig)
    return path


def plot_projections(
    templates: Templates, fitted: Mapping[str, FloatArray], path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Data against the (fitted) model in the energy and time projections, samples stacked.

    Args:
        templates: the experiment's templates (binning and observed data).
        fitted: sample name -> expected counts per bin (same layout as the templates) to draw.
        path: output file (``.png``/``.pdf``).
        overwrite: replace an existing file (or symlink).
    """
    plt = pyplot()
    axes_names = [a for a in ("energy", "time") if a in [ax.name for ax in templates.axes]]
    fig, axs = plt.subplots(1, len(axes_names), figsize=(5.5 * len(axes_names), 4.2))
    axs = np.atleast_1d(axs)
    for ax, name in zip(axs, axes_names, strict=True):
        axis = next(a for a in templates.axes if a.name == name)
        edges = np.asarray(axis.edges)
        width = np.diff(edges)
        bottom = np.zeros(axis.n_bins)
        total = float(sum(np.sum(v) for v in fitted.values()))
        for sample, values in sorted(fitted.items(), key=lambda kv: float(np.sum(kv[1]))):
            proj = templates.projection(np.asarray(values), name)
            if float(proj.sum()) < 1e-3 * total:  # e.g. ES in the SM: 1e-4 events, not a visible sample
                continue
            label = SAMPLE_LABELS.get(sample, sample)
            ax.stairs((proj + bottom) / width, edges, baseline=bottom / width, fill=True, alpha=0.7, label=label)
            bottom = bottom + proj
        data = templates.projection(templates.observed, name)
        centres = 0.5 * (edges[1:] + edges[:-1])
        ax.errorbar(centres, data / width, yerr=np.sqrt(data) / width, xerr=width / 2, fmt="ko", ms=3, label="data")
        ax.set_xlabel(f"{name} [{axis.unit}]" if axis.unit else name)
        ax.set_ylabel(f"events / {axis.unit}" if axis.unit else "events per unit")
        ax.set_title(f"{templates.experiment}, post-fit", loc="left")
    axs[0].legend(fontsize=8)
    return _save(fig, Path(path), overwrite)
