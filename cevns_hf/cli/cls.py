"""``cevns-hf cls``: CLs of a workspace file, as ``pyhf cls``, with toys on the project's batched engine.

Any workspace the project writes (SM, BSM ``mu_bsm``, linear-POI, a patched patchset member) or any pyhf
workspace with histosys, normsys and the POI normfactor is accepted. ``--calctype toys`` throws
``--toys`` pseudo-experiments per hypothesis (s+b and b-only, all fitted together) on
:mod:`cevns_hf.inference.toys`; ``asymptotic`` is pyhf's. Library errors become one ``Error: ...`` line and exit
code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from cevns_hf.cli._errors import friendly
from cevns_hf.cli._types import StrictFloat, StrictInt

__all__ = ["cls"]


def __dir__() -> list[str]:
    return __all__


def _read(path: Path) -> Any:
    from cevns_hf.exceptions import ConfigurationError

    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigurationError(f"{path} is not a JSON workspace: {err.msg} at line {err.lineno}") from None


@click.command("cls")
@click.argument("workspace", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--test-poi", default=1.0, show_default=True, type=StrictFloat(), help="The tested POI value.")
@click.option(
    "--calctype",
    default="toys",
    show_default=True,
    type=click.Choice(["toys", "asymptotic"]),
    help="toys: pseudo-experiments on the project's engine; asymptotic: pyhf's formulae.",
)
@click.option("--toys", type=StrictInt(1, 10_000_000), default=1000, show_default=True, help="Toys per hypothesis.")
@click.option("--seed", type=StrictInt(0, 2**63 - 1), default=0, show_default=True, help="Seed of the toys.")
@friendly
def cls(workspace: Path, test_poi: float, calctype: str, toys: int, seed: int) -> None:
    """CLs (observed and expected band) of WORKSPACE at --test-poi, printed as JSON like ``pyhf cls``.

    \b
    Example:
      cevns-hf cls workspaces/bsm_magnetic_moment_mu.json --calctype toys --toys 2000
    """
    import time

    from cevns_hf.exceptions import ConfigurationError
    from cevns_hf.inference.cls import cls_hypotest

    if test_poi < 0:
        raise ConfigurationError(f"--test-poi must be >= 0 (qtilde tests mu >= 0), got {test_poi:g}")
    spec = _read(workspace)
    if not isinstance(spec, dict) or "channels" not in spec:
        raise ConfigurationError(f"{workspace} is not a pyhf workspace (no 'channels')")
    t0 = time.perf_counter()
    point = cls_hypotest(spec, test_poi, method=calctype, n_toys=toys, seed=seed)
    out = {
        "CLs_obs": point.observed,
        "CLs_exp": list(point.expected),
        "test_poi": test_poi,
        "calctype": calctype,
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if calctype == "toys":
        out.update({"n_toys": toys, "seed": seed})
    click.echo(json.dumps(out, indent=2))
