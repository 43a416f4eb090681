"""Downloads of the release files into the user cache, with pooch, from the official URLs or a mirror.

A download goes to a staging directory inside the cache, is verified there (:mod:`cevns_hf.data.verify`:
SHA-256 of the bytes, or of the numbers the analysis reads) and only then renamed into place, so no partial
or unverified file is ever left in the cache. A dropped connection, a timeout or an HTTP 5xx answer is
retried (:data:`ATTEMPTS` attempts in all, waiting ``RETRY_DELAY_S x attempt`` seconds in between); an HTTP
4xx answer is not. A progress bar (tqdm, as pooch's ``progressbar=True``) is shown when stderr is a
terminal, never in logs or pipes.

Mirror: ``fetch(mirror=URL)``, or the environment variable ``CEVNS_HF_MIRROR=URL``, downloads
``<URL>/<release>/<name>`` instead of the official URL (e.g. a local copy served over HTTP for tests, or
an institute mirror). Derived files without an official URL are only available from a mirror.

The module is named ``download`` rather than ``fetch`` so that the function :func:`fetch`, re-exported by
:mod:`cevns_hf.data`, does not shadow a submodule of the same name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

from cevns_hf.data.registry import ReleaseFile, files, select_releases
from cevns_hf.data.store import cache_dir
from cevns_hf.data.verify import matches, mismatch, warn_unverified
from cevns_hf.exceptions import ChecksumError, ConfigurationError, DataError

__all__ = ["ATTEMPTS", "MIRROR_ENV", "RETRY_DELAY_S", "download_url", "fetch", "mirror_from_env"]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)

#: Environment variable naming a mirror: files are downloaded from ``<mirror>/<release>/<name>``.
MIRROR_ENV: Final[str] = "CEVNS_HF_MIRROR"
#: Download attempts per file (the first one included) when the connection drops or times out.
ATTEMPTS: Final[int] = 3
#: Base wait between attempts [s]; attempt k waits ``RETRY_DELAY_S * k``.
RETRY_DELAY_S: float = 2.0
_SCHEMES: Final[tuple[str, ...]] = ("http", "https", "ftp")


def mirror_from_env() -> str | None:
    """The mirror named by ``$CEVNS_HF_MIRROR``, or ``None`` when the variable is unset or empty."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return value or None


def _check_mirror(mirror: str) -> str:
    parts = urlsplit(mirror)
    if parts.scheme not in _SCHEMES or not parts.netloc:
        msg = (
            f"mirror must be a URL with scheme {', '.join(_SCHEMES)} and a host (files are fetched from "
            f"<mirror>/<release>/<file>), got {mirror!r}"
        )
        raise ConfigurationError(msg)
    return mirror.rstrip("/")


def download_url(entry: ReleaseFile, mirror: str | None = None) -> str | None:
    """Where ``entry`` is downloaded from: ``<mirror>/<release>/<name>``, else its official URL (or ``None``).

    Raises:
        ConfigurationError: ``mirror`` is not an http(s) or ftp URL.
    """
    if mirror:
        return f"{_check_mirror(mirror)}/{entry.release}/{entry.name}"
    return entry.url


def fetch(
    releases: Iterable[str] | None = None, *, include_optional: bool = False, mirror: str | None = None
) -> list[Path]:
    """Download release files into :func:`~cevns_hf.data.cache_dir` (with pooch), verifying them.

    By default every file the main job needs is fetched (the registered non-optional files: for csi2021 the
    official ``snsFlux2D.root``, from which the arrival-time PDFs are derived). Files already in the cache
    that pass their check are not downloaded again; a cached file that fails it is replaced.

    Args:
        releases: releases to fetch (default: all).
        include_optional: also fetch optional files (those the main job does not read; derived files without
            an official URL only from a mirror).
        mirror: base URL of a mirror laid out ``<release>/<name>``; default ``$CEVNS_HF_MIRROR``, else the
            official URLs.

    Returns:
        Paths of the requested files now in the cache (downloaded or already present), in registry order.

    Raises:
        ConfigurationError: unknown release, or a mirror that is not an http(s) or ftp URL.
        DataError: a download failed after the retries (no network, HTTP error...); fetching stops there.
        ChecksumError: downloaded files did not pass their check (they are not kept). The other files are
            fetched first; the error lists every failing file with the expected and actual digests.
    """
    selected = select_releases(releases)
    base = mirror if mirror is not None else mirror_from_env()
    if base is not None:
        base = _check_mirror(base)
        logger.info("downloading from the mirror %s", base)
    root = cache_dir()
    fetched: list[Path] = []
    failures: list[str] = []
    for release in selected:
        for entry in files(release):
            if entry.optional and not include_optional:
                logger.debug("skipping optional file %s/%s", release, entry.name)
                continue
            url = download_url(entry, base)
            if url is None:
                logger.info("skipping %s/%s: derived, no public URL (only from a mirror)", release, entry.name)
                continue
            target = root / release / entry.name
            if target.is_file() and matches(entry, target) is not False:
                logger.info("%s/%s already in the cache", release, entry.name)
                if entry.sha256 is None:
                    warn_unverified(entry, target)
                fetched.append(target)
                continue
            reason = _download(entry, url, target)
            if reason is not None:
                failures.append(f"{release}/{entry.name} from {url}: {reason}")
                continue
            fetched.append(target)
    if failures:
        msg = (
            f"{len(failures)} downloaded file(s) did not pass verification and were not kept: "
            + "; ".join(failures)
            + ". Header lines and rows outside the analysis region may differ; the numbers the analysis "
            "reads may not: the files served there are not the registered release files"
        )
        raise ChecksumError(msg)
    return fetched


def _show_progress() -> bool:
    """Progress bars only on a terminal (and only with tqdm, which pooch needs for them)."""
    try:
        if not sys.stderr.isatty():
            return False
    except (AttributeError, ValueError):  # replaced or closed stderr
        return False
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """Silence pooch's own INFO messages (its hash hint does not apply to the numeric checks)."""
    import pooch

    pooch_logger = pooch.get_logger()
    level = pooch_logger.level
    pooch_logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        pooch_logger.setLevel(level)


class _HTTPDownloader:
    """A pooch downloader for http(s) URLs: :class:`pooch.HTTPDownloader` without its socket leak.

    pooch's own downloader leaves the response (and its socket) open when the server answers with an error
    status; this one streams the body within ``with requests.get(...)``, so every path closes it. Progress
    is a tqdm bar on stderr (as pooch's ``progressbar=True``) when ``progressbar``.
    """

    def __init__(self, progressbar: bool, timeout_s: float = 60.0) -> None:
        self.progressbar = progressbar
        self.timeout_s = timeout_s

    def __call__(self, url: str, output_file: str, pooch_obj: object, check_only: bool = False) -> bool | None:
        import requests

        with requests.get(url, stream=not check_only, timeout=self.timeout_s) as response:
            if check_only:
                return response.ok
            response.raise_for_status()
            total = int(response.headers.get("content-length", 0)) or None
            progress = None
            if self.progressbar:
                from tqdm import tqdm

                name = url.rsplit("/", 1)[-1]
                progress = tqdm(total=total, unit="B", unit_scale=True, desc=name, file=sys.stderr, leave=True)
            try:
                with open(output_file, "wb") as handle:
                    for chunk in response.iter_content(chunk_size=1 << 16):
                        handle.write(chunk)
                        if progress is not None:
                            progress.update(len(chunk))
            finally:
                if progress is not None:
                    progress.close()
        return None


def _transient(exc: OSError) -> bool:
    """A failure worth retrying: anything but an HTTP 4xx answer."""
    response = getattr(exc, "response", None)
    status = getattr(response, "status_code", None)
    return not (isinstance(status, int) and 400 <= status < 500)


def _retrieve(entry: ReleaseFile, url: str, directory: Path) -> Path:
    """Download ``url`` to ``directory/<name>``, retrying transient failures."""
    import pooch

    progress = _show_progress()
    http = urlsplit(url).scheme in ("http", "https")
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with _quiet_pooch():
                result = pooch.retrieve(
                    url,
                    known_hash=None,
                    fname=entry.name,
                    path=directory,
                    progressbar=progress,
                    downloader=_HTTPDownloader(progress) if http else None,
                )
            return Path(result)
        except OSError as exc:  # requests.RequestException derives from OSError
            if attempt < ATTEMPTS and _transient(exc):
                delay = RETRY_DELAY_S * attempt
                logger.warning(
                    "download of %s/%s failed (%s: %s); retrying in %g s (attempt %d of %d)",
                    entry.release,
                    entry.name,
                    type(exc).__name__,
                    exc,
                    delay,
                    attempt + 1,
                    ATTEMPTS,
                )
                time.sleep(delay)
                continue
            tries = f"after {attempt} attempts" if attempt > 1 else "(not retried: the server refused it)"
            msg = (
                f"could not download COHERENT release file {entry.release}/{entry.name} from {url} {tries}: "
                f"{type(exc).__name__}: {exc}. Check the network connection, or provide a local copy "
                "(CEVNS_HF_DATA=DIR or `cevns-hf data import DIR`, DIR laid out as DIR/<release>/<file>)"
            )
            raise DataError(" ".join(msg.split())) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def _download(entry: ReleaseFile, url: str, target: Path) -> str | None:
    """Download ``entry`` from ``url`` and move it to ``target`` once verified; else why it failed."""
    logger.info("downloading %s/%s from %s", entry.release, entry.name, url)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        staged = _retrieve(entry, url, staging)
        reason = mismatch(entry, staged)
        if reason is not None:
            logger.error("%s/%s from %s failed verification: %s", entry.release, entry.name, url, reason)
            return reason
        os.replace(staged, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    if entry.sha256 is None:
        warn_unverified(entry, target)
    return None
