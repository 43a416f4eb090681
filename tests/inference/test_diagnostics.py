"""Diagnostics through cabinetry: fit, figures on physical axes, bands, and the files written."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cevns_hf import detectors
from cevns_hf.cli import cli
from cevns_hf.inference.diagnostics import diagnose
from cevns_hf.workspace import build_workspace


def test_projections_are_physical_and_consistent() -> None:
    tmpl = detectors.templates("csi2021")
    result = diagnose([tmpl], build_workspace([tmpl]), ranking=False)
    by_axis = {p.axis: p for p in result.projections}
    assert set(by_axis) == {"energy", "time"}
    for p in by_axis.values():
        np.testing.assert_allclose(p.edges, next(a.edges for a in tmpl.axes if a.name == p.axis))
        assert p.observed.sum() == tmpl.observed.sum()
        np.testing.assert_allclose(sum(p.postfit_samples.values()), p.postfit, rtol=1e-9)
        assert np.all(p.postfit_sigma > 0)
        assert np.all(p.prefit_sigma > 0)
        # the fit pulls the model towards the data: the post-fit total is closer to the observed total
        assert abs(p.postfit.sum() - p.observed.sum()) <= abs(p.prefit.sum() - p.observed.sum()) + 1e-6


def test_diagnostics_command_writes_png_pdf_and_json(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(cli, ["diagnostics", "--experiment", "csi2021", "--no-ranking", "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "diagnostics.json").read_text())
    assert "mu_cevns" in summary["best_fit"]
    for name in ("pulls", "correlation", "csi2021_energy_postfit", "csi2021_time_prefit"):
        assert (tmp_path / f"{name}.png").stat().st_size > 1000
        assert (tmp_path / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    again = runner.invoke(cli, ["diagnostics", "--experiment", "csi2021", "--no-ranking", "-o", str(tmp_path)])
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output


def test_cabinetry_limit_works_with_a_sensible_poi_bound() -> None:
    from cevns_hf.bsm.family import Hypothesis
    from cevns_hf.inference.diagnostics import cabinetry_limit
    from cevns_hf.workspace.hypothesis import linear_workspace

    lw = linear_workspace("csi2021", Hypothesis.from_mapping("magnetic_moment", {"mu_nu_mu": 3e-9}), "mu_nu_mu_sq")
    result, ours = cabinetry_limit(lw.spec, cl=0.95)
    assert result.observed_limit == pytest.approx(ours, rel=0.01)
