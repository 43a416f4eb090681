"""``cevns-hf cls``: toy-based CLs on the workspaces the project writes, next to pyhf's asymptotic CLs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from cevns_hf.cli import cli


def _write(tmp_path: Path, name: str, *extra: str) -> Path:
    out = tmp_path / f"{name}.json"
    res = CliRunner().invoke(cli, ["workspace", "--experiment", "lar2020", "-o", str(out), *extra])
    assert res.exit_code == 0, res.output
    return out


@pytest.mark.parametrize(
    ("name", "extra", "poi"),
    [
        ("bsm", ("--hypothesis", "magnetic_moment:mu_nu_mu=6e-9"), 1.0),
        ("linear", ("--hypothesis", "magnetic_moment:mu_nu_mu=6e-9", "--poi", "mu_nu_mu_sq"), 40.0),
        ("sm", (), 1.8),  # above the best fit (mu_hat ~ 1): qtilde > 0
    ],
)
def test_toy_cls_on_written_workspaces_agrees_with_asymptotic(
    tmp_path: Path, name: str, extra: tuple[str, ...], poi: float
) -> None:
    ws = _write(tmp_path, name, *extra)
    runner = CliRunner()
    toys = runner.invoke(cli, ["cls", str(ws), "--test-poi", str(poi), "--toys", "300", "--seed", "4"])
    assert toys.exit_code == 0, toys.output
    asym = runner.invoke(cli, ["cls", str(ws), "--test-poi", str(poi), "--calctype", "asymptotic"])
    assert asym.exit_code == 0, asym.output
    t, a = json.loads(toys.output), json.loads(asym.output)
    assert t["n_toys"] == 300
    assert 0.0 <= t["CLs_obs"] <= 1.0
    # LAr 2020 has ~100 events per hypothesis: the asymptotic formulae hold to a few percent in CLs;
    # 300 toys carry a statistical error of at most ~0.05 here
    assert abs(t["CLs_obs"] - a["CLs_obs"]) < 0.1, (t, a)
    assert abs(t["CLs_exp"][2] - a["CLs_exp"][2]) < 0.1, (t, a)
    again = runner.invoke(cli, ["cls", str(ws), "--test-poi", str(poi), "--toys", "300", "--seed", "4"])
    assert json.loads(again.output)["CLs_obs"] == t["CLs_obs"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--test-poi", "-1"], "--test-poi"),
        (["--toys", "0"], "--toys"),
        (["--calctype", "bayes"], "bayes"),
    ],
)
def test_cls_bad_inputs(tmp_path: Path, args: list[str], message: str) -> None:
    ws = tmp_path / "ws.json"
    ws.write_text("{}")
    res = CliRunner().invoke(cli, ["cls", str(ws), *args])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


def test_cls_refuses_a_non_workspace(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a workspace"}')
    res = CliRunner().invoke(cli, ["cls", str(bad)])
    assert res.exit_code == 2
    assert "not a pyhf workspace" in res.output
