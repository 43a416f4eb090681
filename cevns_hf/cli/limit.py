"""``cevns-hf limit``: a limit on one parameter of a BSM family (profile likelihood or CLs).

Library errors (:class:`~cevns_hf.exceptions.CevnsHFError`) become one ``Error: ...`` line on stderr and
exit code 2 (:func:`cevns_hf.cli._errors.friendly`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from cevns_hf.cli._errors import friendly
from cevns_hf.cli._types import StrictFloat, experiment_option

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["limit"]


def __dir__() -> list[str]:
    return __all__


def _format(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"


@click.command("limit")
@experiment_option()
@click.option(
    "--hypothesis-family", "family", required=True, metavar="FAMILY", help="BSM family (see `cevns-hf families`)."
)
@click.option("--parameter", required=True, metavar="NAME", help="The parameter to limit.")
@click.option(
    "--cl",
    default=0.9,
    show_default=True,
    type=StrictFloat(0.0, 1.0, open_ends=True, what="confidence level"),
    help="Confidence level.",
)
@click.option(
    "--method",
    default="profile",
    show_default=True,
    type=click.Choice(["profile", "cls"]),
    help="profile: Delta chi2 scan of the parameter; cls: CLs on the family's linear POI of the parameter.",
)
@click.option("--fixed", default=None, metavar="NAME=VALUE,...", help="Other parameters held fixed.")
@click.option(
    "--reference", default=None, type=StrictFloat(), help="cls: reference value of the parameter (default: auto)."
)
@click.option("--without-es", is_flag=True, help="Leave neutrino-electron scattering out (CEvNS only).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@friendly
def limit(
    experiments: tuple[Detector, ...],
    family: str,
    parameter: str,
    cl: float,
    method: str,
    fixed: str | None,
    reference: float | None,
    without_es: bool,
    as_json: bool,
) -> None:
    """Upper (and lower) limit on one parameter of a BSM family from the observed data.

    \b
    Example:
      cevns-hf limit --experiment csi2021 --hypothesis-family magnetic_moment \\
          --parameter mu_nu_mu --method cls --json
    """
    from cevns_hf.bsm.family import parse_hypothesis
    from cevns_hf.inference.limits import parameter_limit

    fixed_values = dict(parse_hypothesis(f"{family}:{fixed}").values) if fixed else {}
    result = parameter_limit(
        experiments,
        family,
        parameter,
        cl=cl,
        method=method,
        reference=reference,
        fixed=fixed_values,
        without_es=without_es,
    )
    payload = result.to_dict()
    experiment = "+".join(d.name for d in experiments)
    payload["experiment"] = experiment
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    unit = f" {result.unit}" if result.unit else ""
    if result.lower_limit is not None and result.upper_limit is not None:
        text = f"{_format(result.lower_limit)} < {parameter} < {_format(result.upper_limit)}{unit}"
    elif result.upper_limit is not None:
        text = f"{parameter} < {_format(result.upper_limit)}{unit}"
    elif result.lower_limit is not None:
        text = f"{parameter} > {_format(result.lower_limit)}{unit}"
    else:
        text = f"{parameter}: no limit within its range"
    click.echo(f"{experiment}: {text} at {100 * cl:g}% CL ({method}); best fit {_format(result.best_fit)}{unit}")
    if len(result.allowed) > 1:
        intervals = ", ".join(f"[{_format(a)}, {_format(b)}]" for a, b in result.allowed)
        click.echo(f"allowed intervals: {intervals}")
