"""The main job, ``cevns-hf run``: SM fits, the reference analyses' BSM constraints, workspaces,
patchsets, plots and the results page, from the embedded COHERENT configuration or a YAML file.

Outputs under ``output_dir``: ``workspaces/`` (SM and one BSM workspace per scan), ``patchsets/<name>/``
(``BkgOnly.json`` + ``patchset.json``), ``templates/*.root``, ``results/*.json``, ``results/plots/*.png``,
``results/summary.md`` and ``docs/results.md``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cevns_hf import detectors
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import fit as infer
from cevns_hf.io.atomic import atomic_write_text
from cevns_hf.workspace import build as workspace

__all__ = ["default_config", "load_config", "run"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)


def _schema() -> dict[str, Any]:
    text = resources.files("cevns_hf.analysis.configs").joinpath("run.schema.json").read_text()
    schema: dict[str, Any] = json.loads(text)
    return schema


def _validate(config: Any, source: str) -> dict[str, Any]:
    import jsonschema

    try:
        jsonschema.validate(config, _schema())
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        msg = f"invalid run configuration {source} at {where}: {err.message}"
        raise ConfigurationError(msg) from None
    from cevns_hf.bsm.family import get_family

    for scan in [*config.get("scans", []), *config.get("patchsets", [])]:
        family = get_family(scan["family"])
        for name in [*scan["grid"], *scan.get("fixed", {}), *scan.get("profile", [])]:
            family.parameter(name)
    assert isinstance(config, dict)
    return config


def default_config() -> dict[str, Any]:
    """The embedded COHERENT configuration (``cevns_hf/configs/coherent.yaml``)."""
    text = resources.files("cevns_hf.analysis.configs").joinpath("coherent.yaml").read_text()
    return _validate(yaml.safe_load(text), "coherent.yaml (embedded)")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a YAML run configuration (JSON Schema ``cevns_hf/configs/run.schema.json``)."""
    p = Path(path)
    try:
        config = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        msg = f"run configuration {str(p)!r} not found"
        raise ConfigurationError(msg) from None
    except yaml.YAMLError as err:
        msg = f"run configuration {str(p)!r} is not valid YAML: {err}"
        raise ConfigurationError(msg) from None
    return _validate(config, repr(str(p)))


def _axis_values(spec: Mapping[str, Any]) -> list[float]:
    lo, hi, n = float(spec["lo"]), float(spec["hi"]), int(spec["n"])
    if spec.get("log"):
        if lo <= 0 or hi <= 0:
            msg = f"a logarithmic axis needs positive bounds, got {lo}, {hi}"
            raise ConfigurationError(msg)
        return [float(v) for v in np.geomspace(lo, hi, n)]
    return [float(v) for v in np.linspace(lo, hi, n)]


def _progress(items: list[Any], desc: str, enabled: bool) -> Any:
    if not enabled:
        return items
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        return items
    return tqdm(items, desc=desc, unit="step", leave=False)


def _sm_part(out: Path, config: Mapping[str, Any], overwrite: bool, results: dict[str, Any], plots: bool) -> None:
    from cevns_hf.templates.predict import predict

    for experiment in ("csi2021", "lar2020", "csi2017"):
        results["predictions"][experiment] = predict(experiment)["samples"]
    for name in config.get("sm_fits", []):
        experiments = detectors.split_experiments(name)
        tmpl = [detectors.templates(e) for e in experiments]
        spec = workspace.build_workspace(tmpl)
        atomic_write_text(
            out / "workspaces" / f"{name.replace('+', '_')}.json", workspace.dumps(spec), overwrite=overwrite
        )
        fit = infer.fit(spec)
        results["fits"][name] = fit.to_dict()
        if len(experiments) == 1:
            try:
                from cevns_hf.io.root import write_templates

                write_templates(tmpl[0], out / "templates" / f"{name}.root", overwrite=overwrite)
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
                    out / "results" / "plots" / f"sm_fit_{name}.png",
                )


def _bsm_workspace_point(scan: Mapping[str, Any], result: Mapping[str, Any]) -> dict[str, float] | None:
    """A representative hypothesis of a scan: its best fit if not the SM, else the point nearest to the
    90 % CL boundary."""
    best = {k: v for k, v in result["best_fit"].items() if k in scan["grid"]}
    grid = result["grid"]
    names = list(scan["grid"])
    delta = np.asarray(result["delta_chi2"], dtype=float)
    level = 2.706 if len(names) == 1 else 4.61
    idx = np.unravel_index(int(np.nanargmin(np.abs(delta - level))), delta.shape)
    boundary = {n: float(grid[n][i]) for n, i in zip(names, idx, strict=True)}
    from cevns_hf.bsm.family import Hypothesis

    for point in (best, boundary):
        try:
            hyp = Hypothesis.from_mapping(scan["family"], {**scan.get("fixed", {}), **point})
        except ConfigurationError:
            continue
        if not hyp.is_sm:
            return {**scan.get("fixed", {}), **point}
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

    Args:
        output_dir: where outputs are written.
        config: a validated configuration (:func:`load_config`), default :func:`default_config`.
        overwrite: replace outputs of a previous run.
        executor: a ``concurrent.futures``-style executor (or a Dask client) for the scans.
        plots: write the figures (needs matplotlib).
        progress: progress bars on stderr.

    Returns:
        The results written to ``results/results.json``.
    """
    from cevns_hf.bsm.family import Hypothesis
    from cevns_hf.inference.scan import profile_scan
    from cevns_hf.workspace.hypothesis import build_patchset, hypothesis_workspace

    cfg = dict(config) if config is not None else default_config()
    out = Path(output_dir)
    started = time.perf_counter()
    results: dict[str, Any] = {"predictions": {}, "fits": {}, "scans": {}, "patchsets": {}, "timing_s": {}}
    _sm_part(out, cfg, overwrite, results, plots)
    results["timing_s"]["sm"] = time.perf_counter() - started
    for scan in _progress(list(cfg.get("scans", [])), "scans", progress):
        t0 = time.perf_counter()
        grid = {name: _axis_values(axis) for name, axis in scan["grid"].items()}
        result = profile_scan(
            detectors.split_experiments(scan["experiment"]),
            scan["family"],
            grid,
            fixed=scan.get("fixed"),
            profile=tuple(scan.get("profile", ())),
            without_es=bool(scan.get("without_es", False)),
            executor=executor,
        )
        payload = result.to_dict()
        payload.update({"family": scan["family"], "experiment": scan["experiment"], "title": scan.get("title", "")})
        payload["fixed"] = dict(scan.get("fixed", {}))
        results["scans"][scan["name"]] = payload
        atomic_write_text(
            out / "results" / "scans" / f"{scan['name']}.json",
            json.dumps(payload, indent=1) + "\n",
            overwrite=overwrite,
        )
        point = _bsm_workspace_point(scan, payload)
        if point is not None:
            hyp = Hypothesis.from_mapping(scan["family"], point)
            spec = hypothesis_workspace(detectors.split_experiments(scan["experiment"]), hyp)
            atomic_write_text(
                out / "workspaces" / f"bsm_{scan['name']}.json", workspace.dumps(spec), overwrite=overwrite
            )
            payload["workspace_hypothesis"] = str(hyp)
        if plots:
            _plot_scan(out, scan, payload)
        results["timing_s"][scan["name"]] = time.perf_counter() - t0
    for ps in _progress(list(cfg.get("patchsets", [])), "patchsets", progress):
        grid = {name: _axis_values(axis) for name, axis in ps["grid"].items()}
        bkg, patchset = build_patchset(
            detectors.split_experiments(ps["experiment"]), ps["family"], grid, fixed=ps.get("fixed")
        )
        folder = out / "patchsets" / ps["name"]
        atomic_write_text(folder / "BkgOnly.json", workspace.dumps(bkg), overwrite=overwrite)
        atomic_write_text(folder / "patchset.json", workspace.dumps(patchset), overwrite=overwrite)
        results["patchsets"][ps["name"]] = {"patches": len(patchset["patches"]), "path": str(folder)}
    results["timing_s"]["total"] = time.perf_counter() - started
    atomic_write_text(
        out / "results" / "results.json", json.dumps(results, indent=1, default=float) + "\n", overwrite=overwrite
    )
    page = results_markdown(results)
    atomic_write_text(out / "results" / "summary.md", page, overwrite=overwrite)
    atomic_write_text(out / "docs" / "results.md", page, overwrite=overwrite)
    return results


def _plot_scan(out: Path, scan: Mapping[str, Any], payload: Mapping[str, Any]) -> None:
    from cevns_hf.visualize.plots import plot_contours, plot_delta_chi2

    names = list(scan["grid"])
    grid = payload["grid"]
    path = out / "results" / "plots" / f"scan_{scan['name']}.png"
    if len(names) == 1:
        plot_delta_chi2(
            grid[names[0]], payload["delta_chi2"], path, label=names[0], log=bool(scan["grid"][names[0]].get("log"))
        )
    else:
        plot_contours(
            grid[names[0]],
            grid[names[1]],
            payload["delta_chi2"],
            path,
            xlabel=names[0],
            ylabel=names[1],
            logx=bool(scan["grid"][names[0]].get("log")),
            logy=bool(scan["grid"][names[1]].get("log")),
        )


def _fmt_intervals(items: Any) -> str:
    if not items:
        return "-"
    return " U ".join(f"[{lo:.4g}, {hi:.4g}]" for lo, hi in items)


def results_markdown(results: Mapping[str, Any]) -> str:
    """The results page: SM numbers beside the published ones, then every scan's constraint."""
    from cevns_hf.templates.predict import summary_markdown

    lines = [summary_markdown(dict(results)).rstrip(), "", "## BSM constraints", ""]
    lines += [
        "Profile-likelihood scans with every nuisance parameter profiled (pyhf-equivalent likelihood, "
        "Delta chi2 = twice_nll - min). 1D: intervals at Delta chi2 = 1 (1 sigma) and 2.71 (90 % CL, 1 dof); "
        "2D: see the contour files. No published value of these constraints is recorded in the project's "
        "reference documents, so none is shown beside them.",
        "",
        "| constraint | data set | options | best fit | 1 sigma | 90 % CL |",
        "|---|---|---|---|---|---|",
    ]
    for name, scan in results.get("scans", {}).items():
        params = scan.get("parameters", [])
        best = ", ".join(f"{p} = {scan['best_fit'][p]:.4g}" for p in params if p in scan.get("best_fit", {}))
        options = ", ".join(f"{k} = {v:g}" for k, v in scan.get("fixed", {}).items())
        if scan.get("without_es"):
            options = ", ".join(filter(None, [options, "without ES"]))
        options = options or "-"
        title = (scan.get("title") or name).replace("|", "\\|")
        if len(params) == 1:
            ints = scan.get("intervals", {})
            row = f"| {title} | {scan['experiment']} | {options} | {best} | "
            row += f"{_fmt_intervals(ints.get('1sigma'))} | {_fmt_intervals(ints.get('90'))} |"
        else:
            row = f"| {title} | {scan['experiment']} | {options} | {best} | "
            row += f"2D: `results/scans/{name}.json` | contours in `results/plots/scan_{name}.png` |"
        lines.append(row)
    lines += ["", f"Run time: {results.get('timing_s', {}).get('total', float('nan')):.0f} s.", ""]
    return "\n".join(lines)
