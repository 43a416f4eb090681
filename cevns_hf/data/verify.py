"""Verification of release files: byte SHA-256, or SHA-256 of the numbers the analysis reads.

Every registered file has a *check* (column ``check`` of ``releases.csv``):

* ``bytes``: SHA-256 of the file's bytes. Used where the official bytes are known to equal the reference
  copies (lar2020, four csi2017 files) and for the derived ``csi2021-flux`` files.
* ``numeric``: SHA-256 of the file's numeric rows (:func:`numeric_rows`): blank lines, comments (from ``#``)
  and lines that are not all numbers (column headers, prose) are dropped, the rest is parsed into a float64
  array. Header-only differences pass; any changed, added or missing number fails. Used where the official
  bytes are unknown or known to differ in their header lines (csi2017 arrival-time PDFs and data tables,
  csi2021 tables).
* ``events``: as ``numeric``, restricted to the events of the CsI analysis region :data:`EVENT_REGION`
  (``0 <= PE < 60``, ``0 <= t < 6 us``), sorted: the unbinned csi2021 event lists, whose official text
  reportedly holds events beyond the region. Extra rows outside the region pass.
* ``none``: no checksum known (the official ``snsFlux2D.root``): used with a warning, its structure is
  checked when it is read.

The digest of a numeric table is ``sha256(b"<rows>x<columns>\\n" + little-endian float64 bytes)``
(:func:`table_digest`). Hashes are memoised per file state (path, size, mtime, inode).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ChecksumError, DataError

if TYPE_CHECKING:
    from cevns_hf.data.registry import ReleaseFile

__all__ = [
    "CHECKS",
    "EVENT_REGION",
    "checksum_error",
    "digest_of",
    "event_rows",
    "matches",
    "mismatch",
    "numeric_rows",
    "read_numeric",
    "sha256_of",
    "table_digest",
    "verify",
    "warn_unverified",
]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)

#: The kinds of check of a registered file (see the module docstring).
CHECKS: Final[tuple[str, ...]] = ("bytes", "numeric", "events", "none")

#: Analysis region of the unbinned csi2021 event lists: half-open ranges of (PE, t [us]), columns 0 and 1.
EVENT_REGION: Final[tuple[tuple[float, float], tuple[float, float]]] = ((0.0, 60.0), (0.0, 6.0))

_SPLIT = re.compile(r"[,\s]+")

_Key = tuple[str, int, int, int]
_Digest = tuple[str, tuple[int, int] | None]
_HASH_CACHE: dict[tuple[str, _Key], _Digest] = {}
_HASH_LOCK = threading.Lock()
_UNVERIFIED_WARNED: set[_Key] = set()


def _file_key(path: Path) -> _Key:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def _memoised(kind: str, path: Path, compute: Callable[[Path], _Digest]) -> _Digest:
    key = (kind, _file_key(path))
    with _HASH_LOCK:
        cached = _HASH_CACHE.get(key)
    if cached is not None:
        return cached
    value = compute(path)
    with _HASH_LOCK:
        _HASH_CACHE[key] = value
    return value


# --------------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------------


def _numbers(line: str) -> list[float] | None:
    tokens = [token for token in _SPLIT.split(line.split("#", 1)[0].strip()) if token]
    if not tokens:
        return None
    try:
        return [float(token) for token in tokens]
    except ValueError:
        return None


def numeric_rows(text: str, source: str) -> FloatArray:
    """The numeric rows of a text table, as a float64 array of shape (rows, columns).

    Fields are separated by commas and/or whitespace. Blank lines, comments (from ``#`` to the end of the
    line) and lines that are not all numbers (column headers, prose) are dropped.

    Args:
        text: content of the file.
        source: name of the file in error messages.

    Returns:
        The rows (read-only), in file order.

    Raises:
        DataError: no numeric row, or rows of different lengths (the message gives the line).
    """
    rows: list[list[float]] = []
    dropped = 0
    for number, line in enumerate(text.splitlines(), start=1):
        values = _numbers(line)
        if values is None:
            dropped += bool(line.split("#", 1)[0].strip())
            continue
        if rows and len(values) != len(rows[0]):
            msg = f"{source}, line {number}: expected {len(rows[0])} numbers as in the first row, found {len(values)}"
            raise DataError(msg)
        rows.append(values)
    if not rows:
        msg = f"{source}: no numeric row found"
        raise DataError(msg)
    if dropped:
        logger.debug("%s: %d non-numeric line(s) skipped", source, dropped)
    table = np.asarray(rows, dtype=np.float64)
    table.setflags(write=False)
    return table


def event_rows(table: FloatArray, source: str) -> FloatArray:
    """The rows of an unbinned (PE, t) event list inside :data:`EVENT_REGION`, in file order.

    Raises:
        DataError: the table has fewer than two columns.
    """
    if table.ndim != 2 or table.shape[1] < 2:
        msg = f"{source}: expected rows of (PE, t [us]), found shape {table.shape}"
        raise DataError(msg)
    (pe_lo, pe_hi), (t_lo, t_hi) = EVENT_REGION
    pe, t = table[:, 0], table[:, 1]
    inside = (pe >= pe_lo) & (pe < pe_hi) & (t >= t_lo) & (t < t_hi)
    selected = np.asarray(table[inside], dtype=np.float64)
    selected.setflags(write=False)
    return selected


def read_numeric(path: Path, check: str, source: str) -> FloatArray:
    """The numbers of ``path`` that a ``numeric`` or ``events`` check covers (events: the region's rows).

    Raises:
        DataError: the file cannot be read or parsed.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        msg = f"cannot read {source} at {str(path)!r}: {err}"
        raise DataError(msg) from err
    table = numeric_rows(text, source)
    return event_rows(table, source) if check == "events" else table


# --------------------------------------------------------------------------------------------------
# Digests
# --------------------------------------------------------------------------------------------------


def table_digest(table: FloatArray) -> str:
    """SHA-256 of a 2D float table: ``b"<rows>x<columns>\\n"`` then its little-endian float64 bytes."""
    array = np.ascontiguousarray(table, dtype="<f8")
    rows, columns = array.shape
    return hashlib.sha256(f"{rows}x{columns}\n".encode() + array.tobytes()).hexdigest()


def _sorted(table: FloatArray) -> FloatArray:
    order = np.lexsort(table.T[::-1]) if len(table) else np.arange(0)
    return np.asarray(table[order], dtype=np.float64)


def sha256_of(path: Path) -> str:
    """SHA-256 of the bytes of ``path`` (lower-case hex), memoised per (path, size, mtime_ns, inode)."""

    def compute(p: Path) -> _Digest:
        digest = hashlib.sha256()
        with p.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
        return digest.hexdigest(), None

    return _memoised("bytes", path, compute)[0]


def digest_of(path: Path, check: str, source: str = "") -> tuple[str, tuple[int, int] | None]:
    """The digest of ``path`` for a check kind, and the shape of the hashed table (``None`` for bytes).

    Args:
        path: the file.
        check: one of ``bytes``, ``numeric``, ``events`` (see :data:`CHECKS`).
        source: name of the file in error messages (default: the path).

    Raises:
        DataError: unknown check, or a ``numeric`` / ``events`` file that cannot be parsed.
    """
    if check == "bytes":
        return sha256_of(path), None
    if check not in ("numeric", "events"):
        msg = f"no digest for check {check!r}; digests exist for: bytes, numeric, events"
        raise DataError(msg)

    def compute(p: Path) -> _Digest:
        table = read_numeric(p, check, source or str(p))
        if check == "events":
            table = _sorted(table)
        return table_digest(table), (int(table.shape[0]), int(table.shape[1]))

    return _memoised(check, path, compute)


# --------------------------------------------------------------------------------------------------
# Verification
# --------------------------------------------------------------------------------------------------


def _describe(check: str) -> str:
    return {
        "bytes": "SHA-256 of its bytes",
        "numeric": "SHA-256 of its numeric rows (header and comment lines ignored)",
        "events": (
            "SHA-256 of its events with {:g} <= PE < {:g} and {:g} <= t < {:g} us (header, comments and "
            "events outside that region ignored)".format(*EVENT_REGION[0], *EVENT_REGION[1])
        ),
    }.get(check, check)


def _expected_and_got(entry: ReleaseFile, actual: str, shape: tuple[int, int] | None) -> str:
    expected = f"{_describe(entry.check)} {entry.sha256}"
    got = actual
    if entry.shape is not None and shape is not None:
        expected += f" over {entry.shape[0]} rows x {entry.shape[1]} columns"
        got += f" over {shape[0]} rows x {shape[1]} columns"
    return f"expected {expected}, got {got}"


def checksum_error(entry: ReleaseFile, path: Path, actual: str, shape: tuple[int, int] | None = None) -> ChecksumError:
    """The error for ``path`` (a copy of ``entry``) whose digest is ``actual`` instead of the registered one."""
    return _error(entry, path, _expected_and_got(entry, actual, shape))


def _error(entry: ReleaseFile, path: Path, reason: str) -> ChecksumError:
    what = "its numbers differ from" if entry.check in ("numeric", "events") else "it is not"
    msg = (
        f"checksum mismatch for COHERENT release file {entry.release}/{entry.name} at {str(path)!r}: "
        f"{reason}; the file is corrupt or {what} the registered release file: delete it and provide it "
        "again (`cevns-hf data fetch` or `cevns-hf data import DIR`)"
    )
    return ChecksumError(msg)


def warn_unverified(entry: ReleaseFile, path: Path) -> None:
    """Log, once per file state, that ``path`` is used without verification (no registered hash)."""
    key = _file_key(path)
    with _HASH_LOCK:
        if key in _UNVERIFIED_WARNED:
            return
        _UNVERIFIED_WARNED.add(key)
    logger.warning(
        "%s/%s at %s is UNVERIFIED: no official checksum is known for this file (its structure is checked "
        "when it is read)",
        entry.release,
        entry.name,
        path,
    )


def mismatch(entry: ReleaseFile, path: Path) -> str | None:
    """Why ``path`` does not pass the check of ``entry`` (expected and actual digest), or ``None`` if it does.

    Files without a registered digest always pass.
    """
    if entry.sha256 is None:
        return None
    source = f"{entry.release}/{entry.name}"
    try:
        actual, shape = digest_of(path, entry.check, source)
    except DataError as err:  # unparsable: its numbers cannot be those registered
        return f"expected {_describe(entry.check)} {entry.sha256}, got a file that cannot be parsed ({err})"
    return None if actual == entry.sha256 else _expected_and_got(entry, actual, shape)


def _check(entry: ReleaseFile, path: Path) -> ChecksumError | None:
    reason = mismatch(entry, path)
    return None if reason is None else _error(entry, path, reason)


def verify(entry: ReleaseFile, path: Path) -> None:
    """Check ``path`` against the registered digest of ``entry`` (only warn if there is none).

    Raises:
        ChecksumError: the digest differs or the file cannot be parsed (the message names the file).
    """
    if entry.sha256 is None:
        warn_unverified(entry, path)
        return
    error = _check(entry, path)
    if error is not None:
        raise error


def matches(entry: ReleaseFile, path: Path) -> bool | None:
    """Whether ``path`` has the registered digest of ``entry``; ``None`` if none is registered."""
    if entry.sha256 is None:
        return None
    return _check(entry, path) is None
