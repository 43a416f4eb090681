"""Safe file output: write to a temporary file in the target directory, then rename.

A reader never sees a half-written file, an existing file (or a symlink, dangling or not) is never replaced
unless the caller asked for it (``overwrite=True``), and new files get the mode the umask gives (0o666 &
~umask), like any file a user creates, not mkstemp's private 0600.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from cevns_hf.exceptions import OutputExistsError

__all__ = ["atomic_copy", "atomic_write_bytes", "atomic_write_text"]


def __dir__() -> list[str]:
    return __all__


def _umask_mode() -> int:
    """The mode a new regular file gets under the current umask (0o666 & ~umask)."""
    current = os.umask(0)
    os.umask(current)
    return 0o666 & ~current


def _check_target(path: Path, overwrite: bool) -> None:
    if (path.exists() or path.is_symlink()) and not overwrite:
        msg = f"refusing to overwrite existing file {str(path)!r} (overwrite=False)"
        raise OutputExistsError(msg)
    path.parent.mkdir(parents=True, exist_ok=True)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, overwrite: bool = False) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same directory + ``os.replace``).

    Args:
        path: destination.
        data: the bytes to write.
        overwrite: replace an existing file; otherwise :class:`OutputExistsError` is raised.

    Returns:
        The destination path.
    """
    target = Path(path)
    _check_target(target, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, _umask_mode())  # mkstemp creates 0600: shared outputs follow the umask instead
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically; see :func:`atomic_write_bytes`."""
    return atomic_write_bytes(path, text.encode("utf-8"), overwrite=overwrite)


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Copy ``src`` to ``dst`` through a temporary file in the destination directory."""
    target = Path(dst)
    _check_target(target, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.chmod(tmp, _umask_mode())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
