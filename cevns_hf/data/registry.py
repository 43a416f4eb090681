"""The registry of COHERENT release files: the release table (package data ``releases.csv``) and its lookup.

Every release file the project reads has one row in ``cevns_hf/data/releases.csv`` with its official URL,
the kind of verification it gets and the pinned digest (see :mod:`cevns_hf.data.verify`), a description and
an optional flag; the file's header comment documents the columns and the source of each release. The table
is read once, at import, with :mod:`importlib.resources`.

Releases:

* ``lar2020``: CENNS-10 liquid argon "Analysis A", Akimov et al., PRL 126 (2021) 012002,
  Zenodo record 3903810 (DOI 10.5281/zenodo.3903810). Byte SHA-256 (the reference copies are
  byte-identical to Zenodo).
* ``csi2021``: CsI[Na] full data set, Akimov et al., PRL 129 (2022) 081801, ancillary files of
  arXiv:2110.07730v2. Official bytes unknown: SHA-256 of the numbers the analysis reads (the event lists:
  only the events of the analysis region). The official SNS flux ``snsFlux2D.root`` is needed (the CsI
  arrival-time PDFs are derived from it) and has no checksum (none is published).
* ``csi2017``: CsI[Na] first observation, Akimov et al., Science 357 (2017) 1123, Zenodo record 1228631
  (DOI 10.5281/zenodo.1228631). Byte SHA-256 for the four files known to be identical to Zenodo, SHA-256 of
  the numeric rows for the seven whose header lines differ.
* ``csi2021-flux``: CSV/NPZ conversions of ``snsFlux2D.root`` (derived, not official, optional). They have
  no public URL: they are used when provided through ``$CEVNS_HF_DATA``, a mirror or
  :func:`cevns_hf.data.import_directory`, never required.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType

from cevns_hf.data.verify import CHECKS
from cevns_hf.exceptions import ConfigurationError, DataError

__all__ = [
    "REGISTRY",
    "RELEASES",
    "TABLE_NAME",
    "ReleaseFile",
    "files",
    "lookup",
    "parse_table",
    "select_releases",
]


def __dir__() -> list[str]:
    return __all__


#: Name of the release table, package data of :mod:`cevns_hf.data`.
TABLE_NAME = "releases.csv"

_COLUMNS = ("release", "name", "check", "sha256", "shape", "optional", "url", "description")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_SHAPE = re.compile(r"([1-9][0-9]*)x([1-9][0-9]*)")
_FLAGS = {"true": True, "false": False}


@dataclass(frozen=True)
class ReleaseFile:
    """One registered file of a COHERENT data release.

    Attributes:
        release: release identifier, one of :data:`RELEASES`.
        name: file name inside the release (also the name on disk: ``<release>/<name>``).
        sha256: expected digest (lower-case hex SHA-256) for ``check``, or ``None`` when none is known.
        url: official download URL, or ``None`` for derived files with no public source.
        description: one-line description of the content.
        optional: the file is not needed by the main job (not fetched unless asked for).
        check: what ``sha256`` covers, one of :data:`~cevns_hf.data.verify.CHECKS`: ``bytes`` (the file),
            ``numeric`` (its numeric rows), ``events`` (its events in the analysis region), ``none``.
        shape: (rows, columns) of the hashed table for ``numeric`` / ``events``, else ``None``.
    """

    release: str
    name: str
    sha256: str | None
    url: str | None
    description: str
    optional: bool = False
    check: str = "bytes"
    shape: tuple[int, int] | None = None


# --------------------------------------------------------------------------------------------------
# The release table
# --------------------------------------------------------------------------------------------------


def _row_to_file(row: list[str], where: str) -> ReleaseFile:
    if len(row) != len(_COLUMNS):
        msg = f"{where}: expected {len(_COLUMNS)} fields ({', '.join(_COLUMNS)}), got {len(row)}"
        raise DataError(msg)
    release, name, check, sha256, shape, optional, url, description = (field.strip() for field in row)
    if not release or not name or "/" in name or not description:
        msg = f"{where}: release, name (without '/') and description must not be empty"
        raise DataError(msg)
    if check not in CHECKS:
        msg = f"{where}: check must be one of {', '.join(CHECKS)}, got {check!r}"
        raise DataError(msg)
    if sha256 and not _SHA256.fullmatch(sha256):
        msg = f"{where}: sha256 must be 64 lower-case hex digits or empty, got {sha256!r}"
        raise DataError(msg)
    if (check == "none") != (not sha256):
        msg = f"{where}: sha256 must be empty exactly when check is 'none', got check {check!r}, sha256 {sha256!r}"
        raise DataError(msg)
    dims = _SHAPE.fullmatch(shape)
    if (check in ("numeric", "events")) != (dims is not None) or (shape and dims is None):
        msg = f"{where}: shape must be <rows>x<columns> for check numeric or events and empty otherwise, got {shape!r}"
        raise DataError(msg)
    if optional not in _FLAGS:
        msg = f"{where}: optional must be 'true' or 'false', got {optional!r}"
        raise DataError(msg)
    return ReleaseFile(
        release=release,
        name=name,
        sha256=sha256 or None,
        url=url or None,
        description=description,
        optional=_FLAGS[optional],
        check=check,
        shape=None if dims is None else (int(dims.group(1)), int(dims.group(2))),
    )


def parse_table(text: str, source: str = TABLE_NAME) -> tuple[ReleaseFile, ...]:
    """Parse a release table: comment lines (``#``), a header row, then one CSV row per file.

    Args:
        text: content of the table.
        source: name of the table in error messages.

    Returns:
        The files, grouped by release in order of first appearance, in table order within a release.

    Raises:
        DataError: the table is malformed (wrong header or field count, bad check, hash, shape or flag,
            duplicate file);
            the message gives the line.
    """
    rows = [
        (number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not rows or next(csv.reader([rows[0][1]])) != list(_COLUMNS):
        msg = f"{source}: the first row must be the header {','.join(_COLUMNS)}"
        raise DataError(msg)
    entries: dict[tuple[str, str], ReleaseFile] = {}
    for number, line in rows[1:]:
        entry = _row_to_file(next(csv.reader([line])), f"{source}, line {number}")
        if (entry.release, entry.name) in entries:
            msg = f"{source}, line {number}: {entry.release}/{entry.name} is registered twice"
            raise DataError(msg)
        entries[(entry.release, entry.name)] = entry
    order = list(dict.fromkeys(entry.release for entry in entries.values()))
    return tuple(sorted(entries.values(), key=lambda entry: order.index(entry.release)))


def _read_table() -> tuple[ReleaseFile, ...]:
    text = resources.files("cevns_hf.data").joinpath(TABLE_NAME).read_text(encoding="utf-8")
    return parse_table(text)


_TABLE = _read_table()

RELEASES: tuple[str, ...] = tuple(dict.fromkeys(entry.release for entry in _TABLE))
"""The release identifiers, in table order: ``("lar2020", "csi2021", "csi2017", "csi2021-flux")``."""

REGISTRY: Mapping[tuple[str, str], ReleaseFile] = MappingProxyType({(f.release, f.name): f for f in _TABLE})
"""Every registered release file, keyed by ``(release, name)``, in release order then table order."""


# --------------------------------------------------------------------------------------------------
# Lookup and validation of user input
# --------------------------------------------------------------------------------------------------


def _check_release(release: str) -> str:
    if release not in RELEASES:
        msg = f"unknown release {release!r}; valid releases are: {', '.join(RELEASES)}"
        raise ConfigurationError(msg)
    return release


def select_releases(releases: Iterable[str] | None) -> list[str]:
    """Validate a user selection of releases, keeping the order and dropping duplicates.

    Args:
        releases: release identifiers (a single string is one release), or ``None`` for all.

    Returns:
        The selected releases.

    Raises:
        ConfigurationError: unknown release (the message lists the valid ones).
    """
    if releases is None:
        return list(RELEASES)
    if isinstance(releases, str):  # a single name passed where an iterable is expected
        releases = [releases]
    selected: list[str] = []
    for release in releases:
        if _check_release(release) not in selected:
            selected.append(release)
    return selected


def lookup(release: str, name: str) -> ReleaseFile:
    """The registered file ``release/name``.

    Args:
        release: release identifier, one of :data:`RELEASES`.
        name: file name inside the release.

    Returns:
        Its registry entry.

    Raises:
        ConfigurationError: unknown release or file name (the message lists the valid choices).
    """
    _check_release(release)
    try:
        return REGISTRY[(release, name)]
    except KeyError:
        valid = ", ".join(f.name for f in files(release))
        msg = f"unknown file {name!r} in release {release!r}; valid files are: {valid}"
        raise ConfigurationError(msg) from None


def files(release: str | None = None) -> list[ReleaseFile]:
    """List the registered files, of one release or of all.

    Args:
        release: a release of :data:`RELEASES`, or ``None`` for every release.

    Returns:
        The registered files, in registry order.

    Raises:
        ConfigurationError: ``release`` is not a known release.
    """
    if release is None:
        return list(REGISTRY.values())
    _check_release(release)
    return [f for f in REGISTRY.values() if f.release == release]
