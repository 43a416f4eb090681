"""The main job, ``cevns-hf run``: SM fits, the reference analyses' BSM constraints, workspaces,
patchsets, plots and the results page, from the embedded COHERENT configuration or a YAML file.

Outputs under ``output_dir``: ``workspaces/`` (SM and one BSM workspace per scan), ``patchsets/<name>/``
(``BkgOnly.json`` + ``patchset.json``), ``templates/*.root``, ``results/*.json``, ``results/plots/*.png``,
``results/summary.md`` and ``docs/results.md``.

Nothing is written before the whole configuration is checked (:func:`~cevns_hf.analysis.config.validate_config`)
and before every output path is free (unless ``overwrite``). Every file is then written under a hidden
staging folder ``<output_dir>/.cevns-hf-staging-*/`` and moved into place only when the whole job has
succeeded (:class:`~cevns_hf.io.atomic.StagedOutputs`): an error or Ctrl-C before that leaves the output
folder as it was. The one remaining window is the final loop of renames (milliseconds, same file system).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf import detectors
from cevns_hf.analysis.config import axis_values, default_config, validate_config
from cevns_hf.analysis.report import results_markdown
from cevns_hf.bsm.family import get_family
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import fit as infer
from cevns_hf.inference.intervals import chi2_threshold
from cevns_hf.io.atomic import StagedOutputs, atomic_write_text, check_targets
from cevns_hf.io.workspaces import write_workspace
from cevns_hf.workspace import build as workspace

__all__ = ["planned_outputs", "run"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)


def _progress(items: list[Any], desc: str, enabled: bool) -> Any:
    """A tqdm progress bar over ``items`` on a terminal only (never into a log file or a pipe)."""
    if not enabled or not sys.stderr.isatty():
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return items
    return tqdm(items, desc=desc, unit="step", leave=False)


def planned_outputs(config: Mapping[str, Any], plots: bool = True) -> list[Path]:
    """Every file a run of ``config`` may write, relative to its output folder (some are written only when
    they can be: a BSM workspace needs an informative hypothesis, ROOT templates need uproot)."""
    out: list[Path] = []
    for name in config.get("sm_fits", []):
        label = "+".join(d.name for d in detectors.resolve(name))
        out.append(Path("workspaces") / f"{label.replace('+', '_')}.json")
        out.append(Path("workspaces") / f"{label.replace('+', '_')}.poi.json")
        if "+" not in label:
            out.append(Path("templates") / f"{label}.root")
            if plots:
                out.append(Path("results") / "plots" / f"sm_fit_{label}.png")
    for scan in config.get("scans", []):
        out += [Path("results") / "scans" / f"{scan['name']}.json", Path("workspaces") / f"bsm_{scan['name']}.json"]
        out.append(Path("workspaces") / f"bsm_{scan['name']}.poi.json")
        if plots:
            out.append(Path("results") / "plots" / f"scan_{scan['name']}.png")
    for ps in config.get("patchsets", []):
        out += [Path("patchsets") / ps["name"] / "BkgOnly.json", Path("patchsets") / ps["name"] / "patchset.json"]
    out += [Path("results") / "results.json", Path("results") / "summary.md", Path("docs") / "results.md"]
    return out


def _sm_part(out: StagedOutputs, config: Mapping[str, Any], results: dict[str, Any], plots: bool) -> None:
    from cevns_hf.templates.predict import predict

    fits = [detectors.resolve(name) for name in config.get("sm_fits", [])]
    predicted = config.get("predictions") or sorted({d.name for dets in fits for d in dets})
    for name in predicted:
        (detector,) = detectors.resolve(name)
        results["predictions"][detector.name] = predict(detector)["samples"]
    for experiments in fits:
        name = "+".join(d.name for d in experiments)
        tmpl = [d.templates() for d in experiments]
        spec = workspace.build_workspace(tmpl)
        write_workspace(
            out.path(Path("workspaces") / f"{name.replace('+', '_')}.json"),
            spec,
            {"poi": "mu_cevns", "unit": "", "scale": 1.0, "meaning": "CEvNS signal strength (1 = SM)"}
            | {"experiments": name, "without_es": False},
        )
        fit = infer.fit(spec)
        results["fits"][name] = fit.to_dict()
        if len(experiments) == 1:
            try:
                from cevns_hf.io.root import write_templates

                write_templates(tmpl[0], out.path(Path("templates") / f"{name}.root"))
            except (ImportError, ConfigurationError) as err:  # pragma: no cover - optional dependency
                log.warning("templates/%s.root not written: %s", name, err)
            if plots:
                from cevns_hf.visualize.plots import plot_projections

                best = {k: v for k, (v, _) in fit.parameters.items()}
                fitted = infer.expected_by_sample(spec, best)[name]
                shape = tmpl[0].observed.shape
                plot_projections(
                    tmpl[0],
                    {k: v.reshape(shape) for k, v in fitted.items()},
                    out.path(Path("results") / "plots" / f"sm_fit_{name}.png"),
                )


def _bsm_workspace(scan: Mapping[str, Any], result: Mapping[str, Any]) -> tuple[Any, dict[str, Any]] | None:
    """A workspace testing a representative hypothesis of a scan, and that hypothesis.

    Candidates in order: the ends of the 90 % CL region (1D: the exact interval ends inside the grid; 2D:
    the grid point nearest to the 2-dof level), then the best fit. The SM and hypotheses whose BSM change
    is too small to test (:class:`~cevns_hf.workspace.hypothesis.UninformativeHypothesisError`) are skipped.
    """
    from cevns_hf.bsm.family import Hypothesis
    from cevns_hf.workspace.hypothesis import UninformativeHypothesisError, hypothesis_workspace

    names = list(scan["grid"])
    candidates: list[dict[str, float]] = []
    exact = result.get("exact")
    if exact is not None:
        for (lo, hi), (open_lo, open_hi) in zip(exact["intervals"]["90"], exact["open_ends"]["90"], strict=True):
            candidates += [{names[0]: v} for v, is_open in ((hi, open_hi), (lo, open_lo)) if not is_open]
    else:
        delta = np.asarray(result["delta_chi2"], dtype=float)
        level = chi2_threshold(0.9, dof=len(names))
        idx = np.unravel_index(int(np.nanargmin(np.abs(delta - level))), delta.shape)
        candidates.append({n: float(result["grid"][n][i]) for n, i in zip(names, idx, strict=True)})
    candidates.append({k: v for k, v in result["best_fit"].items() if k in scan["grid"]})
    for point in candidates:
        hyp = Hypothesis.from_mapping(scan["family"], {**scan.get("fixed", {}), **point})
        if hyp.is_sm:
            continue
        try:
            spec = hypothesis_workspace(
                detectors.resolve(scan["experiment"]), hyp, without_es=bool(scan.get("without_es", False))
            )
        except UninformativeHypothesisError as err:
            log.info("%s: %s", scan["name"], err)
            continue
        return hyp, spec
    return None


def run(
    output_dir: str | Path,
    *,
    config: Mapping[str, Any] | None = None,
    overwrite: bool = False,
    executor: Any = None,
    plots: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Run the configured analysis (the embedded COHERENT configuration by default).

    The configuration is checked whole and every output path is checked free (unless ``overwrite``)
    before anything is written; the files are staged and moved into place at the end (module docstring).

    Args:
        output_dir: where outputs are written.
        config: a configuration mapping (checked by :func:`validate_config`), default :func:`default_config`.
        overwrite: replace outputs of a previous run (files and symlinks alike).
        executor: a ``concurrent.futures``-style executor (or a Dask client) for the scans.
        plots: write the figures (needs matplotlib).
        progress: progress bars on stderr.

    Returns:
        The results written to ``results/results.json``.
    """
    cfg = validate_config(dict(config)) if config is not None else default_config()
    root = Path(output_dir)
    check_targets([root / rel for rel in planned_outputs(cfg, plots)], overwrite)
    with StagedOutputs(root, overwrite=overwrite) as out:
        results = _run_staged(out, cfg, executor, plots, progress)
        out.commit()
    return results


def _run_staged(
    out: StagedOutputs, cfg: Mapping[str, Any], executor: Any, plots: bool, progress: bool
) -> dict[str, Any]:
    from cevns_hf.inference.scan import profile_scan
    from cevns_hf.workspace.patchset import build_patchset

    started = time.perf_counter()
    results: dict[str, Any] = {"predictions": {}, "fits": {}, "scans": {}, "patchsets": {}, "timing_s": {}}
    _sm_part(out, cfg, results, plots)
    results["timing_s"]["sm"] = time.perf_counter() - started
    for scan in _progress(list(cfg.get("scans", [])), "scans", progress):
        t0 = time.perf_counter()
        grid = {name: axis_values(axis, name) for name, axis in scan["grid"].items()}
        result = profile_scan(
            detectors.resolve(scan["experiment"]),
            get_family(scan["family"]),
            grid,
            fixed=scan.get("fixed"),
            profile=tuple(scan.get("profile", ())),
            without_es=bool(scan.get("without_es", False)),
            executor=executor,
        )
        payload = result.to_dict()
        payload.update({"family": scan["family"], "experiment": scan["experiment"], "title": scan.get("title", "")})
        payload["fixed"] = dict(scan.get("fixed", {}))
        if "feldman_cousins" in scan:
            payload["feldman_cousins"] = _feldman_cousins(scan, grid)
        results["scans"][scan["name"]] = payload
        atomic_write_text(
            out.path(Path("results") / "scans" / f"{scan['name']}.json"), json.dumps(payload, indent=1) + "\n"
        )
        chosen = _bsm_workspace(scan, payload)
        if chosen is not None:
            hyp, spec = chosen
            write_workspace(
                out.path(Path("workspaces") / f"bsm_{scan['name']}.json"),
                spec,
                {
                    "poi": "mu_bsm",
                    "unit": "",
                    "scale": 1.0,
                    "meaning": f"scale of the BSM change: 1 = {hyp}, 0 = the Standard Model",
                    "hypothesis": str(hyp),
                    "experiments": scan["experiment"],
                    "without_es": bool(scan.get("without_es", False)),
                },
            )
            payload["workspace_hypothesis"] = str(hyp)
        else:
            log.warning("%s: no informative hypothesis for a BSM workspace; none written", scan["name"])
        if plots:
            _plot_scan(out, scan, payload)
        results["timing_s"][scan["name"]] = time.perf_counter() - t0
    for ps in _progress(list(cfg.get("patchsets", [])), "patchsets", progress):
        grid = {name: axis_values(axis, name) for name, axis in ps["grid"].items()}
        bkg, patchset = build_patchset(
            detectors.resolve(ps["experiment"]),
            get_family(ps["family"]),
            grid,
            fixed=ps.get("fixed"),
            without_es=bool(ps.get("without_es", False)),
        )
        folder = Path("patchsets") / ps["name"]
        atomic_write_text(out.path(folder / "BkgOnly.json"), workspace.dumps(bkg))
        atomic_write_text(out.path(folder / "patchset.json"), workspace.dumps(patchset))
        results["patchsets"][ps["name"]] = {"patches": len(patchset["patches"]), "path": str(out.root / folder)}
    results["timing_s"]["total"] = time.perf_counter() - started
    atomic_write_text(out.path("results/results.json"), json.dumps(results, indent=1, default=float) + "\n")
    page = results_markdown(results)
    atomic_write_text(out.path("results/summary.md"), page)
    atomic_write_text(out.path("docs/results.md"), page)
    return results


def _feldman_cousins(scan: Mapping[str, Any], grid: Mapping[str, list[float]]) -> dict[str, Any]:
    """Feldman-Cousins intervals of a 1D scan beside Wilks', and whether they differ beyond the precision.

    The construction uses ``points`` grid points (default: the scan's) over ``range`` (default: the scan's);
    the FC and Wilks intervals of the same curve are compared end by end, and ``differs`` says where an end
    moved by more than one grid step (the precision of both on that grid).
    """
    import numpy as np

    from cevns_hf.inference.feldman_cousins import feldman_cousins
    from cevns_hf.inference.profile import HypothesisLikelihood

    spec = scan["feldman_cousins"]
    ((name, axis),) = grid.items()
    points = int(spec.get("points", len(axis)))
    lo, hi = spec.get("range", (min(axis), max(axis)))
    model = HypothesisLikelihood.build(
        detectors.resolve(scan["experiment"]),
        get_family(scan["family"]),
        fixed=scan.get("fixed"),
        without_es=bool(scan.get("without_es", False)),
    )
    fc = feldman_cousins(
        model,
        {name: np.linspace(float(lo), float(hi), points)},
        n_toys=int(spec["toys"]),
        levels=("1sigma", "90"),
        seed=int(spec.get("seed", 0)),
    )
    out = fc.to_dict()
    step = fc.precision()[name]
    differs = {}
    for level in fc.critical:
        ours, wilks = fc.intervals(level), fc.wilks_intervals(level)
        same_shape = len(ours) == len(wilks)
        moved = not same_shape or any(
            abs(a - b) > step for iv, wv in zip(ours, wilks, strict=False) for a, b in zip(iv, wv, strict=True)
        )
        differs[level] = bool(moved)
    out["differs_from_wilks"] = differs
    log.info("%s: Feldman-Cousins %s in %.1f s", scan["name"], out["intervals"], fc.seconds)
    return out


def _plot_scan(out: StagedOutputs, scan: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
    """The scan's figure (PNG; the curve or contours with units, best fit and SM marked) into the staging."""
    from cevns_hf.io.atomic import atomic_write_bytes
    from cevns_hf.visualize.fits import figure_bytes
    from cevns_hf.visualize.scans import contour_figure, delta_chi2_figure

    names = list(scan["grid"])
    family = get_family(scan["family"])
    if len(names) == 1:
        fig = delta_chi2_figure(payload, family, log=bool(scan["grid"][names[0]].get("log")))
    else:
        logs = [bool(scan["grid"][n].get("log")) for n in names]
        fig = contour_figure(payload, family, log_x=logs[0], log_y=logs[1])
    path = out.path(Path("results") / "plots" / f"scan_{scan['name']}.png")
    atomic_write_bytes(path, figure_bytes(fig, ("png",))["png"])
