"""Options hold end to end: every file a command writes honours --without-es and --binning."""

from __future__ import annotations

import json
from pathlib import Path

import pyhf
from click.testing import CliRunner

from cevns_hf.cli import cli

MM = "magnetic_moment:mu_nu_mu=3e-9"


def _samples(spec: dict) -> set[str]:
    return {s["name"] for ch in spec["channels"] for s in ch["samples"]}


def _run(args: list[str]) -> str:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return result.output


def test_workspace_without_es_writes_no_es_sample(tmp_path: Path) -> None:
    sm, bsm, lin = tmp_path / "sm.json", tmp_path / "bsm.json", tmp_path / "lin.json"
    _run(["workspace", "--experiment", "csi2021", "--without-es", "-o", str(sm)])
    _run(["workspace", "--experiment", "csi2021", "--hypothesis", MM, "--without-es", "-o", str(bsm)])
    _run(
        [
            "workspace",
            "--experiment",
            "csi2021",
            "--hypothesis",
            MM,
            "--poi",
            "mu_nu_mu_sq",
            "--without-es",
            "-o",
            str(lin),
        ]
    )
    for path in (sm, bsm, lin):
        spec = json.loads(path.read_text())
        assert not _samples(spec) & {"es", "bsm_es"}, path.name
        pyhf.Workspace(spec).model()
    with_es = tmp_path / "with_es.json"
    _run(["workspace", "--experiment", "csi2021", "--hypothesis", MM, "-o", str(with_es)])
    assert {"es", "bsm_es"} <= _samples(json.loads(with_es.read_text()))  # the magnetic moment changes ES


def test_patchset_without_es_every_file(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    _run(
        [
            "patchset",
            "--experiment",
            "csi2021",
            "--family",
            "magnetic_moment",
            "--grid",
            "mu_nu_mu=1e-9:4e-9:2",
            "--without-es",
            "-o",
            str(out),
        ]
    )
    bkg = json.loads((out / "BkgOnly.json").read_text())
    assert not _samples(bkg) & {"es", "bsm_es"}
    patchset = json.loads((out / "patchset.json").read_text())
    assert patchset["metadata"]["without_es"] is True
    for patch in patchset["patches"]:
        assert all(op["value"]["name"] != "bsm_es" for op in patch["patch"])


def test_binning_fine_reaches_the_workspace_and_is_refused_where_meaningless(tmp_path: Path) -> None:
    fine = tmp_path / "fine.json"
    _run(["workspace", "--experiment", "csi2021", "--binning", "fine", "-o", str(fine)])
    spec = json.loads(fine.read_text())
    assert len(spec["observations"][0]["data"]) == 30 * 48
    result = CliRunner().invoke(cli, ["fit", "--experiment", "lar2020", "--binning", "fine", "--json"])
    assert result.exit_code == 2
    assert "--binning does not apply to --experiment lar2020" in result.output


def test_patchset_hepdata_record(tmp_path: Path) -> None:
    out = tmp_path / "grid"
    args = ["patchset", "--experiment", "csi2021", "--family", "magnetic_moment", "--grid", "mu_nu_mu=2e-9:4e-9:2"]
    _run([*args, "--hepdata-record", "ins2107613", "-o", str(out)])
    patchset = json.loads((out / "patchset.json").read_text())
    assert patchset["metadata"]["references"]["hepdata"] == "ins2107613"
    pyhf.PatchSet(patchset)  # the schema accepts it
    bad = CliRunner().invoke(cli, [*args, "--hepdata-record", "2107613", "-o", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "ins" in bad.output
    assert not (tmp_path / "bad").exists()
