"""The main job: configuration validation and a small end-to-end run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cevns_hf.analysis.config import default_config, load_config
from cevns_hf.cli import cli
from cevns_hf.exceptions import ConfigurationError

SMALL = """
version: 1
sm_fits: [csi2021]
scans:
  - name: weak_mixing
    family: weak_mixing
    experiment: csi2021
    grid:
      sin2_theta_w: {lo: 0.15, hi: 0.35, n: 9}
  - name: nsi_plane
    family: nsi
    experiment: csi2021
    grid:
      eps_ee_u: {lo: -0.3, hi: 0.5, n: 5}
      eps_ee_d: {lo: -0.3, hi: 0.5, n: 4}
patchsets:
  - name: mm
    family: magnetic_moment
    experiment: csi2021
    grid:
      mu_nu_mu: {lo: 1.0e-9, hi: 5.0e-9, n: 3}
"""


def test_embedded_configuration_is_valid() -> None:
    config = default_config()
    names = {s["name"] for s in config["scans"]}
    assert {"weak_mixing", "neutron_radius", "nsi_ee", "light_vector", "light_scalar", "sterile"} <= names
    assert {"magnetic_moment_e", "magnetic_moment_mu", "charge_radius_ee", "millicharge_ee"} <= names


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("version: 2\nscans: []\n", "at version"),
        (
            "version: 1\nscans: [{name: a, family: nsi, experiment: xyz, grid: {eps_ee_u: {lo: 0, hi: 1, n: 3}}}]\n",
            "scans/0/experiment",
        ),
        (
            "version: 1\nscans: [{name: a, family: nsi, experiment: csi2021, grid: {eps_xx: {lo: 0, hi: 1, n: 3}}}]\n",
            "no parameter 'eps_xx'",
        ),
        (
            "version: 1\nscans: [{name: a, family: nope, experiment: csi2021, grid: {x: {lo: 0, hi: 1, n: 3}}}]\n",
            "unknown hypothesis family",
        ),
        (
            "version: 1\nscans: [{name: a, family: nsi, experiment: csi2021, grid: {eps_ee_u: {lo: 0, hi: 1}}}]\n",
            "'n' is a required",
        ),
        ("version: 1\nbogus: 1\nscans: []\n", "Additional properties"),
        ("version: [1\n", "not valid YAML"),
    ],
)
def test_bad_configuration_is_a_clear_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=match):
        load_config(path)


def test_missing_configuration_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.slow
def test_small_run_end_to_end(tmp_path: Path) -> None:
    config = tmp_path / "small.yaml"
    config.write_text(SMALL)
    runner = CliRunner()
    out = tmp_path / "out"
    result = runner.invoke(cli, ["run", "--config", str(config), "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    results = json.loads((out / "results" / "results.json").read_text())
    assert results["fits"]["csi2021"]["cevns_events"]["csi2021"]["value"] == pytest.approx(309.82, abs=0.1)
    scan = results["scans"]["weak_mixing"]
    assert min(scan["delta_chi2"]) == pytest.approx(0.0, abs=1e-9)
    assert len(scan["grid"]["sin2_theta_w"]) == 9
    assert (out / "workspaces" / "csi2021.json").exists()
    assert (out / "workspaces" / "bsm_weak_mixing.json").exists()
    assert (out / "patchsets" / "mm" / "patchset.json").exists()
    assert (out / "results" / "plots" / "scan_nsi_plane.png").stat().st_size > 1000
    assert (out / "results" / "plots" / "sm_fit_csi2021.png").stat().st_size > 1000
    page = (out / "docs" / "results.md").read_text()
    assert "306 +- 20" in page
    assert "weak_mixing" in page or "weak mixing" in page
    # a second run refuses to overwrite without --force, and leaves the outputs intact
    again = runner.invoke(cli, ["run", "--config", str(config), "--output-dir", str(out)])
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output
    assert json.loads((out / "results" / "results.json").read_text()) == results
