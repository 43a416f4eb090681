"""``cevns-hf response``: export a detector's response to fold one's own cross sections into its bins."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from cevns_hf.cli._errors import friendly
from cevns_hf.cli._types import binning_option, experiment_option, with_binning

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["response"]


def __dir__() -> list[str]:
    return __all__


@click.command("response")
@experiment_option("The detector (one).")
@click.option("--output", "-o", required=True, type=click.Path(dir_okay=False, path_type=Path), help=".npz file.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@binning_option
@friendly
def response(experiments: tuple[Detector, ...], output: Path, force: bool, binning: str | None) -> None:
    """Write the response: for each process, target and flavour, the (E_nu, T) points and the weights that map
    d sigma/dT at them to the reconstructed-energy bins, the flavours' arrival-time fractions and the axes.

    N[i] = sum_p dsigma/dT(e_nu[p], t_recoil[p]) weights[0, p, i]; see docs/response.md.
    """
    from cevns_hf.detectors.export import export_response

    if len(experiments) != 1:
        raise click.UsageError("response exports one detector: give one with --experiment")
    (det,) = with_binning(experiments, binning)
    click.echo(str(export_response(det, output, overwrite=force)), err=True)
