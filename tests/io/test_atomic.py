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
