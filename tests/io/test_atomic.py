"""The one atomic-write helper: whole files or none, no silent overwrite, modes from the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cevns_hf.exceptions import OutputExistsError
from cevns_hf.io.atomic import atomic_copy, atomic_write_text


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_new_files_follow_the_umask(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        written = atomic_write_text(tmp_path / "a.json", "{}\n")
        copied = atomic_copy(written, tmp_path / "b.json")
    finally:
        os.umask(old)
    for path in (written, copied):
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_no_overwrite_without_permission_even_through_a_dangling_symlink(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    atomic_write_text(target, "first\n")
    with pytest.raises(OutputExistsError, match="overwrite=False"):
        atomic_write_text(target, "second\n")
    assert target.read_text() == "first\n"
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "missing.json")
    with pytest.raises(OutputExistsError):
        atomic_write_text(link, "x\n")
    assert link.is_symlink()
    assert not (tmp_path / "missing.json").exists()
    atomic_write_text(target, "second\n", overwrite=True)
    assert target.read_text() == "second\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "out.json"]  # no temporary left


def test_staged_directory_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    from cevns_hf.exceptions import ConfigurationError
    from cevns_hf.io.atomic import staged_directory

    target = tmp_path / "new" / "deeper" / "out"

    def interrupted() -> None:
        with staged_directory(target, ["a.bin", "b.json"]) as stage:
            (stage / "a.bin").write_bytes(b"1")
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        interrupted()
    assert list(tmp_path.iterdir()) == []  # no stage, no parent folder made by the call
    with pytest.raises(ConfigurationError, match="missing"), staged_directory(target, ["a.bin", "b.json"]) as stage:
        (stage / "a.bin").write_bytes(b"1")
    assert list(tmp_path.iterdir()) == []
    old = os.umask(0o027)
    try:
        with staged_directory(target, ["a.bin", "b.json"]) as stage:
            (stage / "a.bin").write_bytes(b"1")
            (stage / "b.json").write_text("{}")
    finally:
        os.umask(old)
    assert sorted(p.name for p in target.iterdir()) == ["a.bin", "b.json"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert sorted(p.name for p in target.parent.iterdir()) == ["out"]
    with pytest.raises(OutputExistsError), staged_directory(target, ["a.bin"]):
        pytest.fail("the block must not run")
    (target / "mine.txt").write_text("kept")
    with staged_directory(target, ["a.bin"], overwrite=True) as stage:
        (stage / "a.bin").write_bytes(b"2")
    assert (target / "a.bin").read_bytes() == b"2"
    assert (target / "mine.txt").read_text() == "kept"
    assert sorted(p.name for p in target.parent.iterdir()) == ["out"]
