"""``cevns-hf limit``: a limit on one parameter of a BSM family (profile likelihood or CLs).

Library errors (:class:`~cevns_hf.exceptions.CevnsHFError`) become one ``Error: ...`` line on stderr and
exit code 2 (:func:`cevns_hf.cli._errors.friendly`).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import click

from cevns_hf.cli._errors import friendly
from cevns_hf.cli._types import StrictFloat, StrictInt, experiment_option

if TYPE_CHECKING:
    from cevns_hf.detectors.base import Detector

__all__ = ["limit"]


def __dir__() -> list[str]:
    return __all__


def _format(value: float | None) -> str:
    return "none" if value is None else f"{value:.4g}"


def _fc_limit(
    experiments: tuple[Detector, ...],
    family: str,
    parameter: str,
    cl: float,
    fixed: dict[str, float],
    without_es: bool,
    grid_text: str | None,
    toys: int,
    seed: int,
    as_json: bool,
    method: str,
) -> None:
    """``--method fc``: the Feldman-Cousins interval of one parameter on ``--grid``."""
    from cevns_hf.bsm.family import get_family
    from cevns_hf.cli._grid import parse_grid
    from cevns_hf.exceptions import ConfigurationError
    from cevns_hf.inference.feldman_cousins import feldman_cousins
    from cevns_hf.inference.profile import HypothesisLikelihood

    if method != "fc":
        raise ConfigurationError(f"--grid is for --method fc, not --method {method}")
    if grid_text is None:
        raise ConfigurationError(
            "--method fc needs --grid LO:HI:N (the grid of the parameter; its range is the region)"
        )
    fam = get_family(family)
    fam.parameter(parameter)
    if parameter in fixed:
        raise ConfigurationError(f"{parameter} cannot be both limited and fixed")
    if grid_text.count(":") != 2 or "=" in grid_text:
        raise ConfigurationError(f"--grid expects LO:HI:N (e.g. 0:4e-9:33), got {grid_text!r}")
    grid = parse_grid([f"{parameter}={grid_text}"], ())
    poly = fam.polynomial
    if poly is None or parameter not in poly.variables:
        valid = ", ".join(poly.variables) if poly is not None else "none (its rate is not a polynomial)"
        raise ConfigurationError(
            f"--method fc needs a parameter the rate of {family} is a polynomial in; got {parameter}, valid: {valid}"
        )
    model = HypothesisLikelihood.build(experiments, fam, fixed=fixed, without_es=without_es)
    level = f"{cl:g}"
    fc = feldman_cousins(model, grid, n_toys=toys, levels=(level,), seed=seed, progress=sys.stderr.isatty())
    allowed = fc.intervals(level)
    wilks = fc.wilks_intervals(level)
    experiment = "+".join(d.name for d in experiments)
    lower = allowed[0].lo if allowed and not allowed[0].open_lo else None
    upper = allowed[-1].hi if allowed and not allowed[-1].open_hi else None
    payload = {
        "experiment": experiment,
        "family": family,
        "parameter": parameter,
        "method": "fc",
        "cl": cl,
        "lower_limit": lower,
        "upper_limit": upper,
        "allowed": [[iv.lo, iv.hi] for iv in allowed],
        "wilks_allowed": [[iv.lo, iv.hi] for iv in wilks],
        "best_fit": fc.best_fit[parameter],
        "precision": fc.precision()[parameter],
        "feldman_cousins": fc.to_dict(),
    }
    if as_json:
        click.echo(json.dumps(payload, indent=2, sort_keys=True))
        return
    intervals = " U ".join(f"[{_format(iv.lo)}, {_format(iv.hi)}]" for iv in allowed) or "(no grid point)"
    wilks_text = " U ".join(f"[{_format(iv.lo)}, {_format(iv.hi)}]" for iv in wilks) or "(no grid point)"
    click.echo(
        f"{experiment}: {parameter} in {intervals} at {100 * cl:g}% CL (Feldman-Cousins, {toys} toys per point; "
        f"Wilks: {wilks_text}); best fit {_format(fc.best_fit[parameter])}; ends known to "
        f"{_format(fc.precision()[parameter])} (one grid step); a bound at the grid edge is not a limit"
    )


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
    type=click.Choice(["profile", "cls", "fc"]),
    help=(
        "profile: Delta chi2 scan of the parameter; cls: CLs on the family's linear POI of the parameter; "
        "fc: Feldman-Cousins from toys on --grid (every nuisance profiled)."
    ),
)
@click.option("--grid", "grid_text", default=None, metavar="LO:HI:N", help="fc: the grid (its range is the region).")
@click.option("--toys", type=StrictInt(10, 1_000_000), default=1000, show_default=True, help="fc: toys per point.")
@click.option("--seed", type=StrictInt(0, 2**63 - 1), default=0, show_default=True, help="fc: seed of the toys.")
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
    grid_text: str | None,
    toys: int,
    seed: int,
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
    if method == "fc" or grid_text is not None:
        _fc_limit(experiments, family, parameter, cl, fixed_values, without_es, grid_text, toys, seed, as_json, method)
        return
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
