"""Workspaces: schema validity, determinism, exact linear normalisations, and pyhf's own CLI."""

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


def test_linear_normalisation_is_exact(csi_spec: dict) -> None:
    """A symmetric histosys reproduces (1 + sigma theta) exactly, also far outside |theta| = 1."""
    model = pyhf.Workspace(csi_spec).model()
    pars = np.asarray(model.config.suggested_init(), dtype=float)
    nominal = model.main_model.expected_data(pars, return_by_sample=True)
    k_brn = model.config.samples.index("brn")
    for theta in (-3.0, -0.4, 0.7, 2.5):
        p = pars.copy()
        p[model.config.par_slice("alpha_1")] = theta
        shifted = model.main_model.expected_data(p, return_by_sample=True)
        # exact up to the 12 significant digits the JSON keeps
        np.testing.assert_allclose(shifted[k_brn], nominal[k_brn] * (1 + 0.25 * theta), rtol=1e-10)


def test_bounds_keep_yields_non_negative(combined_spec: dict) -> None:
    params = {p["name"]: p for p in combined_spec["measurements"][0]["config"]["parameters"]}
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
