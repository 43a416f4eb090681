"""Command-line parameter types that read the registries: experiments resolve to Detector objects here.

The choices come from :data:`cevns_hf.detectors.DETECTORS` at the time a command runs, so a detector
registered at run time (a plugin, a test) is accepted by every command without editing the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import CevnsHFError

__all__ = ["ExperimentsType", "experiment_option", "with_f90"]


def __dir__() -> list[str]:
    return __all__


F = TypeVar("F", bound=Callable[..., Any])


class ExperimentsType(click.ParamType):  # type: ignore[type-arg]
    """``--experiment NAME[+NAME...]`` -> a tuple of registered :class:`Detector` objects."""

    name = "experiment"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[Detector, ...]:
        if isinstance(value, tuple):
            return value
        from cevns_hf import detectors

        try:
            return detectors.resolve(str(value))
        except CevnsHFError as err:
            self.fail(" ".join(str(err).split()), param, ctx)


def experiment_option(help_text: str = "Data set(s), fitted jointly (e.g. csi2021+lar2020).") -> Callable[[F], F]:
    """The ``--experiment`` option of every command (any registered detector, combined with '+')."""
    from cevns_hf import detectors

    metavar = "|".join(sorted(detectors.DETECTORS)) + "[+...]"
    return click.option(
        "--experiment", "experiments", required=True, type=ExperimentsType(), metavar=metavar, help=help_text
    )


def with_f90(experiments: tuple[Detector, ...], lar_f90: bool) -> tuple[Detector, ...]:
    """Apply ``--lar-f90`` (``use_f90=True``) to the detectors that have an F90 axis; refuse it otherwise."""
    if not lar_f90:
        return experiments
    out, applied = [], False
    for det in experiments:
        config = getattr(det, "config", None)
        if config is not None and hasattr(config, "use_f90"):
            out.append(det.configure(use_f90=True))
            applied = True
        else:
            out.append(det)
    if not applied:
        names = "+".join(d.name for d in experiments)
        raise click.UsageError(f"--lar-f90 needs a detector with an F90 axis (lar2020); got --experiment {names}")
    return tuple(out)
