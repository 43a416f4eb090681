"""``cevns-hf data``: fetch, import and inspect the COHERENT release files.

Library errors (:class:`~cevns_hf.exceptions.CevnsHFError`) are reported as one ``Error: ...`` line on
stderr with exit code 2, never as a traceback. Where a library message names an argument (``overwrite=True``),
the command names its option (``--force``) instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from cevns_hf import data as _data
from cevns_hf.cli._errors import CevnsHFCLIError, friendly
from cevns_hf.exceptions import ConfigurationError, OutputExistsError

__all__ = ["data"]


def __dir__() -> list[str]:
    return __all__


def _release_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--release",
        "-r",
        "release",
        multiple=True,
        type=click.Choice(_data.RELEASES),
        help="Release to act on (repeatable; default: all).",
    )(func)


def _selection(release: tuple[str, ...]) -> list[str] | None:
    return list(release) if release else None


@click.group("data")
def data() -> None:
    """Fetch, import and check the COHERENT public data releases.

    Release files are looked up in $CEVNS_HF_DATA/<release>/<file> (if set), then in the user cache
    ($CEVNS_HF_CACHE overrides its location).
    """


@data.command("fetch")
@_release_option
@click.option(
    "--include-optional",
    is_flag=True,
    help="Also fetch the files the main job does not read (derived csi2021-flux files: from a mirror only).",
)
@click.option(
    "--mirror",
    metavar="URL",
    default=None,
    help="Download <URL>/<release>/<file> instead of the official URLs (default: $CEVNS_HF_MIRROR).",
)
@friendly
def fetch_command(release: tuple[str, ...], include_optional: bool, mirror: str | None) -> None:
    """Download the release files the main job needs into the user cache, verifying them.

    Files come from Zenodo and arXiv (or a mirror), including the official CsI flux snsFlux2D.root. Each is
    checked against its pinned SHA-256: of its bytes, or of the numbers the analysis reads (header lines,
    and events outside the CsI analysis region, may differ from the project's reference copies).
    """
    try:
        paths = _data.fetch(_selection(release), include_optional=include_optional, mirror=mirror)
    except ConfigurationError as err:  # the library names the value, the command its option
        if mirror is None or not str(err).startswith("mirror must be"):
            raise
        raise CevnsHFCLIError("--" + str(err)) from err
    for path in paths:
        click.echo(str(path))
    click.echo(f"{len(paths)} file(s) in {_data.cache_dir()}", err=True)


@data.command("import")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_release_option
@click.option("--force", is_flag=True, help="Replace cached files that differ from the imported ones.")
@friendly
def import_command(directory: Path, release: tuple[str, ...], force: bool) -> None:
    """Copy release files from DIRECTORY (laid out <release>/<file>) into the user cache, verifying them."""
    try:
        paths = _data.import_directory(directory, _selection(release), overwrite=force)
    except OutputExistsError as err:  # the library names the argument, the command its option
        raise CevnsHFCLIError(str(err).replace("pass overwrite=True", "pass --force")) from err
    for path in paths:
        click.echo(str(path))
    click.echo(f"{len(paths)} file(s) in {_data.cache_dir()}", err=True)


def _yes_no(value: bool | None) -> str:
    if value is None:
        return "-"
    return "yes" if value else "no"


@data.command("status")
@_release_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
@friendly
def status_command(release: tuple[str, ...], as_json: bool) -> None:
    """Show where each release file is found and whether it passes its check (bytes, numeric, events)."""
    report = _data.status(_selection(release))
    if as_json:
        rows = [
            {
                "release": s.file.release,
                "file": s.file.name,
                "present": s.present,
                "verified": s.verified,
                "source": s.source,
                "path": None if s.path is None else str(s.path),
                "optional": s.file.optional,
                "check": s.file.check,
            }
            for s in report
        ]
        click.echo(json.dumps(rows, indent=2))
        return
    header = ("release", "file", "present", "verified", "source", "check")
    table = [header] + [
        (s.file.release, s.file.name + (" (optional)" if s.file.optional else ""), _yes_no(s.present),
         _yes_no(s.verified), s.source, s.file.check)
        for s in report
    ]  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
