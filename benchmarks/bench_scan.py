"""Benchmark of the vectorised profile-likelihood scan against per-point pyhf fits.

Usage (needs the COHERENT releases)::

    CEVNS_HF_DATA=/path/to/data/coherent python benchmarks/bench_scan.py

Prints ONE JSON line on stdout (progress goes to stderr):

* ``points``, ``seconds``: a 100 x 100 NSI scan (eps_ee_u x eps_ee_d over [-0.5, 0.5]^2) of CsI 2021 + LAr
  2020 with all 17 nuisances profiled, by :func:`cevns_hf.inference.scan.profile_scan` in one process (the detector
  set-up, ``setup_seconds``, is done before and not timed); ``seconds_per_point``.
* ``warmup_seconds``: a 4 x 4 scan before, which compiles the engine's kernels (numba; or loads them from its
  cache). ``engine_threads``: the threads the compiled engine uses (all CPUs of the process unless
  ``CEVNS_HF_THREADS`` says otherwise).
* ``evaluate_seconds_compiled``, ``evaluate_seconds_compiled_1thread``, ``evaluate_seconds_numpy``: the same 10^4
  points profiled by :meth:`~cevns_hf.inference.profile.HypothesisLikelihood.evaluate` with the compiled engine,
  on all threads and on one, and with the numpy reference engine; ``compiled_speedup_vs_numpy_engine`` their
  ratio (all threads), ``max_abs_twice_nll_diff_compiled_vs_numpy`` the largest difference of the minima,
  ``threads_identical`` whether one and all threads give the same bits.
* ``dask_seconds`` / ``dask_identical``: the same scan on a local Dask cluster of ``dask_workers`` processes
  (cluster start-up included) and whether its Delta chi2 equals the serial one bit for bit.
* ``max_abs_delta_chi2_diff``: largest |Delta chi2(scan) - Delta chi2(pyhf)| over ``compared_points`` random
  grid points, Delta chi2 taken relative to the scan minimum (``reference``) in both; pyhf's values come
  from independent fits, ``pyhf.infer.mle.fixed_poi_fit`` at mu_bsm = 1 on the workspace of
  :func:`cevns_hf.workspace.hypothesis.hypothesis_workspace` (numpy backend, scipy optimizer).
  ``max_abs_twice_nll_diff``: the same for twice_nll itself (no reference subtracted).
* ``pyhf_seconds_per_point``: wall time per point of building that workspace and fitting it, over the first
  ``timed_pyhf_points`` compared points; ``speedup_vs_patch_loop`` = pyhf_seconds_per_point /
  seconds_per_point.

Streamed scans (:func:`cevns_hf.inference.stream.stream_scan`, results written to a temporary folder):

* ``points_4d``, ``seconds_4d``: the 32^4 = 1,048,576-point NSI scan over eps_ee_u, eps_ee_d, eps_mumu_u and
  eps_mumu_d in [-0.5, 0.5] each (CsI 2021 + LAr 2020, every nuisance profiled), serial, in a fresh
  process; ``setup_seconds_4d`` is its likelihood set-up (not in ``seconds_4d``); ``peak_rss_mb_4d`` is that
  process's peak resident memory (``resource.getrusage`` maxrss, imports and templates included);
  ``converged_fraction_4d`` and ``best_fit_4d`` describe the result. ``BENCH_SCAN_4D_N=20`` scans 20^4 instead
  (to extrapolate before committing an hour).
* ``dask_efficiency``: a 4D NSI grid of 18^4 = 104,976 points (``dask_points``) scanned serially
  (``serial_seconds_1e5``; streamed chunks run BLAS and the compiled engine on one thread, and
  ``serial_cpu_per_wall_1e5``, the process CPU time over wall time, shows what else ran) and on a local Dask
  cluster of 2 worker processes x 1 thread (``dask_seconds_1e5``), efficiency = serial_seconds_1e5 / (2 x
  dask_seconds_1e5). The cluster start-up and a warm-up task on every worker (building the likelihood there:
  templates, responses) are excluded from ``dask_seconds_1e5`` and reported as ``dask_startup_seconds``; the
  workers start without Dask's ``MALLOC_TRIM_THRESHOLD_`` (:func:`cevns_hf.inference.executors.worker_environ`);
  set-up in the driver is excluded from both times. ``dask_stream_identical``: the two runs' arrays are equal bit
  for bit. (``dask_seconds`` keeps its meaning above: the 100 x 100 scan on Dask.)

``BENCH_SCAN_QUICK=1`` shrinks every size (a smoke run of the script in about a minute; ``quick`` is then
true in the output and the numbers mean nothing).
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pyhf

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis
from cevns_hf.inference.kernel.newton import THREADS_ENV, threads
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.inference.scan import profile_scan
from cevns_hf.inference.stream import stream_scan
from cevns_hf.workspace.hypothesis import hypothesis_workspace

EXPERIMENTS = ("csi2021", "lar2020")
FAMILY = "nsi"
QUICK = os.environ.get("BENCH_SCAN_QUICK", "").strip() == "1"
N_AXIS = 20 if QUICK else 100
N_COMPARED = 3 if QUICK else 20
N_TIMED = 2 if QUICK else 10
DASK_WORKERS = 2
AXES_4D = ("eps_ee_u", "eps_ee_d", "eps_mumu_u", "eps_mumu_d")
N_AXIS_4D = int(os.environ.get("BENCH_SCAN_4D_N", "4" if QUICK else "32"))
N_AXIS_DASK = 5 if QUICK else 18  # 18^4 = 104,976 points
CHUNK = 64 if QUICK else 4096  # grid points per task of the streamed scans


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pyhf_twice_nll(point: dict[str, float]) -> float:
    """Build the mu_bsm workspace of one hypothesis and fit it at mu_bsm = 1 (the patch-loop way)."""
    spec = hypothesis_workspace(list(EXPERIMENTS), Hypothesis.from_mapping(FAMILY, point))
    ws = pyhf.Workspace(spec)
    model = ws.model()
    _, value = pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model, return_fitted_val=True)
    return float(value)


def _grid_4d(n: int) -> dict[str, np.ndarray]:
    return {name: np.linspace(-0.5, 0.5, n) for name in AXES_4D}


@contextlib.contextmanager
def _engine_threads(n: int | None) -> Iterator[None]:
    """Run the compiled engine on n threads (None: its default) inside the block."""
    previous = os.environ.pop(THREADS_ENV, None)
    if n is not None:
        os.environ[THREADS_ENV] = str(n)
    try:
        yield
    finally:
        os.environ.pop(THREADS_ENV, None)
        if previous is not None:
            os.environ[THREADS_ENV] = previous


def _engine_comparison(grid: dict[str, np.ndarray]) -> dict[str, Any]:
    """The 100 x 100 points profiled by the compiled engine (on all threads, and on one) and by the numpy engine."""
    model = HypothesisLikelihood.build(EXPERIMENTS, FAMILY)
    mesh = np.meshgrid(*grid.values(), indexing="ij")
    values = {k: m.ravel() for k, m in zip(grid, mesh, strict=True)}
    out: dict[str, Any] = {"engine_threads": threads()}
    runs = {}
    for label, engine, n_threads in (("compiled", "compiled", None), ("compiled_1thread", "compiled", 1),
                                     ("numpy", "numpy", None)):  # fmt: skip
        with _engine_threads(n_threads):
            t0 = time.perf_counter()
            runs[label] = model.evaluate(values, engine=engine)
            out[f"evaluate_seconds_{label}"] = round(time.perf_counter() - t0, 3)
        _log(f"evaluate ({label}): {out[f'evaluate_seconds_{label}']} s")
    both = runs["compiled"][2] & runs["numpy"][2]
    out["compiled_speedup_vs_numpy_engine"] = round(out["evaluate_seconds_numpy"] / out["evaluate_seconds_compiled"], 1)
    out["max_abs_twice_nll_diff_compiled_vs_numpy"] = float(
        np.max(np.abs(runs["compiled"][0] - runs["numpy"][0])[both])
    )
    out["threads_identical"] = bool(np.array_equal(runs["compiled"][0], runs["compiled_1thread"][0]))
    return out


def _progress() -> bool:
    return sys.stderr.isatty()


def _scan_4d(n: int) -> dict[str, Any]:
    """The serial streamed 4D scan (run in a fresh process, so that its peak memory is its own)."""
    for e in EXPERIMENTS:
        detectors.templates(e)
    with tempfile.TemporaryDirectory() as tmp:
        result = stream_scan(EXPERIMENTS, FAMILY, _grid_4d(n), Path(tmp) / "scan4d", chunk=CHUNK, progress=_progress())
        out = {
            "points_4d": result.points,
            "seconds_4d": round(result.seconds, 3),
            "setup_seconds_4d": round(result.setup_seconds, 3),
            "converged_fraction_4d": result.converged_fraction,
            "best_fit_4d": result.best_fit,
        }
    out["peak_rss_mb_4d"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def _warm_up(n: int) -> float:
    """A worker's warm-up: build the likelihood and profile the first points of the grid (caches filled)."""
    t0 = time.perf_counter()
    model = HypothesisLikelihood.build(EXPERIMENTS, FAMILY)
    axes = _grid_4d(n)
    index = np.unravel_index(np.arange(32), tuple(a.size for a in axes.values()))
    model.evaluate({k: a[i] for (k, a), i in zip(axes.items(), index, strict=True)})
    return time.perf_counter() - t0


def _dask_efficiency(tmp: Path) -> dict[str, Any]:
    import dask
    from dask.distributed import Client, LocalCluster

    from cevns_hf.inference.executors import worker_environ

    grid = _grid_4d(N_AXIS_DASK)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    with _engine_threads(1):  # one worker: one core
        serial = stream_scan(EXPERIMENTS, FAMILY, grid, tmp / "serial", chunk=CHUNK, progress=_progress())
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
    _log(f"serial {serial.points} points: {serial.seconds:.1f} s (cpu/wall {cpu / serial.seconds:.2f})")
    t0 = time.perf_counter()
    with (
        dask.config.set({"distributed.nanny.pre-spawn-environ": worker_environ()}),  # no MALLOC_TRIM_THRESHOLD_
        LocalCluster(n_workers=DASK_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(DASK_WORKERS)
        warm = client.run(_warm_up, N_AXIS_DASK)
        startup = time.perf_counter() - t0
        _log(f"dask start-up + warm-up: {startup:.1f} s ({warm})")
        parallel = stream_scan(
            EXPERIMENTS, FAMILY, grid, tmp / "dask", executor=client, chunk=CHUNK, progress=_progress()
        )
    identical = all(
        np.array_equal(getattr(parallel, key), getattr(serial, key)) for key in ("twice_nll", "theta", "converged")
    )
    _log(f"dask: {parallel.seconds:.1f} s, identical: {identical}")
    return {
        "dask_points": serial.points,
        "serial_seconds_1e5": round(serial.seconds, 3),
        "serial_cpu_per_wall_1e5": round(cpu / serial.seconds, 2),
        "dask_seconds_1e5": round(parallel.seconds, 3),
        "dask_startup_seconds": round(startup, 3),
        "dask_efficiency": round(serial.seconds / (DASK_WORKERS * parallel.seconds), 3),
        "dask_stream_identical": identical,
    }


def main() -> None:
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    grid = {"eps_ee_u": np.linspace(-0.5, 0.5, N_AXIS), "eps_ee_d": np.linspace(-0.5, 0.5, N_AXIS)}
    t0 = time.perf_counter()
    for e in EXPERIMENTS:
        detectors.templates(e)
    setup_s = time.perf_counter() - t0
    _log(f"setup: {setup_s:.2f} s")

    t0 = time.perf_counter()  # compiles the engine's kernels (or loads them from numba's cache)
    profile_scan(EXPERIMENTS, FAMILY, {k: v[::25] for k, v in grid.items()}, exact=False)
    warmup_s = time.perf_counter() - t0
    _log(f"warm-up (kernels compiled or loaded): {warmup_s:.2f} s")

    t0 = time.perf_counter()
    result = profile_scan(EXPERIMENTS, FAMILY, grid, exact=False)  # the grid itself
    seconds = time.perf_counter() - t0
    engine = _engine_comparison(grid)
    t0 = time.perf_counter()
    refined = profile_scan(EXPERIMENTS, FAMILY, grid)  # the grid plus contours solved on the surface
    exact_seconds = time.perf_counter() - t0 - seconds
    assert refined.exact_contours is not None
    _log(f"exact contours: +{exact_seconds:.2f} s, precision {refined.exact_contours.precision:.2g}")
    points = result.twice_nll.size
    _log(f"scan: {points} points in {seconds:.2f} s, best fit {result.best_fit}")

    from dask.distributed import Client, LocalCluster

    t0 = time.perf_counter()
    with (
        LocalCluster(n_workers=DASK_WORKERS, threads_per_worker=1, processes=True, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        parallel = profile_scan(EXPERIMENTS, FAMILY, grid, executor=client, exact=False)
    dask_seconds = time.perf_counter() - t0
    dask_identical = bool(np.array_equal(parallel.twice_nll, result.twice_nll))
    _log(f"dask ({DASK_WORKERS} workers): {dask_seconds:.2f} s, identical: {dask_identical}")

    names = result.parameters
    ref_idx = result.best_index
    reference = {n: result.grid[n][i] for n, i in zip(names, ref_idx, strict=True)}
    ref_pyhf = _pyhf_twice_nll(reference)
    ref_ours = float(result.twice_nll[ref_idx])
    rng = np.random.default_rng(20240601)
    flat = rng.choice(points, size=N_COMPARED, replace=False)
    delta_diffs, nll_diffs, times = [], [], []
    for k, f in enumerate(flat):
        idx = np.unravel_index(int(f), result.shape)
        point = {n: result.grid[n][i] for n, i in zip(names, idx, strict=True)}
        a = time.perf_counter()
        value = _pyhf_twice_nll(point)
        if k < N_TIMED:
            times.append(time.perf_counter() - a)
        ours = float(result.twice_nll[idx])
        nll_diffs.append(abs(value - ours))
        delta_diffs.append(abs((value - ref_pyhf) - (ours - ref_ours)))
        _log(f"{point}: pyhf {value:.6f}, scan {ours:.6f}")
    pyhf_per_point = float(np.mean(times))
    per_point = seconds / points

    _log(f"4D streamed scan of {N_AXIS_4D}^4 points in a fresh process ...")
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        four_d = pool.submit(_scan_4d, N_AXIS_4D).result()
    _log(f"4D: {four_d}")
    with tempfile.TemporaryDirectory() as tmp:
        efficiency = _dask_efficiency(Path(tmp))
    print(
        json.dumps(
            {
                "points": int(points),
                "seconds": round(seconds, 3),
                "seconds_per_point": per_point,
                "setup_seconds": round(setup_s, 3),
                "warmup_seconds": round(warmup_s, 3),
                **engine,
                "max_abs_delta_chi2_diff": float(max(delta_diffs)),
                "max_abs_twice_nll_diff": float(max(nll_diffs)),
                "compared_points": N_COMPARED,
                "reference": reference,
                "pyhf_seconds_per_point": round(pyhf_per_point, 4),
                "timed_pyhf_points": N_TIMED,
                "speedup_vs_patch_loop": round(pyhf_per_point / per_point, 1),
                "all_converged": bool(np.all(result.converged)),
                "exact_contours_extra_seconds": round(exact_seconds, 3),
                "exact_contours_precision": refined.exact_contours.precision,
                "dask_workers": DASK_WORKERS,
                "dask_seconds": round(dask_seconds, 3),
                "dask_identical": dask_identical,
                "best_fit": result.best_fit,
                "experiments": "+".join(EXPERIMENTS),
                "family": FAMILY,
                **four_d,
                **efficiency,
                "dask_worker_threads": 1,
                "chunk_stream": CHUNK,
                "quick": QUICK,
            },
            sort_keys=False,
        )
    )


if __name__ == "__main__":
    main()
