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

__all__ = [
    "BINNINGS",
    "ExperimentsType",
    "StrictFloat",
    "StrictInt",
    "binning_option",
    "experiment_option",
    "template_option",
    "with_binning",
    "with_f90",
    "with_option",
    "with_templates",
]


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


class StrictFloat(click.ParamType):  # type: ignore[type-arg]
    """A finite decimal number (no ``0_1``, ``nan``, ``inf``), optionally within (lo, hi) or [lo, hi]."""

    name = "number"

    def __init__(
        self, lo: float | None = None, hi: float | None = None, *, open_ends: bool = False, what: str = "the value"
    ) -> None:
        self.lo, self.hi, self.open_ends, self.what = lo, hi, open_ends, what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        from cevns_hf._parse import parse_float

        try:
            number = parse_float(str(value), self.what)
        except CevnsHFError as err:
            self.fail(str(err), param, ctx)
        below = self.lo is not None and (number <= self.lo if self.open_ends else number < self.lo)
        above = self.hi is not None and (number >= self.hi if self.open_ends else number > self.hi)
        if below or above:
            left, right = ("(", ")") if self.open_ends else ("[", "]")
            lo = "-inf" if self.lo is None else f"{self.lo:g}"
            hi = "inf" if self.hi is None else f"{self.hi:g}"
            self.fail(f"{self.what} {value!r} is not in {left}{lo}, {hi}{right}", param, ctx)
        return number


class StrictInt(click.ParamType):  # type: ignore[type-arg]
    """A whole number written as plain digits (no ``1_0``, no sign but '+'), within [lo, hi]."""

    name = "integer"

    def __init__(self, lo: int = 0, hi: int | None = None) -> None:
        self.lo, self.hi = lo, hi

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from cevns_hf._parse import parse_int

        try:
            number = parse_int(str(value), "the value")
        except CevnsHFError as err:
            self.fail(str(err), param, ctx)
        if number < self.lo or (self.hi is not None and number > self.hi):
            self.fail(f"{value!r} is not in [{self.lo}, {self.hi if self.hi is not None else 'inf'}]", param, ctx)
        return number


def experiment_option(help_text: str = "Data set(s), fitted jointly (e.g. csi2021+lar2020).") -> Callable[[F], F]:
    """The ``--experiment`` option of every command (any registered detector, combined with '+')."""
    from cevns_hf import detectors

    metavar = "|".join(sorted(detectors.DETECTORS)) + "[+...]"
    return click.option(
        "--experiment", "experiments", required=True, type=ExperimentsType(), metavar=metavar, help=help_text
    )


def with_option(experiments: tuple[Detector, ...], flag: str, **options: Any) -> tuple[Detector, ...]:
    """Configure the detectors that have every option (e.g. ``use_f90=True`` for ``--lar-f90``); refuse the
    flag when none of the chosen detectors has them."""
    out, applied = [], False
    for det in experiments:
        config = getattr(det, "config", None)
        if config is not None and all(hasattr(config, k) for k in options):
            out.append(det.configure(**options))
            applied = True
        else:
            out.append(det)
    if not applied:
        names = "+".join(d.name for d in experiments)
        raise click.UsageError(f"{flag} does not apply to --experiment {names} (no detector with that option)")
    return tuple(out)


def with_f90(experiments: tuple[Detector, ...], lar_f90: bool) -> tuple[Detector, ...]:
    """Apply ``--lar-f90`` (``use_f90=True``) to the detectors that have an F90 axis; refuse it otherwise."""
    return with_option(experiments, "--lar-f90", use_f90=True) if lar_f90 else experiments


#: ``--binning`` choices (CsI 2021: the paper's 9 x 11 bins, or 2 PE x 0.0625/0.25 us).
BINNINGS = ("paper", "fine")


def binning_option(func: F) -> F:
    """The ``--binning`` option (detectors with a ``binning`` input, e.g. CsI 2021)."""
    return click.option(
        "--binning",
        type=click.Choice(BINNINGS),
        default=None,
        help="CsI 2021 binning: paper (9 x 11, default) or fine (2 PE x 0.0625 us up to 2 us, then 0.25 us).",
    )(func)


def with_binning(experiments: tuple[Detector, ...], binning: str | None) -> tuple[Detector, ...]:
    """Apply ``--binning`` to the detectors that have a ``binning`` input; refuse it otherwise."""
    return with_option(experiments, "--binning", binning=binning) if binning else experiments


def template_option(func: F) -> F:
    """The repeatable ``--template [CHANNEL/]SAMPLE=FILE.root:PATH`` option (a user's own nominal from ROOT)."""
    return click.option(
        "--template",
        "user_templates",
        multiple=True,
        metavar="[CHANNEL/]SAMPLE=FILE.root:PATH",
        help="Replace a sample's nominal (SAMPLE 'data': the observed counts) by a ROOT histogram with the "
        "channel's binning (e.g. from `cevns-hf data ntuple`). Repeatable.",
    )(func)


def with_templates(experiments: tuple[Detector, ...], specs: tuple[str, ...]) -> tuple[Detector, ...]:
    """Wrap the detectors named by ``--template`` items in :class:`~cevns_hf.detectors.override.WithTemplates`."""
    if not specs:
        return experiments
    from cevns_hf.detectors.override import WithTemplates
    from cevns_hf.io.root import read_template

    chosen: dict[str, dict[str, Any]] = {}
    for item in specs:
        target, eq, location = item.partition("=")
        path, colon, key = location.rpartition(":")
        if not eq or not colon or not path or not key or not target.strip():
            raise click.UsageError(f"--template expects [CHANNEL/]SAMPLE=FILE.root:PATH, got {item!r}")
        channel, slash, sample = target.strip().rpartition("/")
        if not slash:
            if len(experiments) != 1:
                names = ", ".join(d.name for d in experiments)
                raise click.UsageError(f"--template {item!r}: name the channel (CHANNEL/SAMPLE), one of {names}")
            channel = experiments[0].name
        det = next((d for d in experiments if d.name == channel), None)
        if det is None:
            names = ", ".join(d.name for d in experiments)
            raise click.UsageError(f"--template {item!r}: no channel {channel!r}; channels: {names}")
        tmpl = det.templates()
        if sample not in (*tmpl.sample_names, "data"):
            raise click.UsageError(
                f"--template {item!r}: {channel} has no sample {sample!r}; samples: {', '.join(tmpl.sample_names)}"
            )
        if sample in chosen.setdefault(channel, {}):
            raise click.UsageError(f"--template: {channel}/{sample} given twice")
        chosen[channel][sample] = read_template(path, key, tmpl.axes)
    return tuple(WithTemplates(d, chosen[d.name]) if d.name in chosen else d for d in experiments)
