"""Figures of scans: Delta chi2 curves and allowed regions, labelled from the family's parameter metadata.

Functions take a scan's JSON form (:meth:`cevns_hf.inference.results.ScanResult.to_dict`, as written by the
main job) and the :class:`~cevns_hf.bsm.family.Family`, and return a matplotlib ``Figure``; the caller saves
it. Axis labels carry the parameter's name and unit; the best fit and the Standard Model are marked; 1D
curves shade the exact intervals; 2D plots draw the contours solved on the surface, and the log scales are
set before anything is placed, so that contour labels do not hide the lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cevns_hf.bsm.family import Family
from cevns_hf.inference.intervals import level_value
from cevns_hf.visualize._mpl import pyplot

__all__ = ["axis_label", "contour_figure", "delta_chi2_figure"]


def __dir__() -> list[str]:
    return __all__


_LEVEL_STYLE = {"1sigma": ("C0", r"1$\sigma$"), "90": ("C1", "90% CL"), "2sigma": ("C3", r"2$\sigma$")}


def axis_label(family: Family, name: str) -> str:
    """``"mu_nu_e [mu_B]"``: the parameter's name and unit from its metadata."""
    par = family.parameter(name)
    unit = f" [{par.unit}]" if par.unit else ""
    return f"{par.name}{unit}"


def delta_chi2_figure(scan: Mapping[str, Any], family: Family, *, log: bool = False) -> Any:
    """A 1D profile: the refined curve, the 1-dof levels, exact intervals shaded, best fit and SM marked."""
    plt = pyplot()
    (name,) = scan["parameters"]
    exact = scan.get("exact")
    x = np.asarray(scan["grid"][name], dtype=float)
    y = np.asarray([np.nan if v is None else v for v in scan["delta_chi2"]], dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 4.2))
    if log:
        ax.set_xscale("log")
    ax.plot(x, y, "k-", lw=1.2, label=r"$\Delta\chi^2$ (profiled)")
    for level, (color, text) in _LEVEL_STYLE.items():
        value = level_value(level, 1)
        ax.axhline(value, ls="--", lw=0.8, color=color)
        for lo, hi in (exact or scan).get("intervals", {}).get(level, []):
            ax.axvspan(lo, hi, color=color, alpha=0.08)
        ax.annotate(
            text, (1.0, value), xycoords=("axes fraction", "data"), ha="right", va="bottom", color=color, fontsize=8
        )
    best = scan["best_fit"][name]
    ax.axvline(best, color="k", lw=0.8, ls=":", label=f"best fit {best:.4g}")
    sm = family.parameter(name).sm
    if not log or sm > 0:
        ax.axvline(sm, color="C2", lw=1.0, label="Standard Model")
    finite = y[np.isfinite(y)]
    ax.set_ylim(0.0, max(6.0, min(12.0, float(finite.max()) if finite.size else 6.0)))
    ax.set_xlabel(axis_label(family, name))
    ax.set_ylabel(r"$\Delta\chi^2$")
    ax.legend(fontsize=8, loc="upper center")
    fig.tight_layout()
    return fig


def contour_figure(scan: Mapping[str, Any], family: Family, *, log_x: bool = False, log_y: bool = False) -> Any:
    """A 2D scan: Delta chi2 map, the 2-dof contours (solved on the surface when available), best fit, SM."""
    plt = pyplot()
    xname, yname = scan["parameters"]
    x = np.asarray(scan["grid"][xname], dtype=float)
    y = np.asarray(scan["grid"][yname], dtype=float)
    z = np.asarray([[np.nan if v is None else v for v in row] for row in scan["delta_chi2"]], dtype=float)
    fig, ax = plt.subplots(figsize=(6.0, 4.8))
    if log_x:  # scales first: everything placed afterwards lands where it is drawn
        ax.set_xscale("log")
    if log_y:
        ax.set_yscale("log")
    mesh = ax.pcolormesh(x, y, np.clip(z, 0.0, 25.0).T, shading="nearest", cmap="Greys_r", alpha=0.6)
    fig.colorbar(mesh, ax=ax, label=r"$\Delta\chi^2$")
    contours = (scan.get("exact_contours") or {}).get("contours") or scan.get("contours", {})
    for level, (color, text) in _LEVEL_STYLE.items():
        for k, line in enumerate(contours.get(level, [])):
            pts = np.asarray(line, dtype=float)
            if pts.ndim == 2 and len(pts) > 1:
                ax.plot(pts[:, 0], pts[:, 1], color=color, lw=1.4, label=text if k == 0 else None)
    best = scan["best_fit"]
    ax.plot(best[xname], best[yname], "k*", ms=10, label="best fit")
    sm_x, sm_y = family.parameter(xname).sm, family.parameter(yname).sm
    if (not log_x or sm_x > 0) and (not log_y or sm_y > 0):
        ax.plot(sm_x, sm_y, "P", color="C2", ms=9, label="Standard Model")
    ax.set_xlabel(axis_label(family, xname))
    ax.set_ylabel(axis_label(family, yname))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
