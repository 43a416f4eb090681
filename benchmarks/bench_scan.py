"""Benchmark of the vectorised profile-likelihood scan against per-point pyhf fits.

Usage (needs the COHERENT releases)::

    CEVNS_HF_DATA=/path/to/data/coherent python benchmarks/bench_scan.py

Prints ONE JSON line on stdout (progress goes to stderr):

* ``points``, ``seconds``: a 100 x 100 NSI scan (eps_ee_u x eps_ee_d over [-0.5, 0.5]^2) of CsI 2021 + LAr
  2020 with all 17 nuisances profiled, by :func:`cevns_hf.inference.scan.profile_scan` in one process (the detector
  set-up, ``setup_seconds``, is done before and not timed); ``seconds_per_point``.
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
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pyhf

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis
from cevns_hf.inference.scan import profile_scan
from cevns_hf.workspace.hypothesis import hypothesis_workspace

EXPERIMENTS = ("csi2021", "lar2020")
FAMILY = "nsi"
N_AXIS = 100
N_COMPARED = 20
N_TIMED = 10
DASK_WORKERS = 2


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _pyhf_twice_nll(point: dict[str, float]) -> float:
    """Build the mu_bsm workspace of one hypothesis and fit it at mu_bsm = 1 (the patch-loop way)."""
    spec = hypothesis_workspace(list(EXPERIMENTS), Hypothesis.from_mapping(FAMILY, point))
    ws = pyhf.Workspace(spec)
    model = ws.model()
    _, value = pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model, return_fitted_val=True)
    return float(value)


def main() -> None:
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    grid = {"eps_ee_u": np.linspace(-0.5, 0.5, N_AXIS), "eps_ee_d": np.linspace(-0.5, 0.5, N_AXIS)}
    t0 = time.perf_counter()
    for e in EXPERIMENTS:
        detectors.templates(e)
    setup_s = time.perf_counter() - t0
    _log(f"setup: {setup_s:.2f} s")

    t0 = time.perf_counter()
    result = profile_scan(EXPERIMENTS, FAMILY, grid, exact=False)  # the grid itself
    seconds = time.perf_counter() - t0
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
    print(
        json.dumps(
            {
                "points": int(points),
                "seconds": round(seconds, 3),
                "seconds_per_point": per_point,
                "setup_seconds": round(setup_s, 3),
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
            },
            sort_keys=False,
        )
    )


if __name__ == "__main__":
    main()
