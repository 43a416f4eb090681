"""The exported detector response folds a cross section back into the detector's own templates."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cevns_hf import detectors
from cevns_hf.cli import cli
from cevns_hf.detectors.export import fold, response_of
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import AR40, CS133, I127

NUCLEI = {"Cs133": CS133, "I127": I127, "Ar40": AR40}


@pytest.mark.parametrize("name", ["csi2021", "lar2020", "csi2017"])
def test_folding_the_sm_through_the_response_gives_the_template(name: str) -> None:
    det = detectors.get_detector(name)
    sm = StandardModel()

    def xs(e: np.ndarray, t: np.ndarray, target: str, flavour: str, process: str) -> np.ndarray:
        return sm.cevns(e, t, NUCLEI[target], flavour)

    folded = fold(response_of(det), xs)
    cevns = det.templates().sample("cevns").nominal
    if cevns.ndim == 3:  # LAr with F90: compare the (energy, time) projection
        cevns = cevns.sum(axis=1)
    if name != "lar2020":
        np.testing.assert_allclose(folded, cevns, rtol=1e-10, atol=1e-12)
    else:  # LAr's template is our CEvNS distributed over F90 as the release's: same total and shape in E x t
        np.testing.assert_allclose(folded.sum(), cevns.sum(), rtol=1e-10)


def test_response_file_from_the_command_line(tmp_path: Path) -> None:
    out = tmp_path / "r.npz"
    result = CliRunner().invoke(cli, ["response", "--experiment", "csi2021", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with np.load(out) as r:
        manifest = json.loads(str(r["manifest"]))
        sm = StandardModel()
        template = 0.0
        for ch in manifest["channels"]:
            if ch["process"] != "cevns":
                continue
            key = ch["key"]
            xs = sm.cevns(r[f"{key}/e_nu"], r[f"{key}/t_recoil"], NUCLEI[ch["target"]], ch["flavour"])
            template = template + np.outer(xs @ r[f"{key}/weights"][0], r[f"time/{ch['flavour']}"])
        np.testing.assert_allclose(template, detectors.templates("csi2021").sample("cevns").nominal, rtol=1e-10)
        np.testing.assert_allclose(r["energy_edges"], detectors.templates("csi2021").axes[0].edges)
