"""Grid axes typed on the command line: ``--grid NAME=LO:HI:N`` (repeatable) and ``--log NAME``.

Numbers are plain decimals (:mod:`cevns_hf._parse`: no ``0_1``, ``nan`` or ``inf``); names are stripped of
surrounding spaces in both options alike, so ``--grid " g_nu=..." --log g_nu`` spaces g_nu in log; a name
given twice to ``--grid`` or ``--log`` and a ``--log`` name without an axis are errors, not silently merged
or ignored. Axes are built by :func:`cevns_hf.bsm.grid.make_axis` (grid-size cap, distinct values).
"""

from __future__ import annotations

from collections.abc import Iterable

from cevns_hf._parse import parse_float, parse_int
from cevns_hf.bsm.grid import make_axis
from cevns_hf.exceptions import ConfigurationError

__all__ = ["log_names", "parse_grid", "split_name"]


def __dir__() -> list[str]:
    return __all__


def split_name(item: str, option: str) -> tuple[str, bool, str]:
    """``NAME[=REST]`` -> (stripped name, whether '=' was given, rest); refuse an empty name."""
    name, eq, rest = item.partition("=")
    name = name.strip()
    if not name:
        msg = f"{option} expects name=lo:hi:n with a parameter name before '=', got {item!r}"
        raise ConfigurationError(msg)
    return name, bool(eq), rest


def log_names(logs: Iterable[str]) -> list[str]:
    """The ``--log`` names, stripped; refuse an empty name or one given twice."""
    out: list[str] = []
    for raw in logs:
        name = raw.strip()
        if not name:
            msg = f"--log expects a parameter name, got {raw!r}"
            raise ConfigurationError(msg)
        if name in out:
            msg = f"--log {name} is given twice"
            raise ConfigurationError(msg)
        out.append(name)
    return out


def parse_grid(
    items: Iterable[str], logs: Iterable[str], *, option: str = "--grid", other_log_names: Iterable[str] = ()
) -> dict[str, list[float]]:
    """Parse ``NAME=LO:HI:N`` items into axes (name -> values), logarithmic for the ``--log`` names.

    Args:
        items: the option's values.
        logs: the ``--log`` values.
        option: the option's name for messages.
        other_log_names: ``--log`` names that belong to another option's axes (not an error here).

    Raises:
        ConfigurationError: a malformed item, a name given twice, a ``--log`` name without an axis, or an
            axis :func:`~cevns_hf.bsm.grid.make_axis` refuses.
    """
    log = log_names(logs)
    grid: dict[str, list[float]] = {}
    for item in items:
        name, eq, rng = split_name(item, option)
        parts = rng.split(":")
        if not eq or len(parts) != 3:
            msg = f"{option} expects name=lo:hi:n (e.g. g_nu=1e-6:1e-4:21), got {item!r}"
            raise ConfigurationError(msg)
        if name in grid:
            msg = f"{option} {name} is given twice; give each parameter one axis"
            raise ConfigurationError(msg)
        lo = parse_float(parts[0], f"{option} {name} LO")
        hi = parse_float(parts[1], f"{option} {name} HI")
        n = parse_int(parts[2], f"{option} {name} N")
        grid[name] = make_axis(name, lo, hi, n, log=name in log)
    stray = sorted(set(log) - set(grid) - set(other_log_names))
    if stray:
        msg = f"--log names parameters without an axis (NAME=LO:HI:N): {stray}; axes: {sorted(grid)}"
        raise ConfigurationError(msg)
    return grid
