"""The results page: our Standard-Model numbers beside the published ones, then the BSM constraints."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cevns_hf.analysis import published
from cevns_hf.bsm.family import get_family
from cevns_hf.exceptions import CevnsHFError

__all__ = ["results_markdown", "summary_markdown"]


def __dir__() -> list[str]:
    return __all__


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


def _fmt_intervals(items: Any) -> str:
    if not items:
        return "-"
    return " U ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in items)


def _fmt_exact(items: Any, open_ends: Any, bounds: tuple[float, float]) -> str:
    """Exact intervals; an end at the grid's edge is marked, as the physical bound when it is one."""

    def end(value: float, is_open: bool) -> str:
        if not is_open:
            return f"{value:.4g}"
        return f"{value:.4g} (physical bound)" if value in bounds else f"{value:.4g} (grid edge)"

    if not items:
        return "-"
    parts = [f"[{end(lo, ol)}, {end(hi, oh)}]" for (lo, hi), (ol, oh) in zip(items, open_ends, strict=True)]
    return " U ".join(parts)


def _bounds(family: str, parameter: str) -> tuple[float, float]:
    try:
        par = get_family(family).parameter(parameter)
    except CevnsHFError:
        return (float("nan"), float("nan"))
    return (par.lo, par.hi)


def _fc_lines(results: Mapping[str, Any]) -> list[str]:
    """The Feldman-Cousins table: FC next to Wilks on the same grid, for the 1D scans that have it."""
    rows = []
    for name, scan in results.get("scans", {}).items():
        fc = scan.get("feldman_cousins")
        if fc is None:
            continue
        title = (scan.get("title") or name).replace("|", "\\|")
        (param,) = fc["parameters"]
        cells = []
        for level in ("1sigma", "90"):
            cells.append(_fmt_intervals(fc["intervals"].get(level)))
            cells.append(_fmt_intervals(fc["wilks_intervals"].get(level)))
        differ = [lv for lv, flag in fc["differs_from_wilks"].items() if flag]
        verdict = ("differ at " + ", ".join(differ)) if differ else "agree within one grid step"
        step = fc["precision"][param]
        rows.append(
            f"| {title} | {fc['n_toys']} | {len(fc['grid'][param])} | {' | '.join(cells)} | {step:.3g} | {verdict} |"
        )
    if not rows:
        return []
    return [
        "",
        "### Feldman-Cousins next to Wilks (1D)",
        "",
        "Feldman-Cousins intervals from the project's own toys (every nuisance profiled; toys at each grid point "
        "with the nuisances at their conditional fit to the data; the scanned range is the region of the "
        "construction) next to the Wilks intervals of the same curve on the same grid. Ends are located "
        "between grid points, so both are known to one grid step ('ends to'); the critical values carry the "
        "toys' Monte Carlo error, sqrt(CL (1 - CL) / toys) in coverage. 'differ' marks a level where an end "
        "moved by more than one grid step.",
        "",
        "| constraint | toys / point | points | FC 1 sigma | Wilks 1 sigma | FC 90 % | Wilks 90 % | ends to "
        "| FC vs Wilks |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
    ]


def results_markdown(results: Mapping[str, Any]) -> str:
    """The results page: SM numbers beside the published ones, then every scan's constraint."""
    lines = [summary_markdown(dict(results)).rstrip(), "", "## BSM constraints", ""]
    lines += [
        "Profile-likelihood scans with every nuisance parameter profiled (pyhf-equivalent likelihood, "
        "Delta chi2 = twice_nll - min). 1D: the minimum and every interval end are located on the profiled "
        "curve itself (unresolved grid cells subdivided, ends solved by root finding) at Delta chi2 = 1 "
        "(1 sigma) and 2.71 (90 % CL, 1 dof); 'precision' is the largest |Delta chi2 - level| at a reported "
        "end; a '(grid edge)' end is bounded by the scanned range, not by the data, and a "
        "'(physical bound)' end by the parameter's physical range. 2D: every contour point is solved on the "
        "profiled surface along its grid edge, and cells where the surface changes by more than the largest "
        "level are counted (the contour between solved points is drawn straight there); see the contour "
        "files. No published value of these constraints is recorded in the project's reference documents, "
        "so none is shown beside them.",
        "",
        "| constraint | data set | options | best fit | 1 sigma | 90 % CL | precision | other minima (depth) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, scan in results.get("scans", {}).items():
        params = scan.get("parameters", [])
        best = ", ".join(f"{p} = {scan['best_fit'][p]:.4g}" for p in params if p in scan.get("best_fit", {}))
        options = ", ".join(f"{k} = {v:g}" for k, v in scan.get("fixed", {}).items())
        if scan.get("without_es"):
            options = ", ".join(filter(None, [options, "without ES"]))
        options = options or "-"
        title = (scan.get("title") or name).replace("|", "\\|")
        row = f"| {title} | {scan['experiment']} | {options} | {best} | "
        exact = scan.get("exact")
        if len(params) == 1 and exact is not None:
            if exact["unresolved"] or exact["precision"] >= exact["tolerance"]:
                row += "not resolved | not resolved | "
            else:
                ints, opens = exact["intervals"], exact["open_ends"]
                bounds = _bounds(scan.get("family", ""), params[0])
                row += f"{_fmt_exact(ints.get('1sigma'), opens.get('1sigma'), bounds)} | "
                row += f"{_fmt_exact(ints.get('90'), opens.get('90'), bounds)} | "
            others = ", ".join(f"{m['x']:.4g} ({m['depth']:.2f})" for m in exact["minima"][1:]) or "-"
            row += f"{exact['precision']:.1g} (tol {exact['tolerance']:g}) | {others} |"
        elif len(params) == 1:
            ints = scan.get("intervals", {})
            row += f"{_fmt_intervals(ints.get('1sigma'))} | {_fmt_intervals(ints.get('90'))} | grid | - |"
        else:
            row += f"2D: `results/scans/{name}.json` | contours in `results/plots/scan_{name}.png` | "
            surface = scan.get("exact_contours")
            if surface is None:
                row += "grid | - |"
            else:
                coarse = len(surface["unresolved"])
                row += f"{surface['precision']:.1g} (tol {surface['tolerance']:g}) at contour points"
                row += f"; {coarse} grid cell(s) coarser than the levels |" if coarse else " |"
                row += " - |"
        lines.append(row)
    lines += _fc_lines(results)
    lines += ["", f"Run time: {results.get('timing_s', {}).get('total', float('nan')):.0f} s.", ""]
    return "\n".join(lines)
