"""Outputs people can share: ``-o -`` to stdout, one line on Ctrl-C or a closed/full stdout, staged
multi-file outputs (an interrupted run or patchset leaves nothing), ``--force`` for every file and symlink."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from cevns_hf.cli import cli
from cevns_hf.io.atomic import StagedOutputs, atomic_directory
from cevns_hf.workspace.patchset import patch_names

SMALL = """
version: 1
sm_fits: [csi2021]
scans:
  - name: wm
    family: weak_mixing
    experiment: csi2021
    grid:
      sin2_theta_w: {lo: 0.15, hi: 0.35, n: 5}
"""


def _interrupt(*args: Any, **kwargs: Any) -> Any:
    raise KeyboardInterrupt


def test_workspace_to_stdout(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["workspace", "--experiment", "csi2021", "-o", "-"])
    assert result.exit_code == 0, result.output
    spec = json.loads(result.stdout)
    assert spec["measurements"][0]["config"]["poi"] == "mu_cevns"
    assert not list(tmp_path.iterdir())
    assert not Path("-").exists()


def test_scan_to_stdout() -> None:
    args = ["scan", "--experiment", "csi2021", "--hypothesis-family", "weak_mixing", "--grid", "sin2_theta_w=0.2:0.3:3"]
    result = CliRunner().invoke(cli, [*args, "-o", "-"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["delta_chi2"]) == 3
    assert not Path("-").exists()


def test_ctrl_c_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cevns_hf.templates.predict.predict", _interrupt)
    result = CliRunner().invoke(cli, ["predict", "--experiment", "csi2021"])
    assert result.exit_code == 130
    assert result.output.strip() == "Interrupted."


@pytest.mark.parametrize(("err", "text"), [(errno.EPIPE, "standard output was closed"), (errno.ENOSPC, "no space")])
def test_full_or_closed_stdout_is_one_line(monkeypatch: pytest.MonkeyPatch, err: int, text: str) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise OSError(err, "simulated")

    monkeypatch.setattr(click, "echo", broken)
    result = CliRunner().invoke(cli, ["detectors"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error:")
    assert text in lines[0]


def test_interrupted_run_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    monkeypatch.setattr("cevns_hf.inference.scan.profile_scan", _interrupt)
    out = tmp_path / "project"
    out.mkdir()
    (out / "README.md").write_text("mine\n")
    result = CliRunner().invoke(cli, ["run", "--config", str(config), "--output-dir", str(out), "--no-plots"])
    assert result.exit_code == 130
    assert sorted(p.name for p in out.rglob("*")) == ["README.md"]  # no staging folder, no partial output


def test_staged_outputs_commit_and_refuse(tmp_path: Path) -> None:
    with StagedOutputs(tmp_path, overwrite=False) as st:
        st.path("a/b.txt").write_text("new")
        assert not (tmp_path / "a").exists()
        st.commit()
    assert (tmp_path / "a" / "b.txt").read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["a"]
    (tmp_path / "c.txt").symlink_to(tmp_path / "nowhere")
    with StagedOutputs(tmp_path) as st:
        st.path("a/b.txt").write_text("newer")
        st.path("c.txt").write_text("x")
        with pytest.raises(FileExistsError):
            st.commit()
    assert (tmp_path / "a" / "b.txt").read_text() == "new"  # nothing moved: every target checked first
    assert (tmp_path / "c.txt").is_symlink()


def test_atomic_directory_new_folder_appears_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cevns_hf.io import atomic

    calls = {"n": 0}
    real = atomic._write_file

    def flaky(path: Path, data: bytes) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real(path, data)

    monkeypatch.setattr(atomic, "_write_file", flaky)
    with pytest.raises(KeyboardInterrupt):
        atomic_directory(tmp_path / "grid", {"BkgOnly.json": b"{}", "patchset.json": b"{}"})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(atomic, "_write_file", real)
    atomic_directory(tmp_path / "grid", {"BkgOnly.json": b"{}", "patchset.json": b"{}"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid"]
    with pytest.raises(FileExistsError):
        atomic_directory(tmp_path / "grid", {"BkgOnly.json": b"[]", "patchset.json": b"[]"})
    atomic_directory(tmp_path / "grid", {"BkgOnly.json": b"[]", "patchset.json": b"[]"}, overwrite=True)
    assert (tmp_path / "grid" / "BkgOnly.json").read_bytes() == b"[]"


def test_plots_honour_force_and_symlinks(tmp_path: Path) -> None:
    from cevns_hf import detectors
    from cevns_hf.visualize.plots import plot_projections

    tmpl = detectors.templates("csi2021")
    fitted = {s.name: s.nominal for s in tmpl.samples}
    target = tmp_path / "p.png"
    target.symlink_to(tmp_path / "elsewhere.png")
    with pytest.raises(FileExistsError):
        plot_projections(tmpl, fitted, target)
    assert target.is_symlink()
    assert not (tmp_path / "elsewhere.png").exists()
    plot_projections(tmpl, fitted, target, overwrite=True)
    assert not target.is_symlink()
    assert target.stat().st_size > 1000


def test_patch_names_unique_by_construction() -> None:
    points = [{"g": 1.0 + i * 1e-9} for i in range(5)]
    names = patch_names(points)
    assert len(set(names)) == 5
    assert patch_names([{"m": 1.0, "g": 1e-4}]) == ["m_1_g_0p0001"]
    assert len(set(patch_names([{"g": 1.0}, {"g": 1.0}]))) == 2  # repeated points: an index suffix
