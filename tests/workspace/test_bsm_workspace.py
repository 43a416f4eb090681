"""BSM workspaces: mu_bsm construction, bounds, linear POIs, PatchSets verified with pyhf's CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from cevns_hf.bsm.family import parse_hypothesis
from cevns_hf.cli import cli
from cevns_hf.detectors import csi2021
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.workspace import build as workspace
from cevns_hf.workspace.hypothesis import hypothesis_workspace, linear_workspace
from cevns_hf.workspace.patchset import build_patchset, patch_name

PYHF = str(Path(sys.executable).with_name("pyhf"))


def _expected_by_sample(spec: dict, values: dict[str, float]) -> tuple[pyhf.pdf.Model, np.ndarray]:
    model = pyhf.Workspace(spec).model()
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    for name, value in values.items():
        pars[model.config.par_slice(name)] = value
    return model, np.asarray(model.main_model.expected_data(pars, return_by_sample=True))


def test_mu_bsm_one_is_the_hypothesis_and_zero_the_sm() -> None:
    hyp = parse_hypothesis("nsi:eps_ee_u=0.1")
    spec = hypothesis_workspace(["csi2021"], hyp)
    bsm_total = csi2021.templates(hyp.model()).sample("cevns").total
    sm_total = csi2021.templates().sample("cevns").total
    for mu, expected in ((1.0, bsm_total), (0.0, sm_total)):
        model, by_sample = _expected_by_sample(spec, {"mu_bsm": mu})
        cevns = sum(by_sample[model.config.samples.index(s)].sum() for s in ("cevns", "bsm_cevns"))
        assert cevns == pytest.approx(expected, rel=1e-9)


def test_mu_bsm_bound_keeps_totals_non_negative() -> None:
    hyp = parse_hypothesis("nsi:eps_ee_u=0.3")  # a strong destructive change
    spec = hypothesis_workspace(["csi2021"], hyp)
    bounds = {p["name"]: p["bounds"][0] for p in spec["measurements"][0]["config"]["parameters"]}
    lo, hi = bounds["mu_bsm"]
    assert lo == 0.0
    assert hi >= 1.0
    _model, by_sample = _expected_by_sample(spec, {"mu_bsm": hi})
    assert np.all(by_sample.sum(axis=0) >= -1e-9)


def test_sm_hypothesis_has_nothing_to_test() -> None:
    with pytest.raises(ConfigurationError, match="Standard Model"):
        hypothesis_workspace(["csi2021"], parse_hypothesis("nsi"))


def test_linear_poi_workspace_is_exactly_linear() -> None:
    ref = parse_hypothesis("magnetic_moment:mu_nu_mu=5e-9")
    lin = linear_workspace(["csi2021"], ref, "mu_nu_mu_sq")
    assert lin.poi == "mu_nu_mu_sq"
    # POI value x corresponds to mu^2 = x * scale: check at mu = 3e-9
    model, by_sample = _expected_by_sample(lin.spec, {"mu_nu_mu_sq": (3e-9) ** 2 / lin.scale})
    ours = sum(by_sample[model.config.samples.index(s)].sum() for s in ("cevns", "bsm_cevns"))
    direct = csi2021.templates(parse_hypothesis("magnetic_moment:mu_nu_mu=3e-9").model()).sample("cevns").total
    assert ours == pytest.approx(direct, rel=1e-9)


def test_linear_poi_needs_the_other_couplings_at_zero() -> None:
    with pytest.raises(ConfigurationError, match="linear only"):
        linear_workspace(["csi2021"], parse_hypothesis("magnetic_moment:mu_nu_mu=5e-9,mu_nu_e=1e-9"), "mu_nu_mu_sq")
    with pytest.raises(ConfigurationError, match="valid choices"):
        linear_workspace(["csi2021"], parse_hypothesis("magnetic_moment:mu_nu_mu=5e-9"), "nope")


def test_patch_names_match_the_schema() -> None:
    assert patch_name({"mass_mev": 10.0, "g_nu": -1.5e-5}) == "mass_mev_10_g_nu_m1p5em05"


@pytest.mark.slow
def test_patchset_of_100_points_verifies_with_pyhf_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "grid"
    args = [
        "patchset",
        "--experiment", "csi2021+lar2020",
        "--family", "light_vector",
        "--grid", "mass_mev=1:1000:10", "--log", "mass_mev",
        "--grid", "g_nu=1e-6:1e-4:10", "--log", "g_nu",
        "--fixed", "g_q=1e-5",
        "--output", str(out),
    ]  # fmt: skip
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    bkg, ps = out / "BkgOnly.json", out / "patchset.json"
    assert len(json.loads(ps.read_text())["patches"]) == 100
    subprocess.run([PYHF, "patchset", "verify", str(bkg), str(ps)], check=True, capture_output=True)
    patchset = pyhf.PatchSet(json.loads(ps.read_text()))
    # the strongest change: the lightest mediator with the largest coupling (values = [mass, g_nu])
    strong = min(patchset.patches, key=lambda p: (p.values[0], -p.values[1]))
    assert strong.values == pytest.approx([1.0, 1e-4])
    patch_file = tmp_path / "patch.json"
    patch_file.write_text(json.dumps(patchset[strong.name].patch))
    cls = subprocess.run([PYHF, "cls", str(bkg), "-p", str(patch_file)], check=True, capture_output=True, text=True)
    # m = 1 MeV, g_nu g_q = 1e-9 changes the CsI + LAr CEvNS rates by O(1): excluded at 95% CL
    assert 0.0 <= json.loads(cls.stdout)["CLs_obs"] < 0.05
    # the background-only workspace alone is usable: its BSM sample is zero
    subprocess.run([PYHF, "fit", str(bkg)], check=True, capture_output=True)
    # refuses to overwrite
    again = runner.invoke(cli, args)
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output


def test_patchset_library_bad_grid() -> None:
    with pytest.raises(ConfigurationError, match="at least one parameter"):
        build_patchset(["csi2021"], "nsi", {})


def test_cli_workspace_with_hypothesis(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "ws.json"
    res = runner.invoke(
        cli, ["workspace", "--experiment", "csi2021", "--hypothesis", "nsi:eps_ee_u=0.05", "--output", str(out)]
    )
    assert res.exit_code == 0, res.output
    spec = json.loads(out.read_text())
    workspace.validate(spec)
    assert spec["measurements"][0]["config"]["poi"] == "mu_bsm"
    bad = runner.invoke(
        cli, ["workspace", "--experiment", "csi2021", "--hypothesis", "nsi:x=1", "--output", str(tmp_path / "b.json")]
    )
    assert bad.exit_code == 2
    assert "valid parameters" in bad.output
    assert not (tmp_path / "b.json").exists()


@pytest.mark.parametrize(
    "spec",
    [
        "weak_mixing:sin2_theta_w=0.25",
        "nsi:eps_ee_u=0.1",
        "magnetic_moment:mu_nu_e=1e-9",
        "light_scalar:mass_mev=10,g_nu=1e-5,g_q=1e-5",
    ],
)
def test_cli_predict_with_hypothesis(spec: str) -> None:
    res = CliRunner().invoke(cli, ["predict", "--experiment", "csi2021", "--hypothesis", spec, "--json"])
    assert res.exit_code == 0, res.output
    payload = json.loads(res.output)
    assert payload["hypothesis"] == str(parse_hypothesis(spec))
    assert payload["samples"]["cevns"] != pytest.approx(csi2021.templates().sample("cevns").total, rel=1e-6)
