"""``cevns-hf diagnostics``: cabinetry fit, pulls, ranking and correlations, and pre-/post-fit projections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cevns_hf.cli._errors import CevnsHFCLIError, friendly
from cevns_hf.cli._types import binning_option, experiment_option, with_binning, with_f90

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["diagnostics"]


def __dir__() -> list[str]:
    return __all__


@click.command("diagnostics")
@experiment_option()
@click.option("--output-dir", "-o", required=True, type=click.Path(file_okay=False, path_type=Path), help="Folder.")
@click.option("--force", is_flag=True, help="Overwrite existing figures and results.")
@click.option("--no-ranking", is_flag=True, help="Skip the nuisance ranking (one refit per nuisance).")
@click.option("--lar-f90", is_flag=True, help="LAr 2020 in the 12 x 8 x 10 layout.")
@binning_option
@friendly
def diagnostics(
    experiments: tuple[Detector, ...],
    output_dir: Path,
    force: bool,
    no_ranking: bool,
    lar_f90: bool,
    binning: str | None,
) -> None:
    """Fit the SM workspace with cabinetry; write pulls, ranking and correlation figures (cabinetry), the
    pre- and post-fit energy and time projections of every channel (with bands and ratio panels), PNG and
    PDF, and diagnostics.json."""
    import matplotlib

    matplotlib.use("Agg")
    import cabinetry

    from cevns_hf.inference.diagnostics import diagnose
    from cevns_hf.io.atomic import atomic_write_bytes, atomic_write_text
    from cevns_hf.visualize.fits import figure_bytes, projection_figure
    from cevns_hf.workspace import build_workspace

    dets = with_binning(with_f90(experiments, lar_f90), binning)
    templates = [d.templates() for d in dets]
    spec = build_workspace(templates)
    figures: dict[str, Any] = {}
    result = diagnose(templates, spec, ranking=not no_ranking)
    for p in result.projections:
        for stage in ("pre-fit", "post-fit"):
            figures[f"{p.channel}_{p.axis}_{stage.replace('-', '')}"] = projection_figure(p, stage=stage)
    figures["pulls"] = cabinetry.visualize.pulls(
        result.fit_results, figure_folder=output_dir, save_figure=False, close_figure=False
    )
    figures["correlation"] = cabinetry.visualize.correlation_matrix(
        result.fit_results, figure_folder=output_dir, save_figure=False, close_figure=False
    )
    if result.ranking is not None:
        figures["ranking"] = cabinetry.visualize.ranking(
            result.ranking, figure_folder=output_dir, save_figure=False, close_figure=False
        )
    targets = [output_dir / f"{name}.{fmt}" for name in figures for fmt in ("png", "pdf")]
    targets.append(output_dir / "diagnostics.json")
    existing = [str(t) for t in targets if t.exists() or t.is_symlink()]
    if existing and not force:
        raise CevnsHFCLIError(f"refusing to overwrite existing files {existing[:3]}...; pass --force to replace them")
    for name, fig in figures.items():
        for fmt, content in figure_bytes(fig).items():
            atomic_write_bytes(output_dir / f"{name}.{fmt}", content, overwrite=force)
    fr = result.fit_results
    summary = {
        "experiments": [d.name for d in dets],
        "best_fit": {
            label: [float(v), float(e)] for label, v, e in zip(fr.labels, fr.bestfit, fr.uncertainty, strict=True)
        },
        "twice_nll": float(fr.best_twice_nll),
        "figures": sorted(t.name for t in targets[:-1]),
    }
    atomic_write_text(
        output_dir / "diagnostics.json", json.dumps(summary, indent=2, sort_keys=True) + "\n", overwrite=force
    )
    click.echo(f"{len(figures)} figures and diagnostics.json in {output_dir}", err=True)
