"""A detector from outside the package (tests/detectors/toy_detector.py), registered at run time, goes through
the public API and the command line -- workspace, fit, scan, limit -- without editing any package file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis
from cevns_hf.cli import cli
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import fit as infer
from cevns_hf.inference.scan import profile_scan
from cevns_hf.physics.constants import SIN2_THETA_W
from cevns_hf.workspace import build_workspace
from cevns_hf.workspace.hypothesis import hypothesis_workspace

from .toy_detector import DETECTOR as TOY


@pytest.fixture
def toy() -> Iterator[detectors.Detector]:
    detectors.register(TOY)
    yield TOY
    detectors.unregister(TOY.name)


def test_registration_is_checked(toy: detectors.Detector) -> None:
    assert detectors.get_detector("toy_csi1kg") is toy
    assert [d.name for d in detectors.resolve("csi2021+toy_csi1kg")] == ["csi2021", "toy_csi1kg"]
    with pytest.raises(ConfigurationError, match="already registered"):
        detectors.register(TOY)
    with pytest.raises(ConfigurationError, match="cannot be removed"):
        detectors.unregister("csi2021")
    with pytest.raises(ConfigurationError, match="Detector"):
        detectors.register("csi2021")  # type: ignore[arg-type]


def test_unregistered_toy_is_refused_with_the_choices() -> None:
    with pytest.raises(ConfigurationError, match=r"unknown experiment 'toy_csi1kg'.*csi2017, csi2021, lar2020"):
        detectors.resolve("toy_csi1kg")


def test_toy_physics_is_a_small_csi_detector(toy: detectors.Detector) -> None:
    tmpl = toy.templates()
    n_cevns = tmpl.totals()["cevns"]
    # 14.6 kg at 19.3 m with the real response gives ~324 events; 1 kg at 20 m with 80 % flat efficiency
    # above 0.5 keVee (~6 keVnr) must be a few tens of events
    assert 10.0 < n_cevns < 60.0
    assert tmpl.observed.sum() == pytest.approx(n_cevns + 32.0, abs=8)


def test_workspace_fit_and_scan_through_the_api(toy: detectors.Detector) -> None:
    spec = build_workspace([toy.templates()])
    fit = infer.fit(spec)
    value, error = fit.parameters["mu_cevns"]
    assert value == pytest.approx(1.0, abs=0.15)  # rounded Asimov data
    assert 0.1 < error < 1.0
    hyp = Hypothesis.from_mapping("weak_mixing", {"sin2_theta_w": 0.30})
    ws = pyhf.Workspace(hypothesis_workspace("toy_csi1kg", hyp))
    assert ws.channels == ["toy_csi1kg"]
    scan = profile_scan("toy_csi1kg", "weak_mixing", {"sin2_theta_w": np.linspace(0.15, 0.35, 21)})
    assert scan.best_fit["sin2_theta_w"] == pytest.approx(SIN2_THETA_W, abs=0.025)
    assert np.all(scan.converged)


def test_command_line_accepts_the_registered_toy(toy: detectors.Detector, tmp_path: Path) -> None:
    runner = CliRunner()
    fit = runner.invoke(cli, ["fit", "--experiment", "toy_csi1kg", "--json"])
    assert fit.exit_code == 0, fit.output
    assert json.loads(fit.output)["experiment"] == "toy_csi1kg"
    out = tmp_path / "ws.json"
    ws = runner.invoke(cli, ["workspace", "--experiment", "toy_csi1kg", "--output", str(out)])
    assert ws.exit_code == 0, ws.output
    assert pyhf.Workspace(json.loads(out.read_text())).channels == ["toy_csi1kg"]
    scan = runner.invoke(
        cli,
        [
            "scan",
            "--experiment",
            "toy_csi1kg",
            "--hypothesis-family",
            "weak_mixing",
            "--grid",
            "sin2_theta_w=0.15:0.35:11",
            "--json",
        ],
    )
    assert scan.exit_code == 0, scan.output
    assert json.loads(scan.output)["experiments"] == ["toy_csi1kg"]


def test_command_line_refuses_an_unknown_experiment_with_the_choices() -> None:
    result = CliRunner().invoke(cli, ["fit", "--experiment", "germanium", "--json"])
    assert result.exit_code == 2
    assert "unknown experiment 'germanium'" in result.output
    assert "csi2017, csi2021, lar2020" in result.output
