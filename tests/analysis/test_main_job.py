"""The main job as a user runs it: every file it writes, then `pyhf cls` on every BSM workspace it wrote."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pyhf
import pytest
from click.testing import CliRunner

from cevns_hf.analysis.config import default_config
from cevns_hf.cli import cli


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("main_job")
    result = CliRunner().invoke(cli, ["run", "--output-dir", str(out), "--no-plots"])
    assert result.exit_code == 0, result.output
    return out


def _pyhf_cli() -> list[str]:
    exe = shutil.which("pyhf", path=str(Path(sys.executable).parent))
    return [exe] if exe else [sys.executable, "-m", "pyhf"]


def test_every_bsm_workspace_is_informative_under_pyhf_cls(run_dir: Path) -> None:
    scans = {s["name"]: s for s in default_config()["scans"]}
    written = sorted(p for p in (run_dir / "workspaces").glob("bsm_*.json") if not p.name.endswith(".poi.json"))
    assert {p.stem.removeprefix("bsm_") for p in written} == set(scans)
    for path in written:
        scan = scans[path.stem.removeprefix("bsm_")]
        spec = json.loads(path.read_text())
        assert json.loads(path.with_name(path.stem + ".poi.json").read_text())["poi"] == "mu_bsm"  # the sidecar
        samples = {s["name"] for ch in spec["channels"] for s in ch["samples"]}
        if scan.get("without_es"):  # the option holds in the file
            assert not samples & {"es", "bsm_es"}, path.name
        proc = subprocess.run([*_pyhf_cli(), "cls", str(path)], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, (path.name, proc.stderr[-2000:])
        cls = json.loads(proc.stdout)
        assert 0.0 <= cls["CLs_obs"] < 0.999, (path.name, cls)  # a real test, not CLs = 1 by construction


def test_results_page_reports_only_exact_intervals(run_dir: Path) -> None:
    results = json.loads((run_dir / "results" / "results.json").read_text())
    for name, scan in results["scans"].items():
        if len(scan["parameters"]) != 1:
            continue
        exact = scan["exact"]
        assert exact["precision"] < exact["tolerance"], name
        assert exact["unresolved"] == [], name
        assert scan["intervals"] == exact["intervals"], name
    page = (run_dir / "docs" / "results.md").read_text()
    assert "not resolved" not in page
    assert "neutron radius (common Cs/I), CsI 2017 data" in page
    assert pyhf.Workspace(json.loads((run_dir / "workspaces" / "csi2021.json").read_text())).channels == ["csi2021"]
