"""Downloads of the official release files into the user cache, with pooch and the registered SHA-256.

The module is named ``download`` rather than ``fetch`` so that the function :func:`fetch`, re-exported by
:mod:`cevns_hf.data`, does not shadow a submodule of the same name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from cevns_hf.data.registry import ReleaseFile, files, select_releases
from cevns_hf.data.store import cache_dir, sha256_of, warn_unverified
from cevns_hf.exceptions import ChecksumError, DataError

__all__ = ["fetch"]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)


def fetch(releases: Iterable[str] | None = None, *, include_optional: bool = False) -> list[Path]:
    """Download official release files into :func:`~cevns_hf.data.cache_dir` (with pooch), verifying them.

    Files already in the cache with the right hash are not downloaded again. Files without a public URL
    (``csi2021-flux``) are skipped, as are optional files unless ``include_optional``. A download goes to
    a temporary file that is only renamed into place once its hash matches, so no partial file is left.

    Args:
        releases: releases to fetch (default: all).
        include_optional: also fetch optional files (``csi2021/snsFlux2D.root``, which has no official
            checksum: it is stored unverified and a warning is logged).

    Returns:
        Paths of the requested files now in the cache (downloaded or already present).

    Raises:
        ConfigurationError: unknown release.
        DataError: a download failed (no network, HTTP error...); fetching stops at the first such error.
        ChecksumError: downloaded files did not have the registered hash (they are not kept). The other
            files are fetched first; the error lists every mismatch.
    """
    selected = select_releases(releases)
    root = cache_dir()
    fetched: list[Path] = []
    mismatches: list[str] = []
    for release in selected:
        for entry in files(release):
            if entry.optional and not include_optional:
                logger.info("skipping optional file %s/%s (use include_optional)", release, entry.name)
                continue
            if entry.url is None:
                logger.info(
                    "skipping %s/%s: no public URL; provide it with CEVNS_HF_DATA or import_directory",
                    release,
                    entry.name,
                )
                continue
            target = root / release / entry.name
            if target.is_file() and (entry.sha256 is None or sha256_of(target) == entry.sha256):
                logger.info("%s/%s already in the cache", release, entry.name)
                if entry.sha256 is None:
                    warn_unverified(entry, target)
                fetched.append(target)
                continue
            path = _download(entry, target)
            if path is None:
                mismatches.append(f"{release}/{entry.name}")
                continue
            fetched.append(path)
    if mismatches:
        msg = (
            f"checksum mismatch for downloaded file(s) {', '.join(mismatches)}: the files served at the "
            "official URL do not have the registered SHA-256 (nothing was kept for them); the registered "
            "hashes are those of the project's reference copies: import those with `cevns-hf data import DIR`"
        )
        raise ChecksumError(msg)
    return fetched


def _download(entry: ReleaseFile, target: Path) -> Path | None:
    """Download ``entry`` to ``target``; ``None`` on a checksum mismatch (logged)."""
    import pooch

    assert entry.url is not None
    known_hash = None if entry.sha256 is None else f"sha256:{entry.sha256}"
    logger.info("downloading %s/%s from %s", entry.release, entry.name, entry.url)
    try:
        result = pooch.retrieve(
            entry.url,
            known_hash=known_hash,
            fname=entry.name,
            path=target.parent,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: hash mismatch (the temporary download is deleted)
        logger.error("checksum mismatch for %s/%s from %s: %s", entry.release, entry.name, entry.url, exc)
        return None
    except OSError as exc:  # requests.RequestException derives from OSError
        msg = (
            f"could not download COHERENT release file {entry.release}/{entry.name} from {entry.url}: "
            f"{type(exc).__name__}: {exc}. Check the network connection, or provide a local copy "
            "(CEVNS_HF_DATA=DIR or `cevns-hf data import DIR`, DIR laid out as DIR/<release>/<file>)"
        )
        raise DataError(" ".join(msg.split())) from exc
    path = Path(result)
    if entry.sha256 is None:
        warn_unverified(entry, path)
    return path
