"""``cevns-hf templates``: every template of a data set, with its systematic variations, as a ROOT file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cevns_hf.cli._errors import friendly
from cevns_hf.cli._types import (
    binning_option,
    experiment_option,
    template_option,
    with_binning,
    with_f90,
    with_templates,
)

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["templates"]


def __dir__() -> list[str]:
    return __all__


@click.command("templates")
@experiment_option("Data set(s): one directory per channel in the file.")
@click.option("--hypothesis", default=None, metavar="SPEC", help="BSM hypothesis 'family:name=value,...' (default SM).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help="ROOT file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@click.option("--lar-f90", is_flag=True, help="LAr 2020 in the 12 x 8 x 10 (energy, F90, time) layout (TH3D).")
@click.option("--without-es", is_flag=True, help="Leave neutrino-electron scattering out.")
@binning_option
@template_option
@friendly
def templates(
    experiments: tuple[Detector, ...],
    hypothesis: str | None,
    output: Path,
    force: bool,
    lar_f90: bool,
    without_es: bool,
    binning: str | None,
    user_templates: tuple[str, ...],
) -> None:
    """Write nominal templates, +-1 sigma variations of every nuisance, the data and a manifest (ROOT, uproot).

    Layout: CHANNEL/data, CHANNEL/SAMPLE, CHANNEL/SAMPLE_NUISANCE_up|down (TH2D, or TH3D with --lar-f90),
    with real bin edges, titles and axis titles with units, variances 0 for templates and the counts for data.
    """
    from cevns_hf.bsm.family import parse_hypothesis
    from cevns_hf.io.root import write_templates

    if (output.exists() or output.is_symlink()) and not force:
        raise click.UsageError(f"refusing to overwrite existing file {str(output)!r}; pass --force to replace it")
    model = None
    label = None
    if hypothesis is not None:
        hyp = parse_hypothesis(hypothesis)
        model, label = hyp.model(), str(hyp)
    dets = with_templates(with_binning(with_f90(experiments, lar_f90), binning), user_templates)
    drop = ("es",) if without_es else ()
    written = write_templates(
        [d.templates(model).without(drop) for d in dets], output, overwrite=force, hypothesis=label
    )
    click.echo(str(written), err=True)
