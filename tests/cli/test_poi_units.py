"""One POI convention across commands, stored next to every workspace written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cevns_hf.bsm.family import Hypothesis
from cevns_hf.cli import cli
from cevns_hf.workspace.hypothesis import linear_workspace


@pytest.mark.parametrize("value", [3e-9, 5e-9])
def test_linear_poi_unit_does_not_depend_on_the_reference_point(value: float) -> None:
    lw = linear_workspace("csi2021", Hypothesis.from_mapping("magnetic_moment", {"mu_nu_mu": value}), "mu_nu_mu_sq")
    assert lw.unit == "1e-18 mu_B^2"
    assert lw.scale == 1e-18


def test_every_workspace_has_a_poi_sidecar(tmp_path: Path) -> None:
    runner = CliRunner()
    cases = {
        "sm": ([], "mu_cevns"),
        "bsm": (["--hypothesis", "magnetic_moment:mu_nu_mu=5e-9"], "mu_bsm"),
        "lin": (["--hypothesis", "magnetic_moment:mu_nu_mu=5e-9", "--poi", "mu_nu_mu_sq"], "mu_nu_mu_sq"),
    }
    for name, (extra, poi) in cases.items():
        out = tmp_path / f"{name}.json"
        result = runner.invoke(cli, ["workspace", "--experiment", "csi2021", *extra, "-o", str(out)])
        assert result.exit_code == 0, result.output
        info = json.loads((tmp_path / f"{name}.poi.json").read_text())
        spec = json.loads(out.read_text())
        assert info["poi"] == poi == spec["measurements"][0]["config"]["poi"]
        assert info["experiments"] == "csi2021"
    lin = json.loads((tmp_path / "lin.poi.json").read_text())
    assert (lin["unit"], lin["scale"]) == ("mu_B^2", 1e-18)
    # the sidecar is refused like the workspace without --force
    again = runner.invoke(cli, ["workspace", "--experiment", "csi2021", "-o", str(tmp_path / "sm.json")])
    assert again.exit_code == 2
