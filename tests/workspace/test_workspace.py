"""Workspaces: schema validity, determinism, normsys and exact linear normalisations, and pyhf's own CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyhf
import pytest

from cevns_hf.detectors import csi2021, lar2020
from cevns_hf.workspace import build as workspace

PYHF = str(Path(sys.executable).with_name("pyhf"))


@pytest.fixture(scope="module")
def csi_spec() -> dict:
    return workspace.build_workspace([csi2021.templates()])


@pytest.fixture(scope="module")
def combined_spec() -> dict:
    return workspace.build_workspace([csi2021.templates(), lar2020.templates()])


def test_structure_and_modifiers(combined_spec: dict) -> None:
    assert set(combined_spec) == {"channels", "measurements", "observations", "version"}
    assert [c["name"] for c in combined_spec["channels"]] == ["csi2021", "lar2020"]
    model = pyhf.Workspace(combined_spec).model()
    assert model.config.poi_name == "mu_cevns"
    expected = {f"alpha_{k}" for k in range(8)} | {f"beta_{k}" for k in range(9)} | {"mu_cevns"}
    assert set(model.config.parameters) == expected
    csi = combined_spec["channels"][0]
    assert [s["name"] for s in csi["samples"]] == ["cevns", "es", "brn", "nin", "ssb"]
    cevns_mods = {m["name"] for m in csi["samples"][0]["modifiers"]}
    assert cevns_mods == {"mu_cevns", "alpha_0", "alpha_4", "alpha_5", "alpha_6", "alpha_7"}


def test_deterministic_json() -> None:
    a = workspace.dumps(workspace.build_workspace([lar2020.templates()]))
    b = workspace.dumps(workspace.build_workspace([lar2020.templates()]))
    assert a == b
    assert json.loads(a)["version"] == "1.0.0"


def test_normalisation_is_normsys_by_default(csi_spec: dict) -> None:
    """A normalisation is a normsys 1 +- sigma: exactly (1 + sigma theta) at theta = +-1, code4 elsewhere."""
    brn = csi_spec["channels"][0]["samples"][2]
    assert {"name": "alpha_1", "type": "normsys", "data": {"hi": 1.25, "lo": 0.75}} in brn["modifiers"]
    model = pyhf.Workspace(csi_spec).model()
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    nominal = model.main_model.expected_data(pars, return_by_sample=True)
    k_brn = model.config.samples.index("brn")
    for theta, factor in ((-1.0, 0.75), (1.0, 1.25), (-3.0, 0.75**3), (2.5, 1.25**2.5)):
        p = pars.copy()
        p[model.config.par_slice("alpha_1")] = theta
        shifted = model.main_model.expected_data(p, return_by_sample=True)
        np.testing.assert_allclose(shifted[k_brn], nominal[k_brn] * factor, rtol=1e-10)


def test_default_workspace_needs_no_bounds(combined_spec: dict) -> None:
    """normsys factors are positive for every theta: only the POI is configured; 100 % (beta_8) is 2 and 1/2."""
    assert [p["name"] for p in combined_spec["measurements"][0]["config"]["parameters"]] == ["mu_cevns"]
    dbrn = combined_spec["channels"][1]["samples"][3]
    assert dbrn["name"] == "dbrn"
    assert dbrn["modifiers"] == [{"name": "beta_8", "type": "normsys", "data": {"hi": 2.0, "lo": 0.5}}]


def test_linear_normalisation_is_exact() -> None:
    """The linear mirror: a symmetric histosys reproduces (1 + sigma theta) exactly, also far outside |theta| = 1."""
    model = pyhf.Workspace(workspace.build_workspace([csi2021.templates()], linear_norms=True)).model()
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    nominal = model.main_model.expected_data(pars, return_by_sample=True)
    k_brn = model.config.samples.index("brn")
    for theta in (-3.0, -0.4, 0.7, 2.5):
        p = pars.copy()
        p[model.config.par_slice("alpha_1")] = theta
        shifted = model.main_model.expected_data(p, return_by_sample=True)
        # exact up to the 12 significant digits the JSON keeps
        np.testing.assert_allclose(shifted[k_brn], nominal[k_brn] * (1 + 0.25 * theta), rtol=1e-10)


def test_linear_mirror_bounds_keep_yields_non_negative() -> None:
    spec = workspace.build_workspace([csi2021.templates(), lar2020.templates()], linear_norms=True)
    params = {p["name"]: p for p in spec["measurements"][0]["config"]["parameters"]}
    assert params["beta_8"]["bounds"][0][0] == pytest.approx(-1.0)  # 100 % delayed-BRN uncertainty
    assert params["alpha_1"]["bounds"][0][0] == pytest.approx(-4.0)  # 25 % BRN uncertainty


def test_invalid_input_is_rejected() -> None:
    from cevns_hf.exceptions import ConfigurationError

    tmpl = lar2020.templates()
    with pytest.raises(ConfigurationError, match="at least one"):
        workspace.build_workspace([])
    with pytest.raises(ConfigurationError, match="once"):
        workspace.build_workspace([tmpl, tmpl])


@pytest.mark.slow
def test_pyhf_cli_on_written_workspace(tmp_path: Path, combined_spec: dict) -> None:
    path = tmp_path / "ws.json"
    path.write_text(workspace.dumps(combined_spec))
    inspect = subprocess.run([PYHF, "inspect", str(path)], capture_output=True, text=True, check=True)
    assert "mu_cevns" in inspect.stdout
    fit = json.loads(
        subprocess.run([PYHF, "fit", "--value", str(path)], capture_output=True, text=True, check=True).stdout
    )
    assert np.isfinite(fit["twice_nll"])
    cls = json.loads(subprocess.run([PYHF, "cls", str(path)], capture_output=True, text=True, check=True).stdout)
    # mu_cevns = 1 (the SM) is compatible with the data: CLs well above 0.05
    assert 0.05 < cls["CLs_obs"] <= 1.0
    assert len(cls["CLs_exp"]) == 5


def _fit(spec: dict) -> tuple[float, float]:
    """pyhf's free fit: (twice_nll, POI)."""
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))
    ws = pyhf.Workspace(spec)
    model = ws.model()
    pars, twice_nll = pyhf.infer.mle.fit(ws.data(model), model, return_fitted_val=True)
    return float(twice_nll), float(pars[model.config.poi_index])


@pytest.mark.slow
def test_xml_round_trip_keeps_the_fit(tmp_path: Path, combined_spec: dict) -> None:
    """``pyhf json2xml`` then ``pyhf xml2json`` (HistFactory XML + ROOT through uproot): the default workspace
    needs no parameter bounds, so nothing is lost and the fit is the same. The linear mirror's bounds
    (alpha_1 >= -4, beta_8 >= -1 ...) do not survive the round trip."""
    (tmp_path / "ws.json").write_text(workspace.dumps(combined_spec))
    (tmp_path / "xml").mkdir()
    for command in (
        ["json2xml", "ws.json", "--output-dir", "xml"],
        ["xml2json", "xml/FitConfig.xml", "--basedir", ".", "--output-file", "back.json"],
    ):
        subprocess.run([PYHF, *command], capture_output=True, text=True, check=True, cwd=tmp_path)
    back = json.loads((tmp_path / "back.json").read_text())
    kept = {p["name"] for p in back["measurements"][0]["config"]["parameters"]}
    assert kept == {"mu_cevns", "lumi"}  # xml2json adds a fixed lumi that no sample uses
    (nll, mu), (nll_back, mu_back) = _fit(combined_spec), _fit(back)
    assert abs(nll_back - nll) < 1e-6
    assert mu_back == pytest.approx(mu, abs=1e-6)


def test_cli_linear_norms_flag(tmp_path: Path) -> None:
    """``cevns-hf workspace`` writes normsys by default and the bounded linear mirror with --linear-norms."""
    from click.testing import CliRunner

    from cevns_hf.cli import cli

    runner = CliRunner()
    for flag, kind in (([], "normsys"), (["--linear-norms"], "histosys")):
        out = tmp_path / f"ws{len(flag)}.json"
        result = runner.invoke(cli, ["workspace", "--experiment", "lar2020", "-o", str(out), *flag])
        assert result.exit_code == 0, result.output
        spec = json.loads(out.read_text())
        dbrn = next(s for s in spec["channels"][0]["samples"] if s["name"] == "dbrn")
        assert dbrn["modifiers"][0]["type"] == kind
        names = {p["name"] for p in spec["measurements"][0]["config"]["parameters"]}
        assert ("beta_8" in names) == bool(flag)
