"""ROOT templates out (cevns-hf templates): names, edges, titles, variances, every variation, the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import uproot
from click.testing import CliRunner

from cevns_hf import detectors
from cevns_hf.cli import cli
from cevns_hf.io.root import read_histograms


def test_templates_command_writes_every_histogram_with_titles_and_variances(tmp_path: Path) -> None:
    out = tmp_path / "t.root"
    result = CliRunner().invoke(cli, ["templates", "--experiment", "csi2021+lar2020", "--lar-f90", "-o", str(out)])
    assert result.exit_code == 0, result.output
    csi = detectors.templates("csi2021")
    with uproot.open(out) as f:
        manifest = json.loads(str(f["manifest"]))
        assert set(manifest["channels"]) == {"csi2021", "lar2020"}
        h = f["csi2021/cevns"]
        assert h.classname == "TH2D"
        assert "cevns" in h.title
        np.testing.assert_allclose(h.values(), csi.sample("cevns").nominal, rtol=1e-12)
        np.testing.assert_allclose(h.axis(0).edges(), csi.axes[0].edges)
        np.testing.assert_allclose(h.axis(1).edges(), csi.axes[1].edges)
        assert h.member("fXaxis").member("fTitle") == "energy [PE]"
        assert h.member("fYaxis").member("fTitle") == "time [us]"
        assert np.all(h.variances() == 0.0)  # templates are expectations
        data = f["csi2021/data"]
        np.testing.assert_allclose(data.variances(), csi.observed)
        # a normalisation variation is written too, not only the shapes
        up = f["csi2021/ssb_alpha_3_up"].values()
        sigma = csi.sample("ssb").norms["alpha_3"]
        np.testing.assert_allclose(up, csi.sample("ssb").nominal * (1 + sigma), rtol=1e-10)  # factor to 12 digits
        alpha_3 = manifest["channels"]["csi2021"]["samples"]["ssb"]["systematics"]["alpha_3"]
        assert alpha_3["kind"] == "normsys"
        assert alpha_3["factors"] == pytest.approx([1 + sigma, 1 - sigma])
        lar = f["lar2020/cevns"]
        assert lar.classname == "TH3D"
        assert lar.values().shape == (12, 8, 10)
        assert lar.member("fYaxis").member("fTitle") == "f90"
    names = read_histograms(out)
    expected = {"csi2021/data", "csi2021/cevns", "csi2021/es", "lar2020/data", "lar2020/cevns"}
    assert expected <= set(names)


def test_templates_without_es_and_no_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "t.root"
    runner = CliRunner()
    assert runner.invoke(cli, ["templates", "--experiment", "csi2021", "--without-es", "-o", str(out)]).exit_code == 0
    assert not any(k.startswith("csi2021/es") for k in read_histograms(out))
    before = out.read_bytes()
    again = runner.invoke(cli, ["templates", "--experiment", "csi2021", "-o", str(out)])
    assert again.exit_code == 2
    assert "refusing to overwrite" in again.output
    assert out.read_bytes() == before


def _write_hist(path: Path, key: str, values: np.ndarray, x_edges: np.ndarray, y_edges: np.ndarray) -> None:
    with uproot.recreate(path) as f:
        f[key] = (values, x_edges, y_edges)


def test_user_template_from_root_replaces_a_sample_in_workspace_and_fit(tmp_path: Path) -> None:
    csi = detectors.templates("csi2021")
    ssb = csi.sample("ssb").nominal * 1.1
    edges = [np.asarray(a.edges) for a in csi.axes]
    user = tmp_path / "user.root"
    _write_hist(user, "my_ssb", ssb, *edges)
    out = tmp_path / "ws.json"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["workspace", "--experiment", "csi2021", "--template", f"ssb={user}:my_ssb", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    spec = json.loads(out.read_text())
    written = next(s for s in spec["channels"][0]["samples"] if s["name"] == "ssb")
    np.testing.assert_allclose(written["data"], ssb.ravel(), rtol=1e-11)
    fit = runner.invoke(
        cli, ["fit", "--experiment", "csi2021+lar2020", "--template", f"csi2021/ssb={user}:my_ssb", "--json"]
    )
    assert fit.exit_code == 0, fit.output
    # a wrong binning is refused with both binnings in the message, and nothing is written
    _write_hist(tmp_path / "bad.root", "h", np.ones((3, 2)), np.array([0.0, 1, 2, 3]), np.array([0.0, 1, 2]))
    bad = runner.invoke(
        cli,
        [
            "workspace",
            "--experiment",
            "csi2021",
            "--template",
            f"ssb={tmp_path / 'bad.root'}:h",
            "-o",
            str(tmp_path / "x.json"),
        ],
    )
    assert bad.exit_code == 2
    assert "bin edges" in bad.output
    assert not (tmp_path / "x.json").exists()
    missing = runner.invoke(cli, ["fit", "--experiment", "csi2021", "--template", f"ssb={user}:nope", "--json"])
    assert missing.exit_code == 2
    assert "my_ssb" in missing.output  # lists the histograms in the file
    signal = runner.invoke(
        cli,
        [
            "workspace",
            "--experiment",
            "csi2021",
            "--hypothesis",
            "nsi:eps_ee_u=0.1",
            "--template",
            f"cevns={user}:my_ssb",
            "-o",
            str(tmp_path / "y.json"),
        ],
    )
    assert signal.exit_code == 2
    assert "cannot follow" in signal.output


def test_data_ntuple_bins_a_users_tree_and_feeds_a_fit(tmp_path: Path) -> None:
    csi = detectors.templates("csi2021")
    rng = np.random.default_rng(7)
    pe = rng.uniform(0.0, 70.0, 3000)  # some beyond the 60 PE region
    t = rng.exponential(2.0, 3000)
    events = tmp_path / "events.root"
    with uproot.recreate(events) as f:
        tree = f.mktree("tree", {"pe": "f8", "t_us": "f8"})  # a TTree, as experiments write them
        tree.extend({"pe": pe, "t_us": t})
    out = tmp_path / "binned.root"
    runner = CliRunner()
    args = ["data", "ntuple", "--experiment", "csi2021", "--input", f"{events}:tree", "--branches", "pe,t_us"]
    result = runner.invoke(cli, [*args, "-o", str(out)])
    assert result.exit_code == 0, result.output
    expected, _, _ = np.histogram2d(pe, t, bins=[np.asarray(a.edges) for a in csi.axes])
    with uproot.open(out) as f:
        np.testing.assert_array_equal(f["data"].values(), expected)
    fit = runner.invoke(cli, ["fit", "--experiment", "csi2021", "--template", f"data={out}:data", "--json"])
    assert fit.exit_code == 0, fit.output
    bad = runner.invoke(cli, [*args[:-2], "--branches", "pe,nope", "-o", str(tmp_path / "x.root")])
    assert bad.exit_code == 2
    assert "no branch" in bad.output
    assert not (tmp_path / "x.root").exists()


def test_scan_hepdata_submission_folder(tmp_path: Path) -> None:
    folder = tmp_path / "hepdata"
    args = [
        "scan",
        "--experiment",
        "csi2021",
        "--hypothesis-family",
        "weak_mixing",
        "--grid",
        "sin2_theta_w=0.15:0.35:9",
    ]
    result = CliRunner().invoke(cli, [*args, "--hepdata", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["allowed_intervals.yaml", "delta_chi2_profile.yaml", "submission.tar.gz", "submission.yaml"]
    text = (folder / "allowed_intervals.yaml").read_text()
    lo, hi = payload["intervals"]["90"][0]
    assert f"{lo:.5g}"[:5] in text
    assert f"{hi:.5g}"[:5] in text
    assert not Path("submission.tar.gz").exists()  # nothing left in the working directory
