"""``cevns-hf data ntuple``: bin a user's TTree of events like a channel and write the histogram to ROOT."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cevns_hf.cli._errors import friendly
from cevns_hf.cli._types import binning_option, experiment_option, with_binning

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["ntuple"]


def __dir__() -> list[str]:
    return __all__


@click.command("ntuple")
@experiment_option("The channel whose binning the events are filled into (one detector).")
@click.option("--input", "source", required=True, metavar="FILE.root:TREE", help="The user's ROOT file and TTree.")
@click.option(
    "--branches", required=True, metavar="B1,B2[,B3]", help="One branch per axis of the channel, in axis order."
)
@click.option("--weight", default=None, metavar="BRANCH", help="Per-event weights (default: counts).")
@click.option("--name", default="data", show_default=True, help="Histogram path in the output file.")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help="ROOT file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@binning_option
@friendly
def ntuple(
    experiments: tuple[Detector, ...],
    source: str,
    branches: str,
    weight: str | None,
    name: str,
    output: Path,
    force: bool,
    binning: str | None,
) -> None:
    """Fill a user's events into the channel's bins (uproot + awkward + hist) and write one histogram.

    Use it as observed data or as a template: --template CHANNEL/data=OUTPUT:NAME on workspace, fit or templates.
    """
    import numpy as np

    from cevns_hf.io.ntuple import histogram_events
    from cevns_hf.io.root import write_histogram

    if len(experiments) != 1:
        raise click.UsageError("ntuple fills one channel: give one detector with --experiment")
    path, colon, tree = source.rpartition(":")
    if not colon or not path or not tree:
        raise click.UsageError(f"--input expects FILE.root:TREE, got {source!r}")
    names = [b.strip() for b in branches.split(",") if b.strip()]
    (det,) = with_binning(experiments, binning)
    tmpl = det.templates()
    counts = histogram_events(path, tree, names, tmpl.axes, weight=weight)
    title = f"{det.name}: events of {Path(path).name}:{tree} ({', '.join(names)})"
    written = write_histogram(output, name, title, tmpl.axes, counts, np.asarray(counts), overwrite=force)
    click.echo(f"{written}: {name} with {counts.sum():g} events in the {det.name} binning", err=True)
