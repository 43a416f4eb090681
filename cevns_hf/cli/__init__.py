"""The ``cevns-hf`` command line: thin wrappers over the library with machine-readable JSON output.

Library errors (:class:`cevns_hf.exceptions.CevnsHFError`) become one ``Error: ...`` line on stderr
and exit code 2; logging is configured here and only here.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cevns_hf._version import __version__
from cevns_hf.cli._errors import CevnsHFCLIError, friendly
from cevns_hf.cli._types import (
    StrictInt,
    binning_option,
    experiment_option,
    template_option,
    with_binning,
    with_f90,
    with_templates,
)
from cevns_hf.cli.cls import cls
from cevns_hf.cli.data import data
from cevns_hf.cli.diagnostics import diagnostics
from cevns_hf.cli.limit import limit
from cevns_hf.cli.ntuple import ntuple
from cevns_hf.cli.response import response
from cevns_hf.cli.scan import scan
from cevns_hf.cli.templates import templates

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["CevnsHFCLIError", "cli"]


def __dir__() -> list[str]:
    return __all__


def _echo_json(payload: Any) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cevns-hf")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
@click.option("-q", "--quiet", is_flag=True, help="Errors only.")
def cli(verbose: int, quiet: bool) -> None:
    """HistFactory / pyhf statistical models for CEvNS at COHERENT."""
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    if quiet:
        level = logging.ERROR
    if verbose == 0:  # Dask's distributed logs only with -v
        logging.getLogger("distributed").setLevel(max(level, logging.ERROR))
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


cli.add_command(data)
data.add_command(ntuple)
cli.add_command(limit)
cli.add_command(cls)
cli.add_command(scan)
cli.add_command(diagnostics)
cli.add_command(response)
cli.add_command(templates)


_hypothesis = click.option(
    "--hypothesis",
    default=None,
    metavar="SPEC",
    help="BSM hypothesis 'family:name=value,...' (default: the Standard Model).",
)


@cli.command()
@experiment_option("Data set (one detector).")
@_hypothesis
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly
def predict(experiments: tuple[Detector, ...], hypothesis: str | None, as_json: bool) -> None:
    """Expected events per sample in the analysis region at nominal nuisances."""
    from cevns_hf.bsm.family import parse_hypothesis
    from cevns_hf.templates.predict import predict as _predict

    if len(experiments) != 1:
        names = "+".join(d.name for d in experiments)
        raise click.UsageError(f"predict takes one detector per call, got --experiment {names}")
    hyp = parse_hypothesis(hypothesis) if hypothesis is not None else None
    result = _predict(experiments[0], hyp)
    if as_json:
        _echo_json(result)
        return
    for name, value in result["samples"].items():
        click.echo(f"{experiments[0].name:10s} {name:8s} {value:12.2f}")


def _spec(
    experiments: tuple[Detector, ...],
    lar_f90: bool,
    without_es: bool = False,
    binning: str | None = None,
    user_templates: tuple[str, ...] = (),
    linear_norms: bool = False,
) -> dict[str, Any]:
    from cevns_hf.workspace import build as workspace

    drop = ("es",) if without_es else ()
    dets = with_templates(with_binning(with_f90(experiments, lar_f90), binning), user_templates)
    return workspace.build_workspace([d.templates().without(drop) for d in dets], linear_norms=linear_norms)


_linear_norms = click.option(
    "--linear-norms",
    is_flag=True,
    help="Normalisations as the exact linear mirror of the reference chi-squares (symmetric histosys with "
    "bounds) instead of normsys (OverallSys).",
)


_without_es = click.option(
    "--without-es", is_flag=True, help="Leave neutrino-electron scattering out of every written file (CEvNS only)."
)


_lar_f90 = click.option("--lar-f90", is_flag=True, help="LAr 2020 in the full 12 x 8 x 10 (energy, F90, time) layout.")


@cli.command()
@experiment_option()
@_lar_f90
@binning_option
@template_option
@_linear_norms
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly
def fit(
    experiments: tuple[Detector, ...],
    lar_f90: bool,
    binning: str | None,
    user_templates: tuple[str, ...],
    linear_norms: bool,
    as_json: bool,
) -> None:
    """Maximum-likelihood fit of the SM model to the observed data (pyhf, MINUIT)."""
    from cevns_hf.inference.fit import fit as _fit

    spec = _spec(experiments, lar_f90, binning=binning, user_templates=user_templates, linear_norms=linear_norms)
    result = _fit(spec).to_dict()
    result["experiment"] = "+".join(d.name for d in experiments)
    if as_json:
        _echo_json(result)
        return
    for channel, ev in result["cevns_events"].items():
        click.echo(f"{channel}: fitted CEvNS events {ev['value']:.1f} +- {ev['error']:.1f}")
    click.echo(f"twice_nll = {result['twice_nll']:.3f}")


@cli.command("workspace")
@experiment_option()
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Workspace JSON file ('-': standard output).",
)
@_hypothesis
@click.option("--poi", default=None, help="With --hypothesis: a linear POI of the family (e.g. mu_nu_e_sq).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["pyhf", "hs3"]),
    default="pyhf",
    show_default=True,
    help="pyhf JSON, or HS3 (HEP Statistics Serialization Standard: pyhs3, ROOT 6.30+).",
)
@_lar_f90
@_without_es
@binning_option
@template_option
@_linear_norms
@friendly
def workspace_cmd(
    experiments: tuple[Detector, ...],
    output: Path,
    hypothesis: str | None,
    poi: str | None,
    force: bool,
    fmt: str,
    lar_f90: bool,
    without_es: bool,
    binning: str | None,
    user_templates: tuple[str, ...],
    linear_norms: bool,
) -> None:
    """Write the HistFactory JSON workspace of a data set (validated by pyhf).

    Without --hypothesis: the SM workspace with POI mu_cevns. With --hypothesis: the SM as background plus
    the BSM change with POI mu_bsm (1 = the hypothesis); with --poi also: the POI is the linear quantity.
    With --format hs3 the same model is written as an HS3 document binned in the real observables.
    """
    from cevns_hf.io.atomic import check_targets
    from cevns_hf.io.workspaces import poi_sidecar_path, write_workspace
    from cevns_hf.workspace.build import dumps

    to_stdout = str(output) == "-"
    if not to_stdout:
        check_targets([output, poi_sidecar_path(output)], force)
    names = "+".join(d.name for d in experiments)
    common = {"experiments": names, "without_es": without_es}
    if hypothesis is None:
        if poi is not None:
            raise click.UsageError("--poi needs --hypothesis (the reference point of the linear POI)")
        spec = _spec(experiments, lar_f90, without_es, binning, user_templates, linear_norms)
        info = {"poi": "mu_cevns", "unit": "", "scale": 1.0, "meaning": "CEvNS signal strength (1 = SM)"}
    else:
        from cevns_hf.bsm.family import parse_hypothesis
        from cevns_hf.workspace.hypothesis import hypothesis_workspace, linear_workspace

        if lar_f90:
            raise click.UsageError("--lar-f90 is available for the SM workspace only")
        hyp = parse_hypothesis(hypothesis)
        experiments = with_templates(with_binning(experiments, binning), user_templates)
        if poi is None:
            spec = hypothesis_workspace(experiments, hyp, without_es=without_es, linear_norms=linear_norms)
            info = {
                "poi": "mu_bsm",
                "unit": "",
                "scale": 1.0,
                "meaning": f"scale of the BSM change: 1 = {hyp}, 0 = the Standard Model",
                "hypothesis": str(hyp),
            }
        else:
            lin = linear_workspace(experiments, hyp, poi, without_es=without_es, linear_norms=linear_norms)
            spec = lin.spec
            linear = next(lp for lp in hyp.family.linear_pois if lp.name == lin.poi)
            info = {
                "poi": lin.poi,
                "unit": linear.unit,
                "scale": lin.scale,
                "meaning": f"{lin.poi} = POI x {lin.scale:g} {linear.unit}".strip()
                + f" ({linear.parameter} = from_poi(that); other parameters as in the hypothesis)",
                "hypothesis": str(hyp),
            }
            click.echo(f"POI {lin.poi} in units of {lin.unit}", err=True)
    if fmt == "hs3":
        from cevns_hf.workspace.hs3 import to_hs3

        if hypothesis is None:
            experiments = with_templates(with_binning(with_f90(experiments, lar_f90), binning), user_templates)
        spec = to_hs3(spec, axes={t.experiment: t.axes for t in (d.templates() for d in experiments)})
    if to_stdout:
        click.echo(dumps(spec), nl=False)
        return
    write_workspace(output, spec, {**info, **common}, overwrite=force)
    click.echo(str(output), err=True)


def _parse_grid(items: tuple[str, ...], log: tuple[str, ...]) -> dict[str, list[float]]:
    """``--grid NAME=LO:HI:N`` items and ``--log`` names -> axes (:func:`cevns_hf.cli._grid.parse_grid`)."""
    from cevns_hf.cli._grid import parse_grid

    return parse_grid(items, log)


@cli.command()
@experiment_option()
@click.option("--family", required=True, help="BSM family (see `cevns-hf families`).")
@click.option("--grid", "grids", multiple=True, required=True, metavar="NAME=LO:HI:N", help="A grid axis.")
@click.option("--log", "logs", multiple=True, metavar="NAME", help="Space this grid axis logarithmically.")
@click.option("--fixed", default=None, metavar="NAME=VALUE,...", help="Other parameters held fixed.")
@click.option(
    "--output",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory (written as a whole: staged in a hidden sibling folder, then renamed into place).",
)
@click.option("--force", is_flag=True, help="Overwrite existing BkgOnly.json / patchset.json.")
@_without_es
@click.option(
    "--hepdata-record", default=None, metavar="insNNNNNNN", help="INSPIRE id of the HEPData record (default: none)."
)
@_linear_norms
@friendly
def patchset(
    experiments: tuple[Detector, ...],
    family: str,
    grids: tuple[str, ...],
    logs: tuple[str, ...],
    fixed: str | None,
    output: Path,
    force: bool,
    without_es: bool,
    hepdata_record: str | None,
    linear_norms: bool,
) -> None:
    """Background-only workspace + pyhf PatchSet over a hypothesis grid (HEPData convention).

    The grid is checked whole (size cap, ranges, the family's cross-parameter checks) before any template is
    computed; the two files are written together (a new folder appears complete or not at all).
    """
    from cevns_hf.bsm.family import get_family, parse_hypothesis
    from cevns_hf.bsm.grid import check_grid
    from cevns_hf.io.atomic import atomic_directory, check_targets
    from cevns_hf.workspace.build import dumps
    from cevns_hf.workspace.patchset import build_patchset

    fam = get_family(family)
    grid = _parse_grid(grids, logs)
    fixed_values = dict(parse_hypothesis(f"{family}:{fixed}").values) if fixed else {}
    check_grid(fam, grid, fixed=fixed_values)
    if (output.exists() or output.is_symlink()) and not output.is_dir():
        raise CevnsHFCLIError(f"--output {str(output)!r} exists and is not a directory")
    check_targets([output / "BkgOnly.json", output / "patchset.json"], force)
    bkg, ps = build_patchset(
        experiments,
        fam,
        grid,
        fixed=fixed_values,
        without_es=without_es,
        hepdata_record=hepdata_record,
        linear_norms=linear_norms,
    )
    files = {"BkgOnly.json": dumps(bkg).encode("utf-8"), "patchset.json": dumps(ps).encode("utf-8")}
    atomic_directory(output, files, overwrite=force)
    click.echo(f"{output / 'BkgOnly.json'} and {output / 'patchset.json'}: {len(ps['patches'])} patches", err=True)


@cli.command("detectors")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly
def detectors_cmd(as_json: bool) -> None:
    """List the registered detectors (the --experiment choices), their neutrino source and data releases."""
    from cevns_hf import detectors

    table = {
        name: {"description": d.description, "source": d.source.name, "releases": list(d.releases)}
        for name, d in sorted(detectors.DETECTORS.items())
    }
    if as_json:
        _echo_json(table)
        return
    for name, row in table.items():
        click.echo(f"{name}: {row['description']} (source {row['source']}; releases {', '.join(row['releases'])})")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly
def families(as_json: bool) -> None:
    """List the hypothesis families, their parameters (units, ranges, SM values) and linear POIs."""
    from cevns_hf.bsm import FAMILIES

    table = {
        name: {
            "description": fam.description,
            "parameters": {
                p.name: {"unit": p.unit, "sm": p.sm, "range": [p.lo, p.hi], "description": p.description}
                for p in fam.parameters
            },
            "linear_pois": [lp.name for lp in fam.linear_pois],
            "references": list(fam.references),
        }
        for name, fam in FAMILIES.items()
    }
    if as_json:
        _echo_json(table)
        return
    for name, fam in FAMILIES.items():
        click.echo(f"{name}: {fam.description}")
        for p in fam.parameters:
            click.echo(f"    {p.describe()}  (SM {p.sm:g})  {p.description}")


@cli.command()
@click.option(
    "--output-dir",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where workspaces/, patchsets/, templates/, results/ and docs/results.md are written.",
)
@click.option(
    "--config",
    "config_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML run configuration (default: the embedded COHERENT configuration).",
)
@click.option(
    "--workers", type=StrictInt(1, 256), default=None, help="Run the scans on a local Dask cluster of N workers."
)
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run the scans on this Dask scheduler.")
@click.option("--no-plots", is_flag=True, help="Skip the figures.")
@click.option("--force", is_flag=True, help="Overwrite outputs of a previous run.")
@friendly
def run(
    output_dir: Path, config_path: Path | None, workers: int | None, scheduler: str | None, no_plots: bool, force: bool
) -> None:
    """The main job: SM fits and the reference analyses' BSM constraints, with workspaces and plots.

    The whole configuration and every output path are checked before anything is written; the outputs are
    staged in a hidden folder under --output-dir and moved into place when the job has succeeded.
    """
    from cevns_hf.analysis.config import default_config, load_config
    from cevns_hf.analysis.job import planned_outputs
    from cevns_hf.analysis.job import run as _run
    from cevns_hf.analysis.report import results_markdown
    from cevns_hf.exceptions import ConfigurationError
    from cevns_hf.inference.executors import check_scheduler_address, dask_executor
    from cevns_hf.io.atomic import check_targets

    if workers is not None and scheduler is not None:
        raise ConfigurationError("give either --workers or --scheduler, not both")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    if (output_dir.exists() or output_dir.is_symlink()) and not output_dir.is_dir():
        raise CevnsHFCLIError(f"--output-dir {str(output_dir)!r} exists and is not a directory")
    config = load_config(config_path) if config_path is not None else default_config()
    check_targets([output_dir / rel for rel in planned_outputs(config, not no_plots)], force)
    with dask_executor(workers=workers, scheduler=scheduler) as executor:
        results = _run(output_dir, config=config, overwrite=force, executor=executor, plots=not no_plots)
    click.echo(results_markdown(results))
