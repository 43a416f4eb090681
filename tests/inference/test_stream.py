"""Streamed scans: equal to profile_scan, written whole or not at all, never overwriting, identical on Dask."""

from __future__ import annotations

import json
import os
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from threadpoolctl import threadpool_limits

from cevns_hf.bsm import grid as grid_module
from cevns_hf.bsm.family import HypothesisError, get_family
from cevns_hf.cli import cli
from cevns_hf.exceptions import ConfigurationError, OutputExistsError
from cevns_hf.inference import chunks, stream, stream_files
from cevns_hf.inference.results import ScanResult
from cevns_hf.inference.scan import profile_scan
from cevns_hf.inference.stream import FILES, check_stream_scan, load_stream, stream_scan
from cevns_hf.templates.basis import clear_cache

EXPS = "csi2021+lar2020"
AXIS = [-0.4, 0.0, 0.3]
GRID4 = {"eps_ee_u": AXIS, "eps_ee_d": AXIS, "eps_mumu_u": AXIS, "eps_mumu_d": AXIS}


def _tree(root: Path) -> dict[str, Any]:
    """Every path under ``root`` with its size and modification time."""
    return {str(p.relative_to(root)): (p.is_dir(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def reference() -> ScanResult:
    return profile_scan(EXPS, "nsi", GRID4, exact=False)


@pytest.fixture(scope="module")
def streamed(tmp_path_factory: pytest.TempPathFactory) -> stream.StreamResult:
    out = tmp_path_factory.mktemp("stream") / "new" / "scan4d"
    old = os.umask(0o027)
    try:
        return stream_scan(EXPS, "nsi", GRID4, out, progress=False)
    finally:
        os.umask(old)


def test_public_names() -> None:
    for module in (stream, stream_files, chunks):
        assert set(dir(module)) == set(module.__all__)
        for name in module.__all__:
            assert hasattr(module, name)
    assert "stream_scan" in stream.__all__


def test_small_4d_grid_equals_profile_scan(reference: ScanResult, streamed: stream.StreamResult) -> None:
    np.testing.assert_allclose(streamed.twice_nll, reference.twice_nll, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(streamed.converged, reference.converged)
    assert streamed.theta.dtype == np.float32
    np.testing.assert_allclose(streamed.theta, reference.theta, rtol=0, atol=1e-5)
    assert streamed.best_fit == pytest.approx(reference.best_fit, abs=1e-9)
    assert streamed.best_index == reference.best_index
    np.testing.assert_allclose(streamed.delta_chi2, reference.delta_chi2, rtol=0, atol=1e-9)
    assert streamed.delta_chi2[streamed.best_index] == 0.0
    assert streamed.nuisances == reference.nuisances
    assert streamed.shape == (3, 3, 3, 3)
    assert streamed.points == 81


def test_output_files_are_complete_and_described(streamed: stream.StreamResult) -> None:
    out = streamed.path
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    assert [p.name for p in out.parent.iterdir()] == ["scan4d"]  # no staging folder left beside it
    for name in FILES:  # modes follow the umask (0o027 in the fixture)
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o640
    assert stat.S_IMODE(out.stat().st_mode) == 0o750
    meta = json.loads((out / "scan.json").read_text())
    assert meta["format"] == stream.FORMAT
    assert meta["experiments"] == ["csi2021", "lar2020"]
    assert meta["family"] == "nsi"
    assert meta["parameters"] == list(GRID4)
    assert meta["grid"] == GRID4
    assert meta["shape"] == [3, 3, 3, 3]
    assert meta["nuisances"] == list(streamed.nuisances)
    assert meta["fixed"] == {}
    assert meta["converged_fraction"] == 1.0
    assert meta["n_not_converged"] == 0
    assert meta["best_fit"]["twice_nll"] == streamed.minimum
    assert meta["best_fit"] == {**dict(zip(GRID4, (0.0, 0.0, 0.0, 0.0), strict=True)), "twice_nll": streamed.minimum}
    assert meta["seconds"] > 0
    assert meta["setup_seconds"] >= 0
    for key in ("twice_nll", "converged", "theta"):
        entry = meta["files"][key]
        array = np.load(out / entry["path"])
        assert list(array.shape) == entry["shape"]
        assert str(array.dtype) == entry["dtype"]
    with pytest.raises(ValueError, match="read-only"):
        streamed.twice_nll[0, 0, 0, 0] = 1.0
    again = load_stream(out)
    assert np.array_equal(again.twice_nll, streamed.twice_nll)
    assert again.best_fit == streamed.best_fit
    result = again.to_scan_result()
    assert result.best_fit == streamed.best_fit
    assert result.intervals("1sigma", "eps_ee_u")


def test_chunking_changes_nothing_beyond_1e_9(reference: ScanResult, tmp_path: Path) -> None:
    res = stream_scan(EXPS, "nsi", GRID4, tmp_path / "o", chunk=7, batch=5, theta_dtype="float64", progress=False)
    assert res.theta.dtype == np.float64
    np.testing.assert_allclose(res.twice_nll, reference.twice_nll, rtol=0, atol=1e-9)


def test_same_chunks_as_profile_scan_give_the_same_bits_whatever_the_blas_threads(tmp_path: Path) -> None:
    clear_cache()  # bases cached by the 2-thread reference fixture
    with threadpool_limits(limits=1, user_api="blas"):
        reference = profile_scan(EXPS, "nsi", GRID4, exact=False)
    with threadpool_limits(limits=2, user_api="blas"):  # a chunk runs on one BLAS thread all the same
        res = stream_scan(EXPS, "nsi", GRID4, tmp_path / "o", chunk=512, theta_dtype="float64", progress=False)
    assert np.array_equal(res.twice_nll, reference.twice_nll)
    assert np.array_equal(res.theta, reference.theta)


@pytest.mark.parametrize(
    ("grid", "kwargs", "error", "match"),
    [
        ({"eps_ee_u": [0.0, 9.0]}, {}, HypothesisError, "eps_ee_u"),
        ({"eps_xx": [0.0, 0.1]}, {}, HypothesisError, "valid parameters"),
        ({"eps_ee_u": [0.1, 0.0]}, {}, ConfigurationError, "strictly increasing"),
        ({"eps_ee_u": [0.0, float("nan")]}, {}, ConfigurationError, "eps_ee_u"),
        ({}, {}, ConfigurationError, "at least one parameter"),
        ({"eps_ee_u": [0.0, 0.1]}, {"fixed": {"eps_ee_u": 0.1}}, HypothesisError, "grid axis and fixed"),
        ({"eps_ee_u": [0.0, 0.1]}, {"fixed": {"eps_ee_d": 7.0}}, HypothesisError, "eps_ee_d"),
        ({"eps_ee_u": [0.0, 0.1]}, {"chunk": 0}, ConfigurationError, "chunk >= 1"),
        ({"eps_ee_u": [0.0, 0.1]}, {"batch": 0}, ConfigurationError, "batch >= 1"),
        ({"eps_ee_u": [0.0, 0.1]}, {"chunk": 2.5}, ConfigurationError, "whole numbers"),
        ({"eps_ee_u": [0.0, 0.1]}, {"chunk": True}, ConfigurationError, "whole numbers"),
        ({"eps_ee_u": [0.0, 0.1]}, {"theta_dtype": "float16"}, ConfigurationError, "float32"),
        ({"eps_ee_u": [0.0, 0.1]}, {"progress": "yes"}, ConfigurationError, "progress"),
        ({"eps_ee_u": [0.0, 0.1]}, {"executor": object()}, ConfigurationError, "neither map nor submit"),
    ],
)
def test_bad_input_is_refused_before_any_file(
    tmp_path: Path, grid: dict[str, list[float]], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        stream_scan("csi2021", "nsi", grid, tmp_path / "a" / "out", **kwargs)
    assert _tree(tmp_path) == {}


def test_the_streaming_cap_replaces_the_in_memory_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = {name: np.linspace(-0.5, 0.5, 32).tolist() for name in GRID4}  # 1,048,576 points: above 250,000
    assert check_stream_scan(EXPS, "nsi", big, tmp_path / "o") == 32**4
    with pytest.raises(ConfigurationError, match="250,000"):
        profile_scan(EXPS, "nsi", big)
    monkeypatch.setenv(stream.MAX_STREAM_POINTS_ENV, "1000")
    with pytest.raises(ConfigurationError, match=r"1,048,576 points, more than the streaming cap of 1,000"):
        stream_scan(EXPS, "nsi", big, tmp_path / "o")
    monkeypatch.setenv(stream.MAX_STREAM_POINTS_ENV, "1_000")
    with pytest.raises(ConfigurationError, match="positive whole number"):
        stream_scan(EXPS, "nsi", big, tmp_path / "o")
    assert _tree(tmp_path) == {}


def test_the_family_check_runs_on_every_point_in_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    sterile = get_family("sterile")
    monkeypatch.setattr(grid_module, "CHECK_BLOCK", 4)
    grid = {"ue4_sq": [0.0, 0.1, 0.2, 0.3, 0.6], "umu4_sq": [0.0, 0.2, 0.5]}  # only the last point: 1.1 > 1
    with pytest.raises(HypothesisError, match=r"= 1\.1 exceeds 1"):
        grid_module.check_grid(sterile, grid)
    assert grid_module.check_grid(sterile, {"ue4_sq": [0.0, 0.1, 0.2], "umu4_sq": [0.0, 0.5]}) == 6
    with pytest.raises(ConfigurationError, match="more than the cap of 5"):
        grid_module.check_grid(sterile, grid, max_points=5)


def test_an_error_mid_scan_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = chunks.run_chunk

    def failing(chunk: Any, model: Any) -> Any:
        calls.append(chunk.start)
        if len(calls) > 1:
            raise RuntimeError("worker lost")
        return real(chunk, model)

    monkeypatch.setattr(chunks, "run_chunk", failing)
    with pytest.raises(RuntimeError, match="worker lost"):
        stream_scan("csi2021", "nsi", {"eps_ee_u": np.linspace(-0.1, 0.1, 6)}, tmp_path / "a" / "b", chunk=3)
    assert calls == [0, 3]
    assert _tree(tmp_path) == {}  # no output, no staging folder, no parent folder created by the scan


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine\n")
    grid = {"eps_ee_u": [-0.1, 0.0, 0.1]}
    first = stream_scan("csi2021", "nsi", grid, out, progress=False)
    before = _tree(tmp_path)
    with pytest.raises(OutputExistsError, match=r"scan\.json|twice_nll\.npy"):
        stream_scan("csi2021", "nsi", {"eps_ee_u": [0.0, 0.2]}, out, progress=False)
    assert _tree(tmp_path) == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigurationError, match="not a directory"):
        stream_scan("csi2021", "nsi", grid, tmp_path / "file", progress=False)
    second = stream_scan("csi2021", "nsi", {"eps_ee_u": [0.0, 0.2]}, out, progress=False, force=True)
    assert second.shape == (2,)
    assert first.shape == (3,)
    assert (out / "notes.txt").read_text() == "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "out"]


def test_progress_bar_counts_points(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stream_scan("csi2021", "nsi", {"eps_ee_u": [-0.1, 0.0, 0.1]}, tmp_path / "o", chunk=2, progress="always")
    err = capsys.readouterr().err
    assert "3.00/3.00" in err
    assert "pt" in err
    stream_scan("csi2021", "nsi", {"eps_ee_u": [-0.1, 0.0, 0.1]}, tmp_path / "p", progress=True)  # not a terminal
    assert capsys.readouterr().err == ""


@pytest.fixture(scope="module")
def serial41(tmp_path_factory: pytest.TempPathFactory) -> stream.StreamResult:
    """The 3^4 grid in two chunks (41 + 40 points: enough for a multi-threaded BLAS to sum differently)."""
    return stream_scan(EXPS, "nsi", GRID4, tmp_path_factory.mktemp("s41") / "s", chunk=41, progress=False)


def test_thread_pool_equals_serial(tmp_path: Path) -> None:
    grid = {"eps_ee_u": np.linspace(-0.3, 0.3, 24)}
    serial = stream_scan("csi2021", "nsi", grid, tmp_path / "s", chunk=8, progress=False)
    with ThreadPoolExecutor(max_workers=2) as pool:
        threaded = stream_scan("csi2021", "nsi", grid, tmp_path / "t", chunk=8, executor=pool, progress=False)
    assert threaded.metadata["executor"] == "futures"
    # threads: equal to the BLAS summation order (~1e-11), not bit for bit (see the module docstring)
    np.testing.assert_allclose(threaded.twice_nll, serial.twice_nll, rtol=0, atol=1e-9)
    np.testing.assert_allclose(threaded.theta, serial.theta, rtol=0, atol=1e-5)
    assert np.array_equal(threaded.converged, serial.converged)


def test_dask_local_cluster_of_processes_is_identical(tmp_path: Path, serial41: stream.StreamResult) -> None:
    distributed = pytest.importorskip("dask.distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        parallel = stream_scan(EXPS, "nsi", GRID4, tmp_path / "d", chunk=41, executor=client, progress=False)
        for _ in range(100):  # the scattered likelihood and every result are released
            if not any(client.has_what().values()):
                break
            time.sleep(0.1)
        else:
            pytest.fail(f"left on the workers: {client.has_what()}")
    assert parallel.metadata["executor"] == "dask"
    for key in ("twice_nll", "theta", "converged"):
        assert np.array_equal(getattr(parallel, key), getattr(serial41, key))
    assert parallel.best_fit == serial41.best_fit


def test_cli_stream(tmp_path: Path) -> None:
    out = tmp_path / "s"
    args = ["scan", "--experiment", EXPS, "--hypothesis-family", "nsi", "--no-progress"]
    args += ["--grid", "eps_ee_u=-0.2:0.2:3", "--grid", "eps_ee_d=-0.2:0.2:3", "--stream", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "best fit: eps_ee_u = " in res.stdout
    assert "contour(s)" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    again = CliRunner().invoke(cli, [*args, "--json"])
    assert again.exit_code == 2
    assert "--force" in again.output
    forced = CliRunner().invoke(cli, [*args, "--json", "--force"])
    assert forced.exit_code == 0, forced.output
    assert json.loads(forced.stdout)["shape"] == [3, 3]
