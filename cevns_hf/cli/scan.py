"""``cevns-hf scan``: profile-likelihood scans of a hypothesis family over a grid (:mod:`cevns_hf.inference.scan`).

``--stream DIR`` runs a large grid through :func:`cevns_hf.inference.stream.stream_scan` instead (results
written to ``DIR`` as they are computed, a progress bar on a terminal, up to
:data:`~cevns_hf.inference.stream.DEFAULT_MAX_STREAM_POINTS` points) and prints the same summary.

Registered in the command group by ``cevns_hf.cli`` (``cli.add_command(scan)``). Library errors
(:class:`cevns_hf.exceptions.CevnsHFError`) become one ``Error: ...`` line and exit code 2, as for the
other commands.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cevns_hf.cli._errors import CevnsHFCLIError, friendly
from cevns_hf.cli._types import StrictInt, binning_option, experiment_option, with_binning

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["scan"]


def __dir__() -> list[str]:
    return __all__


def _profile_inner_grids(
    profiles: tuple[str, ...], logs: tuple[str, ...], grid_names: list[str]
) -> tuple[list[str], dict[str, list[float]]]:
    """``--profile name`` or ``--profile name=lo:hi:n`` -> (names, explicit inner grids)."""
    from cevns_hf.cli._grid import parse_grid, split_name
    from cevns_hf.exceptions import ConfigurationError

    names: list[str] = []
    ranged: list[str] = []
    for item in profiles:
        name, eq, _ = split_name(item, "--profile")
        if name in names:
            raise ConfigurationError(f"--profile {name} is given twice")
        names.append(name)
        if eq:
            ranged.append(item)
    values = parse_grid(ranged, logs, option="--profile", other_log_names=grid_names)
    return names, values


def _describe(intervals: list[Any]) -> str:
    if not intervals:
        return "(no grid point)"
    parts = []
    for iv in intervals:
        lo = f"{iv.lo:.4g}" + (" (grid edge)" if iv.open_lo else "")
        hi = f"{iv.hi:.4g}" + (" (grid edge)" if iv.open_hi else "")
        parts.append(f"[{lo}, {hi}]")
    return " U ".join(parts)


def _summary(result: Any, levels: tuple[str, ...]) -> list[str]:
    from cevns_hf.inference.intervals import level_value

    lines = [
        f"{result.family} on {'+'.join(result.experiments)}: {result.twice_nll.size} points over "
        f"{', '.join(result.parameters)}; nuisances profiled"
        + (f", {', '.join(result.profiled)} profiled" if result.profiled else "")
    ]
    best = result.best_fit
    values = ", ".join(f"{k} = {v:.6g}" for k, v in best.items() if k != "twice_nll")
    lines.append(f"best fit: {values} (twice_nll = {best['twice_nll']:.3f})")
    for lv in levels:
        if len(result.parameters) == 1:
            lines.append(f"{lv} (Delta chi2 <= {level_value(lv, 1):.2f}): {_describe(result.intervals(lv))}")
            continue
        if len(result.parameters) == 2:
            lines.append(f"{lv} (Delta chi2 <= {level_value(lv, 2):.2f}, 2 dof): {len(result.contours(lv))} contour(s)")
        else:
            lines.append(f"{lv} (Delta chi2 <= {level_value(lv, 1):.2f}, each parameter profiled over the others):")
        for p in result.parameters:
            lines.append(f"    {p} profiled (1 dof): {_describe(result.intervals(lv, p))}")
    n_bad = int((~result.converged).sum())
    if n_bad:
        lines.append(f"warning: the nuisance profile did not converge at {n_bad} points")
    return lines


#: Levels of the Feldman-Cousins construction of ``--fc``.
FC_LEVELS = ("1sigma", "90")


def _check_fc(fam: Any, names: list[str], profiled: list[str]) -> None:
    """--fc needs 1 or 2 grid parameters the family is polynomial in, and no physics profiling."""
    from cevns_hf.exceptions import ConfigurationError

    if profiled:
        raise ConfigurationError("--fc does not combine with --profile: scan the profiled parameter as a grid axis")
    if len(names) > 2:
        raise ConfigurationError(f"--fc takes 1 or 2 grid parameters, got {len(names)}: {', '.join(names)}")
    poly = fam.polynomial
    if poly is None or not set(names) <= set(poly.variables):
        valid = ", ".join(poly.variables) if poly is not None else "none (its rate is not a polynomial)"
        raise ConfigurationError(
            f"--fc needs grid parameters in which the rate of {fam.name} is a polynomial; got {', '.join(names)}, "
            f"valid: {valid}"
        )


def _fc_summary(fc: Any) -> list[str]:
    lines = [f"Feldman-Cousins ({fc.n_toys} toys per grid point, seed {fc.seed}, {fc.seconds:.1f} s):"]
    for lv in fc.critical:
        if len(fc.parameters) == 1:
            lines.append(f"    {lv}: FC {_describe(fc.intervals(lv))}; Wilks {_describe(fc.wilks_intervals(lv))}")
        else:
            inside = int(fc.accepted(lv).sum())
            lines.append(f"    {lv}: {inside} of {fc.t_obs.size} grid points in the FC region")
    step = ", ".join(f"{k} {v:.3g}" for k, v in fc.precision().items())
    lines.append(f"    interval ends known to one grid step ({step})")
    return lines


@click.command("scan")
@experiment_option()
@click.option(
    "--hypothesis-family", "family", required=True, metavar="FAMILY", help="BSM family (`cevns-hf families`)."
)
@click.option("--grid", "grids", multiple=True, required=True, metavar="NAME=LO:HI:N", help="A grid axis (repeatable).")
@click.option("--log", "logs", multiple=True, metavar="NAME", help="Space this grid (or inner profile grid) in log.")
@click.option("--fixed", default=None, metavar="NAME=VALUE,...", help="Other parameters held fixed (default SM).")
@click.option(
    "--profile",
    "profiles",
    multiple=True,
    metavar="NAME[=LO:HI:N]",
    help="Minimise over this family parameter at every grid point (inner grid: its range, 21 points, or LO:HI:N).",
)
@click.option("--without-es", is_flag=True, help="Leave neutrino-electron scattering out (CsI 2021).")
@binning_option
@click.option(
    "--linear-norms",
    is_flag=True,
    help="Normalisations as the exact linear mirror of the reference chi-squares (symmetric histosys) not normsys.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--workers", type=StrictInt(1, 256), default=None, help="Run on a local Dask cluster of N processes.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run on the Dask scheduler at ADDRESS.")
@click.option(
    "--chunk",
    type=StrictInt(1, 100_000),
    default=None,
    help="Grid points per task [default: 512; 4096 with --stream].",
)
@click.option(
    "--output",
    "-o",
    default=None,
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="JSON file ('-': standard output).",
)
@click.option(
    "--hepdata",
    "hepdata_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Also write a HEPData submission folder (hepdata_lib): the Delta chi2 table and the intervals/contours.",
)
@click.option(
    "--fc",
    "with_fc",
    is_flag=True,
    help="Also Feldman-Cousins intervals (1D) or regions (2D) from toys, every nuisance profiled.",
)
@click.option(
    "--toys", type=StrictInt(10, 1_000_000), default=1000, show_default=True, help="--fc: toys per grid point."
)
@click.option("--seed", type=StrictInt(0, 2**63 - 1), default=0, show_default=True, help="--fc: seed of the toys.")
@click.option(
    "--stream",
    "stream_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    metavar="DIR",
    help="Large grids: write twice_nll.npy, converged.npy, theta.npy and scan.json into DIR as the chunks finish "
    "(up to 16,777,216 points; no --profile, --output or --hepdata).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar with --stream (shown on a terminal by default).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@friendly
def scan(
    experiments: tuple[Detector, ...],
    family: str,
    grids: tuple[str, ...],
    logs: tuple[str, ...],
    fixed: str | None,
    profiles: tuple[str, ...],
    without_es: bool,
    binning: str | None,
    linear_norms: bool,
    as_json: bool,
    workers: int | None,
    scheduler: str | None,
    chunk: int | None,
    output: Path | None,
    hepdata_dir: Path | None,
    with_fc: bool,
    toys: int,
    seed: int,
    stream_dir: Path | None,
    no_progress: bool,
    force: bool,
) -> None:
    """Profile-likelihood scan: Delta chi2 over a grid of hypotheses, every nuisance profiled.

    Prints the best fit and the 1sigma / 90% / 2sigma intervals (1D) or contours (2D); --json and --output
    give the full result (grid, delta_chi2, best_fit, intervals or contours). With --fc, also the
    Feldman-Cousins intervals (1D) or regions (2D) at 1sigma and 90% from --toys toys per grid point, next to
    Wilks' (key "feldman_cousins"). --stream DIR scans grids of up to 16,777,216 points (e.g. 4D NSI, 32 values
    per axis) into .npy files, with a progress bar; --json then prints DIR/scan.json.
    """
    from cevns_hf.bsm.family import get_family, parse_hypothesis
    from cevns_hf.bsm.grid import check_grid
    from cevns_hf.cli._grid import parse_grid, split_name
    from cevns_hf.exceptions import ConfigurationError
    from cevns_hf.inference.executors import check_scheduler_address
    from cevns_hf.inference.intervals import DEFAULT_LEVELS
    from cevns_hf.inference.scan import profile_scan
    from cevns_hf.io.atomic import atomic_write_text, check_targets

    fam = get_family(family)
    grid_names = [split_name(item, "--grid")[0] for item in grids]
    inner_names = [split_name(item, "--profile")[0] for item in profiles if "=" in item]
    grid = parse_grid(grids, logs, other_log_names=inner_names)
    profiled, inner = _profile_inner_grids(profiles, logs, grid_names)
    fixed_values = dict(parse_hypothesis(f"{fam.name}:{fixed}").values) if fixed else {}
    if workers is not None and scheduler is not None:
        raise ConfigurationError("give either --workers or --scheduler, not both")
    if stream_dir is not None:
        if with_fc:
            raise click.UsageError("--fc takes 1D or 2D grids and does not combine with --stream")
        _stream(
            experiments=with_binning(experiments, binning),
            fam=fam,
            grid=grid,
            fixed_values=fixed_values,
            profiles=profiles,
            without_es=without_es,
            linear_norms=linear_norms,
            as_json=as_json,
            workers=workers,
            scheduler=scheduler,
            chunk=4096 if chunk is None else chunk,
            output=output,
            hepdata_dir=hepdata_dir,
            stream_dir=stream_dir,
            progress=not no_progress,
            force=force,
        )
        return
    check_grid(fam, grid, fixed=fixed_values, profile=profiled)
    for name, values in inner.items():
        fam.parameter(name).check(values)
    if scheduler is not None:
        check_scheduler_address(scheduler)
    to_stdout = output is not None and str(output) == "-"
    if output is not None and not to_stdout:
        check_targets([output], force)
    if hepdata_dir is not None and hepdata_dir.exists() and any(hepdata_dir.iterdir()) and not force:
        raise CevnsHFCLIError(f"refusing to write into the non-empty folder {str(hepdata_dir)!r}; pass --force")
    if hepdata_dir is not None and len(grid) > 2:
        raise click.UsageError("--hepdata takes 1D or 2D scans")
    if with_fc:
        _check_fc(fam, list(grid), profiled)

    def run(executor: Any) -> Any:
        return profile_scan(
            with_binning(experiments, binning),
            fam,
            grid,
            fixed=fixed_values,
            profile=profiled,
            without_es=without_es,
            executor=executor,
            chunk=512 if chunk is None else chunk,
            profile_values=inner,
            linear_norms=linear_norms,
        )

    from cevns_hf.inference.executors import dask_executor

    with dask_executor(workers=workers, scheduler=scheduler) as executor:
        result = run(executor)

    payload = result.to_dict(DEFAULT_LEVELS)
    fc = None
    if with_fc:
        from cevns_hf.inference.feldman_cousins import feldman_cousins
        from cevns_hf.inference.profile import HypothesisLikelihood

        model = HypothesisLikelihood.build(
            with_binning(experiments, binning),
            fam,
            fixed=fixed_values,
            without_es=without_es,
            linear_norms=linear_norms,
        )
        fc = feldman_cousins(model, grid, n_toys=toys, levels=FC_LEVELS, seed=seed, progress=sys.stderr.isatty())
        payload["feldman_cousins"] = fc.to_dict()
    text = json.dumps(payload, indent=2, sort_keys=True) + "\n"
    if hepdata_dir is not None:
        from cevns_hf.io.hepdata import write_hepdata

        write_hepdata(payload, fam, hepdata_dir, overwrite=force)
        click.echo(str(hepdata_dir), err=True)
    if to_stdout:
        click.echo(text, nl=False)
        return
    if output is not None:
        atomic_write_text(output, text, overwrite=force)
        click.echo(str(output), err=True)
    if as_json:
        click.echo(text, nl=False)
        return
    for line in _summary(result, DEFAULT_LEVELS):
        click.echo(line)
    if fc is not None:
        for line in _fc_summary(fc):
            click.echo(line)


def _stream(
    *,
    experiments: tuple[Detector, ...],
    fam: Any,
    grid: dict[str, list[float]],
    fixed_values: dict[str, float],
    profiles: tuple[str, ...],
    without_es: bool,
    linear_norms: bool,
    as_json: bool,
    workers: int | None,
    scheduler: str | None,
    chunk: int,
    output: Path | None,
    hepdata_dir: Path | None,
    stream_dir: Path,
    progress: bool,
    force: bool,
) -> None:
    """``scan --stream DIR``: the streamed scan, then the summary (or DIR/scan.json with --json)."""
    from cevns_hf.inference.executors import check_scheduler_address, dask_executor
    from cevns_hf.inference.intervals import DEFAULT_LEVELS
    from cevns_hf.inference.stream import check_stream_scan, stream_scan

    for flag, given in (("--profile", profiles), ("--output", output), ("--hepdata", hepdata_dir)):
        if given:
            raise click.UsageError(f"--stream writes its own folder and takes no {flag}")
    if scheduler is not None:
        check_scheduler_address(scheduler)
    check_stream_scan(experiments, fam, grid, stream_dir, fixed=fixed_values, chunk=chunk, force=force)
    with dask_executor(workers=workers, scheduler=scheduler) as executor:
        result = stream_scan(
            experiments,
            fam,
            grid,
            stream_dir,
            fixed=fixed_values,
            without_es=without_es,
            executor=executor,
            chunk=chunk,
            linear_norms=linear_norms,
            progress=progress,
            force=force,
        )
    click.echo(str(stream_dir), err=True)
    if as_json:
        click.echo(json.dumps(result.metadata, indent=2, sort_keys=True))
        return
    lines = _summary(result.to_scan_result(), DEFAULT_LEVELS)
    lines[0] += f"; {result.seconds:.1f} s"
    for line in lines:
        click.echo(line)
