"""Plots of fits and scans (matplotlib, non-interactive Agg backend; optional dependency ``[plot]``).

Every function writes one figure file through :func:`cevns_hf.io.atomic.atomic_output` (a temporary file +
rename) and returns its path; an existing file, or a symlink, is replaced only with ``overwrite=True``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.templates.histograms import Templates

__all__ = ["plot_contours", "plot_delta_chi2", "plot_projections"]


def __dir__() -> list[str]:
    return __all__


#: Delta chi2 levels drawn: 1 dof (1 sigma, 90 %, 2 sigma) and 2 dof (1 sigma, 90 %, 2 sigma).
LEVELS_1D = {"1sigma": 1.0, "90%": 2.706, "2sigma": 4.0}
LEVELS_2D = {"1sigma": 2.30, "90%": 4.61, "2sigma": 6.18}


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "plots need matplotlib: pip install 'cevns_hf[plot]'"
        raise ConfigurationError(msg) from err
    return plt


def _save(fig: Any, path: Path, overwrite: bool) -> Path:
    from cevns_hf.io.atomic import atomic_output

    try:
        with atomic_output(path, overwrite=overwrite) as tmp:
            fig.savefig(tmp, dpi=110, bbox_inches="tight")
    finally:
        _pyplot().close(fig)
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
    plt = _pyplot()
    axes_names = [a for a in ("energy", "time") if a in [ax.name for ax in templates.axes]]
    fig, axs = plt.subplots(1, len(axes_names), figsize=(5.5 * len(axes_names), 4.2))
    axs = np.atleast_1d(axs)
    for ax, name in zip(axs, axes_names, strict=True):
        axis = next(a for a in templates.axes if a.name == name)
        edges = np.asarray(axis.edges)
        bottom = np.zeros(axis.n_bins)
        for sample, values in fitted.items():
            proj = templates.projection(np.asarray(values), name)
            ax.stairs(proj + bottom, edges, baseline=bottom, fill=True, alpha=0.6, label=sample)
            bottom = bottom + proj
        data = templates.projection(templates.observed, name)
        centres = 0.5 * (edges[1:] + edges[:-1])
        ax.errorbar(centres, data, yerr=np.sqrt(data), fmt="ko", ms=3, label="data")
        ax.set_xlabel(f"{name} [{axis.unit}]" if axis.unit else name)
        ax.set_ylabel("events per bin")
        ax.set_title(templates.experiment)
    axs[0].legend(fontsize=8)
    return _save(fig, Path(path), overwrite)


def plot_delta_chi2(
    x: Sequence[float],
    delta_chi2: Sequence[float],
    path: str | os.PathLike[str],
    *,
    label: str,
    log: bool = False,
    overwrite: bool = False,
) -> Path:
    """A 1D Delta chi2 profile with the 1 sigma, 90 % and 2 sigma (1 dof) levels."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5.5, 4.0))
    ax.plot(np.asarray(x), np.asarray(delta_chi2), "b-")
    for name, level in LEVELS_1D.items():
        ax.axhline(level, ls="--", lw=0.8, color="grey")
        ax.text(ax.get_xlim()[0], level, f" {name}", va="bottom", fontsize=7, color="grey")
    ax.set_ylim(0, max(8.0, min(30.0, float(np.nanmax(delta_chi2)) if len(delta_chi2) else 8.0)))
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel(r"$\Delta\chi^2$")
    return _save(fig, Path(path), overwrite)


def plot_contours(
    x: Sequence[float],
    y: Sequence[float],
    delta_chi2: Sequence[Sequence[float]],
    path: str | os.PathLike[str],
    *,
    xlabel: str,
    ylabel: str,
    logx: bool = False,
    logy: bool = False,
    overwrite: bool = False,
) -> Path:
    """Allowed regions (2 dof: 1 sigma, 90 %, 2 sigma) of a 2D Delta chi2 grid (axis 0 = x, axis 1 = y)."""
    plt = _pyplot()
    z = np.asarray(delta_chi2, dtype=float).T
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    mesh = ax.pcolormesh(np.asarray(x), np.asarray(y), np.clip(z, 0, 30), shading="auto", cmap="viridis_r")
    fig.colorbar(mesh, ax=ax, label=r"$\Delta\chi^2$")
    contours = ax.contour(
        np.asarray(x), np.asarray(y), z, levels=sorted(LEVELS_2D.values()), colors=["w", "orange", "r"]
    )
    ax.clabel(contours, fmt={v: k for k, v in LEVELS_2D.items()}, fontsize=7)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return _save(fig, Path(path), overwrite)
