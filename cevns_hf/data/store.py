"""The local store of release files: where they are looked up, their verification, status and import.

Files are looked up, per file, in two places (see :func:`release_path`):

1. ``$CEVNS_HF_DATA/<release>/<name>`` when the environment variable ``CEVNS_HF_DATA`` is set (a local copy
   of the releases, e.g. for CI or offline work);
2. ``cache_dir()/<release>/<name>``, the user cache filled by :func:`cevns_hf.data.fetch` (download of the
   official files) or :func:`import_directory` (copy from a local directory with the same
   ``<release>/<name>`` layout).

A file is always checked against its registered digest before use (:mod:`cevns_hf.data.verify`: SHA-256 of
the bytes, or of the numbers the analysis reads); the (costly) digest is memoised per file state, so
repeated loads are cheap. ``checksum_error``, ``sha256_of`` and ``warn_unverified`` are re-exported from
:mod:`cevns_hf.data.verify`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cevns_hf.data import verify as _verification
from cevns_hf.data.registry import REGISTRY, RELEASES, ReleaseFile, files, lookup, select_releases
from cevns_hf.data.verify import checksum_error, sha256_of, warn_unverified
from cevns_hf.exceptions import ChecksumError, DataNotFoundError, OutputExistsError
from cevns_hf.io.atomic import atomic_copy

__all__ = [
    "FileStatus",
    "cache_dir",
    "checksum_error",
    "data_dir_from_env",
    "import_directory",
    "release_path",
    "sha256_of",
    "status",
    "warn_unverified",
]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)

#: Environment variable naming a local directory laid out ``<release>/<name>`` (searched first).
_DATA_ENV = "CEVNS_HF_DATA"
#: Environment variable overriding :func:`cache_dir`.
_CACHE_ENV = "CEVNS_HF_CACHE"


# --------------------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------------------


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def data_dir_from_env() -> Path | None:
    """Local release directory named by ``$CEVNS_HF_DATA``.

    Returns:
        The directory (laid out ``<release>/<name>``), or ``None`` when the variable is unset or empty.
        The directory is not required to exist.
    """
    return _env_path(_DATA_ENV)


def cache_dir() -> Path:
    """Directory of the user cache of release files (laid out ``<release>/<name>``).

    Returns:
        ``$CEVNS_HF_CACHE`` when set (used as is), else ``platformdirs.user_cache_dir("cevns_hf")/releases``.
        The directory is not created.
    """
    override = _env_path(_CACHE_ENV)
    if override is not None:
        return override
    import platformdirs

    return Path(platformdirs.user_cache_dir("cevns_hf")) / "releases"


def _candidates(entry: ReleaseFile) -> list[tuple[str, Path]]:
    """Where ``entry`` is searched, in order, as ``(source, path)`` pairs."""
    found: list[tuple[str, Path]] = []
    env = data_dir_from_env()
    if env is not None:
        found.append(("env", env / entry.release / entry.name))
    found.append(("cache", cache_dir() / entry.release / entry.name))
    return found


def _locate(entry: ReleaseFile) -> tuple[str, Path] | None:
    for source, path in _candidates(entry):
        if path.is_file():
            return source, path
    return None


# --------------------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------------------


def _not_found_error(entry: ReleaseFile) -> DataNotFoundError:
    where = " and ".join(repr(str(path)) for _, path in _candidates(entry))
    if entry.url is None:
        download = (
            "it is a derived file with no public URL, so `cevns-hf data fetch` cannot download it "
            "(only from a mirror, as an optional file); provide it from a local copy"
        )
    else:
        needed = "an optional file" if entry.optional else "a file the main job needs"
        download = (
            f"download it ({needed} of release {entry.release!r}, official URL {entry.url}) with "
            "`cevns-hf data fetch`, or provide a local copy"
        )
    msg = (
        f"COHERENT release file {entry.release}/{entry.name} not found (looked in {where}). "
        f"To provide it: {download}: lay out a directory DIR as DIR/<release>/<file> "
        f"(here DIR/{entry.release}/{entry.name}) and either set CEVNS_HF_DATA=DIR "
        "or copy it into the cache with `cevns-hf data import DIR`"
    )
    return DataNotFoundError(msg)


def release_path(release: str, name: str, *, verify: bool = True) -> Path:
    """Locate (and verify) a registered release file.

    The file is searched first in ``$CEVNS_HF_DATA/<release>/<name>`` (if the variable is set), then in
    ``cache_dir()/<release>/<name>``. The first existing file is used (a corrupt file in
    ``$CEVNS_HF_DATA`` is an error: there is no silent fall-back to the cache).

    Args:
        release: release identifier, one of :data:`~cevns_hf.data.RELEASES`.
        name: file name inside the release.
        verify: check the file against its registered digest (memoised per file state). Files without a
            registered digest are never verified; a warning says so.

    Returns:
        Path of the file.

    Raises:
        ConfigurationError: unknown release or file name (the message lists the valid choices).
        DataNotFoundError: the file is in none of the searched places (the message tells how to provide it).
        ChecksumError: the file does not have the registered digest (the message names the file).
    """
    entry = lookup(release, name)
    located = _locate(entry)
    if located is None:
        raise _not_found_error(entry)
    _, path = located
    if verify:
        _verification.verify(entry, path)
    elif entry.sha256 is None:
        warn_unverified(entry, path)
    return path


# --------------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileStatus:
    """Availability of one registered file.

    Attributes:
        file: the registered file.
        path: where it was found (``None`` if missing).
        present: the file was found.
        verified: ``True``/``False`` if the file was found and has a registered hash (match or not);
            ``None`` if missing or without a registered hash.
        source: ``"env"`` (``$CEVNS_HF_DATA``), ``"cache"`` or ``"missing"``.
    """

    file: ReleaseFile
    path: Path | None
    present: bool
    verified: bool | None
    source: str


def status(releases: Iterable[str] | None = None) -> list[FileStatus]:
    """Report where each registered file is found and whether it has the registered hash.

    Args:
        releases: releases to report (default: all).

    Returns:
        One :class:`FileStatus` per registered file of the selected releases, in registry order.

    Raises:
        ConfigurationError: unknown release.
    """
    result: list[FileStatus] = []
    for release in select_releases(releases):
        for entry in files(release):
            located = _locate(entry)
            if located is None:
                result.append(FileStatus(entry, None, present=False, verified=None, source="missing"))
                continue
            source, path = located
            try:
                verified = _verification.matches(entry, path)
            except OSError as exc:
                logger.warning("cannot read %s: %s", path, exc)
                verified = False
            result.append(FileStatus(entry, path, present=True, verified=verified, source=source))
    return result


# --------------------------------------------------------------------------------------------------
# Import from a local directory
# --------------------------------------------------------------------------------------------------


def import_directory(
    directory: str | os.PathLike[str],
    releases: Iterable[str] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Copy release files from a local directory into :func:`cache_dir`, verifying their digests.

    ``directory`` is laid out ``<release>/<name>`` (like ``$CEVNS_HF_DATA``). Every source file is checked
    before anything is written: a corrupt source file, or an existing cache file that differs and may not
    be replaced, aborts the import with nothing written. A cache file that is already identical (verified)
    is left alone. Missing source files are logged and skipped. Copies are atomic (temporary file + rename).

    Args:
        directory: the source directory.
        releases: releases to import (default: all those found).
        overwrite: replace cache files that differ from the source.

    Returns:
        Cache paths of the files imported or already present, in registry order.

    Raises:
        ConfigurationError: unknown release.
        DataNotFoundError: ``directory`` does not exist; or no file at all of an explicitly requested
            release (with ``releases=None``: of any release) was found in it.
        ChecksumError: a source file does not have the registered digest.
        OutputExistsError: a differing file is already in the cache and ``overwrite`` is false.
    """
    source_root = Path(directory).expanduser()
    if not source_root.is_dir():
        msg = f"import directory {str(source_root)!r} does not exist or is not a directory"
        raise DataNotFoundError(msg)
    selected = select_releases(releases)
    root = cache_dir()

    # Phase 1: check everything, write nothing.
    plan: list[tuple[ReleaseFile, Path, Path]] = []  # (entry, source, target) to copy
    present: list[tuple[ReleaseFile, Path]] = []  # already in the cache, identical
    conflicts: list[str] = []
    empty: list[str] = []
    for release in selected:
        found_any = False
        for entry in files(release):
            source = source_root / release / entry.name
            if not source.is_file():
                log = logger.info if entry.optional else logger.warning
                log("%s/%s not found in %s: skipped", release, entry.name, source_root)
                continue
            found_any = True
            if entry.sha256 is not None:
                _verification.verify(entry, source)
            source_hash = sha256_of(source)
            target = root / release / entry.name
            if target.exists():
                if target.is_file() and sha256_of(target) == source_hash:
                    present.append((entry, target))
                    continue
                if not overwrite:
                    conflicts.append(str(target))
            plan.append((entry, source, target))
        if not found_any:
            empty.append(release)
    if releases is None:
        if len(empty) == len(selected):
            msg = (
                f"no COHERENT release file found in {str(source_root)!r}; expected the layout "
                f"DIR/<release>/<file> with <release> one of {', '.join(RELEASES)}"
            )
            raise DataNotFoundError(msg)
    elif empty:
        msg = (
            f"no file of release(s) {', '.join(empty)} found in {str(source_root)!r}; expected the layout "
            f"DIR/<release>/<file>, e.g. {str(source_root / empty[0] / files(empty[0])[0].name)!r}"
        )
        raise DataNotFoundError(msg)
    if conflicts:
        msg = (
            f"refusing to replace {len(conflicts)} cached file(s) that differ from the imported ones "
            f"({', '.join(conflicts)}); pass overwrite=True to replace them"
        )
        raise OutputExistsError(msg)

    # Phase 2: copy, then check the copy (guards against a source changed since phase 1).
    done: dict[tuple[str, str], Path] = {}
    for entry, target in present:
        logger.info("%s/%s already in the cache: skipped", entry.release, entry.name)
        done[(entry.release, entry.name)] = target
    for entry, source, target in plan:
        atomic_copy(source, target, overwrite=overwrite)
        try:
            _verification.verify(entry, target)
        except ChecksumError:
            target.unlink(missing_ok=True)
            raise
        logger.info("imported %s/%s into %s", entry.release, entry.name, target)
        done[(entry.release, entry.name)] = target
    return [done[key] for key in REGISTRY if key in done]
