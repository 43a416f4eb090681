"""Safe file output: write to a temporary file in the target directory, then rename.

A reader never sees a half-written file, an existing file (or a symlink, dangling or not) is never replaced
unless the caller asked for it (``overwrite=True``), and new files get the mode the umask gives (0o666 &
~umask), like any file a user creates, not mkstemp's private 0600. Every writer of the package goes through
here: JSON and text (:func:`atomic_write_text`), figures and ROOT files (:func:`atomic_output`, a temporary
path the caller's library writes to), and outputs of several files (:func:`atomic_directory`,
:class:`StagedOutputs`: staged in a hidden folder, moved into place only when complete).

Multi-file outputs. :func:`atomic_directory` writes a new folder as a whole (a temporary sibling folder
renamed into place, so an interrupted write leaves nothing); when the folder exists already its files are
checked first, then replaced one by one. :func:`staged_directory` does the same for files the caller writes
itself, piece by piece (large arrays filled as a computation goes on). :class:`StagedOutputs` (the main
job, whose output folder may be a project root holding other files) stages every file under
``<root>/.cevns-hf-staging-*/`` and moves them into place at :meth:`StagedOutputs.commit`, after checking
that no target exists (unless overwrite). An
interruption before the commit leaves the previous outputs untouched and removes the staging folder (a
``kill -9`` leaves the hidden folder, never a partial output in place); the remaining window is the commit
itself, a loop of renames within one file system (milliseconds), during which an interruption leaves some
files new and the others from the previous run.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from cevns_hf.exceptions import ConfigurationError, OutputExistsError

__all__ = [
    "StagedOutputs",
    "atomic_copy",
    "atomic_directory",
    "atomic_output",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_targets",
    "staged_directory",
]


def __dir__() -> list[str]:
    return __all__


def _umask_mode() -> int:
    """The mode a new regular file gets under the current umask (0o666 & ~umask)."""
    current = os.umask(0)
    os.umask(current)
    return 0o666 & ~current


def _occupied(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def check_targets(paths: Iterable[Path], overwrite: bool) -> None:
    """Refuse existing paths (files, or symlinks dangling or not) unless ``overwrite``; refuse a directory
    in the place of a file always. Nothing is created."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            msg = f"cannot write file {str(path)!r}: a directory of that name exists"
            raise ConfigurationError(msg)
        if _occupied(path) and not overwrite:
            msg = f"refusing to overwrite existing file {str(path)!r} (overwrite=False)"
            raise OutputExistsError(msg)


def _check_target(path: Path, overwrite: bool) -> None:
    check_targets([path], overwrite)
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


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """A temporary path (same directory and suffix as ``path``) for a library that writes files itself
    (matplotlib, uproot); renamed onto ``path`` when the block ends without an error, removed otherwise.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     with atomic_output(Path(d) / "a.txt") as tmp:
        ...         _ = tmp.write_text("x")
        ...     (Path(d) / "a.txt").read_text()
        'x'
    """
    target = Path(path)
    _check_target(target, overwrite)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=target.suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, _umask_mode())
        if not overwrite:
            check_targets([target], overwrite)  # created meanwhile by someone else
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, _umask_mode())


def atomic_directory(
    folder: str | os.PathLike[str], files: Mapping[str, bytes], *, overwrite: bool = False
) -> list[Path]:
    """Write ``files`` (name -> bytes) into ``folder`` as a whole.

    A new folder is written as a temporary sibling folder and renamed into place: an interruption leaves
    no folder, never a folder with some of the files. In an existing folder every target is checked first
    (:func:`check_targets`), the files are staged in a temporary sibling folder, then renamed in (the
    window between the renames is a few system calls).

    Returns:
        The paths written.
    """
    with staged_directory(folder, list(files), overwrite=overwrite) as stage:
        for name, data in files.items():
            _write_file(stage / name, data)
    return [Path(folder) / name for name in files]


@contextlib.contextmanager
def staged_directory(
    folder: str | os.PathLike[str], names: Sequence[str], *, overwrite: bool = False
) -> Iterator[Path]:
    """A temporary sibling folder of ``folder`` in which the caller writes the files ``names``.

    Everything is checked before the folder is created: ``folder`` must be a directory or absent, and no
    target may exist unless ``overwrite`` (:func:`check_targets`). When the block ends without an error,
    the staged folder becomes ``folder`` by one rename (a new folder appears complete or not at all), or its
    files are renamed into an existing ``folder`` one by one (targets checked again first); on an error the
    staged folder is removed, with any parent folder this call created, and ``folder`` is left as it was.
    Files the caller creates get the mode of the umask as usual; the folder gets 0o777 & ~umask.

    Args:
        folder: the output folder.
        names: the file names the block writes into the yielded folder (all of them must exist at the end).
        overwrite: replace existing files of those names in ``folder``.

    Yields:
        The staging folder (same file system as ``folder``).

    Raises:
        ConfigurationError: ``folder`` is not a directory, a target is a directory, or a file was not
            written.
        OutputExistsError: a target exists and ``overwrite`` is false.
    """
    target = Path(folder)
    if _occupied(target) and not target.is_dir():
        msg = f"cannot write into {str(target)!r}: it exists and is not a directory"
        raise ConfigurationError(msg)
    names = list(names)
    paths = [target / name for name in names]
    check_targets(paths, overwrite)
    created = [p for p in [target.parent, *target.parent.parents] if not _occupied(p)]
    target.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=target.parent))
    done = False
    try:
        yield stage
        missing = [name for name in names if not (stage / name).is_file()]
        if missing:
            msg = f"staged output {str(target)!r} is missing {missing}"
            raise ConfigurationError(msg)
        os.chmod(stage, 0o777 & ~_umask_complement())
        if not _occupied(target):
            try:
                os.rename(stage, target)
                done = True
                return
            except OSError:  # created meanwhile: write file by file below
                pass
        check_targets(paths, overwrite)
        for name in names:
            os.replace(stage / name, target / name)
        done = True
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        if not done:
            for parent in created:  # deepest first; only folders this call made, and only if empty
                with contextlib.suppress(OSError):
                    parent.rmdir()


def _umask_complement() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


class StagedOutputs:
    """Outputs of a job staged under ``<root>/.cevns-hf-staging-*/`` and moved into place at :meth:`commit`.

    Writers write to :meth:`path` (a fresh location in the staging folder, so they never meet an existing
    file); :meth:`commit` checks every target first (existing files and symlinks refused unless
    ``overwrite``; directories always), then renames the staged files into place; :meth:`discard` (and an
    error in a ``with`` block) removes the staging folder and leaves ``root`` as it was. See the module
    docstring for the remaining window.
    """

    def __init__(self, root: str | os.PathLike[str], *, overwrite: bool = False) -> None:
        self.root = Path(root)
        self.overwrite = overwrite
        self._created_root = not _occupied(self.root)
        if _occupied(self.root) and not self.root.is_dir():
            msg = f"cannot write into {str(self.root)!r}: it exists and is not a directory"
            raise ConfigurationError(msg)
        self.root.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=".cevns-hf-staging-", dir=self.root))

    def path(self, relative: str | os.PathLike[str]) -> Path:
        """Where to write the output ``root / relative`` until the commit (its folder is created)."""
        rel = Path(relative)
        if rel.is_absolute() or ".." in rel.parts:
            msg = f"staged outputs are relative paths inside the output folder, got {str(rel)!r}"
            raise ValueError(msg)
        staged = self.stage / rel
        staged.parent.mkdir(parents=True, exist_ok=True)
        return staged

    def staged(self) -> list[Path]:
        """The relative paths staged so far."""
        return sorted(p.relative_to(self.stage) for p in self.stage.rglob("*") if p.is_file() or p.is_symlink())

    def commit(self) -> list[Path]:
        """Move every staged file into place (all targets checked before the first move)."""
        rels = self.staged()
        check_targets([self.root / r for r in rels], self.overwrite)
        for rel in rels:
            (self.root / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.stage / rel, self.root / rel)
        self.discard()
        return [self.root / r for r in rels]

    def discard(self) -> None:
        """Remove the staging folder (and the output folder if this object created it and it is empty)."""
        shutil.rmtree(self.stage, ignore_errors=True)
        if self._created_root:
            with contextlib.suppress(OSError):
                self.root.rmdir()

    def __enter__(self) -> StagedOutputs:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self.discard()
