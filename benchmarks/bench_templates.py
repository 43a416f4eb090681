"""Benchmark of the template building for one hypothesis (CsI 2021 + LAr 2020), against the quad reference.

Usage (needs the COHERENT releases)::

    CEVNS_HF_DATA=/path/to/data/coherent python benchmarks/bench_templates.py

Prints ONE JSON line on stdout (progress goes to stderr):

* ``setup_s``: hypothesis-independent set-up of both detectors (release loading + response quadrature).
* ``csi2021_s``, ``lar2020_s``, ``per_hypothesis_s``: median wall times of ``csi2021.templates(model)``,
  ``lar2020.templates(model)`` and of both together, over ``n_repetitions`` hypotheses
  ``StandardModel(sin2_theta_w=...)`` that all differ (nothing can be cached).
* ``reference_s``: wall time of :func:`cevns_hf.detectors.engine.reference_spectrum` (nested ``scipy.quad``) for ONE
  channel -- CEvNS on Cs-133, nu_e, nominal response, all energy bins -- with the detector's own response.
* ``reference_scaled_channels``: number of one-variant spectra the fast path computes per hypothesis, i.e.
  the sum over the engines' (process, target, flavour) channels of their energy-response variants
  (CsI: 12 channels x 5 variants, LAr: 3 x 1 = 63); the reference computes one such spectrum per call.
* ``speedup_vs_reference`` = reference_s x reference_scaled_channels / per_hypothesis_s. For comparison,
  ``speedup_vs_reference_channels_only`` scales by the number of channels without the variants (15).
* ``hypotheses_per_s``: a grid of a polynomial family, ``grid_points`` = 100 x 100 NSI hypotheses (eps_ee_u x
  eps_ee_d over [-0.5, 0.5]^2), every hypothesis-dependent template (CEvNS, ES, with their systematics) of CsI 2021
  and LAr 2020 from :func:`cevns_hf.templates.batch.grid_neutrino_samples`, which uses the exact polynomial basis
  (:mod:`cevns_hf.templates.basis`; its construction from the engine is inside the timing, the cache cleared);
  ``engine_hypotheses_per_s`` the rate engine on 1000 of those points (scaled), ``basis_speedup_vs_engine`` the
  ratio and ``basis_max_rel_diff_vs_engine`` their largest difference relative to the largest count.
* ``mass_grid_hypotheses_per_s``: ``mass_grid_points`` light-vector hypotheses (40 masses x 25 couplings,
  g_e = g_q = g_nu): 25 points per mass slice do not pay for a basis, so this is the engine path;
  ``mass_grid_speedup_vs_loop`` compares it with calling ``templates`` per point (measured on 50 points).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from typing import Any
from unittest import mock

import numpy as np

from cevns_hf.bsm.family import get_family
from cevns_hf.detectors import csi2021, engine, get_detector, lar2020
from cevns_hf.detectors.engine import reference_spectrum
from cevns_hf.physics.model import StandardModel
from cevns_hf.sources.sns_pidar import SOURCE
from cevns_hf.templates import basis as basis_module
from cevns_hf.templates.batch import engine_neutrino_samples, grid_neutrino_samples

CSI, LAR = get_detector("csi2021"), get_detector("lar2020")
FAMILY = get_family("light_vector")

N_REPETITIONS = 200


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _csi_build_engine_arguments() -> dict[str, Any]:
    """The keyword arguments the CsI 2021 set-up passes to ``build_engine`` (including its response)."""
    with mock.patch.object(csi2021, "build_engine", wraps=engine.build_engine) as spy:
        csi2021.setup.__wrapped__(csi2021.CsI2021Config())
    return dict(spy.call_args.kwargs)


def main() -> None:
    t0 = time.perf_counter()
    csi_setup = csi2021.setup()
    lar_setup = lar2020.setup()
    setup_s = time.perf_counter() - t0
    _log(f"setup: {setup_s:.2f} s")

    # warm-up (first-call overheads of numpy / lazy imports), not timed
    csi2021.templates(StandardModel())
    lar2020.templates(StandardModel())

    csi_times, lar_times, both_times = [], [], []
    for k in range(N_REPETITIONS):
        model = StandardModel(sin2_theta_w=0.22 + 0.04 * k / N_REPETITIONS)
        a = time.perf_counter()
        csi2021.templates(model)
        b = time.perf_counter()
        lar2020.templates(model)
        c = time.perf_counter()
        csi_times.append(b - a)
        lar_times.append(c - b)
        both_times.append(c - a)
    per_hypothesis_s = statistics.median(both_times)
    _log(f"templates per hypothesis (median of {N_REPETITIONS}): {per_hypothesis_s * 1e3:.2f} ms")

    engines = (csi_setup.engine, lar_setup.engine)
    scaled_channels = sum(ch.weights.shape[0] for eng in engines for ch in eng.channels)
    channels_only = sum(len(eng.channels) for eng in engines)

    kwargs = _csi_build_engine_arguments()
    cs133 = next(t for t in kwargs["targets"] if t.label == "Cs133")
    _log("reference (scipy.quad) Cs133 nu_e, nominal response ...")
    a = time.perf_counter()
    ref = reference_spectrum(
        source=SOURCE,
        model=StandardModel(),
        process="cevns",
        target=cs133,
        flavour="nu_e",
        fluence_per_cm2=kwargs["fluence_per_cm2"],
        baseline_m=kwargs["baseline_m"],
        response=kwargs["nuclear_response"],
    )
    reference_s = time.perf_counter() - a
    _log(f"reference: {reference_s:.2f} s for {ref.size} bins, {float(np.sum(ref)):.3f} events")

    # a polynomial family: 100 x 100 NSI points (eps_ee_u, eps_ee_d), exact basis built inside the timing
    u, d = np.meshgrid(np.linspace(-0.5, 0.5, 100), np.linspace(-0.5, 0.5, 100), indexing="ij")
    nsi_values = {"eps_ee_u": u.ravel(), "eps_ee_d": d.ravel()}
    nsi = get_family("nsi")
    basis_module.clear_cache()
    a = time.perf_counter()
    nsi_csi = grid_neutrino_samples(CSI, nsi, nsi_values)
    grid_neutrino_samples(LAR, nsi, nsi_values)
    poly_s = time.perf_counter() - a
    sub = {k: v[::10] for k, v in nsi_values.items()}  # 1000 points through the engine
    a = time.perf_counter()
    engine_csi = engine_neutrino_samples(CSI, nsi, sub)
    engine_neutrino_samples(LAR, nsi, sub)
    engine_s = (time.perf_counter() - a) * 10.0
    basis_diff = float(np.max(np.abs(nsi_csi[0].nominal[::10] - engine_csi[0].nominal)) / np.max(engine_csi[0].nominal))
    _log(f"NSI grid: 10000 hypotheses in {poly_s:.3f} s (basis), {engine_s:.2f} s (engine, scaled)")

    masses = np.geomspace(1.0, 1e3, 40)
    couplings = np.geomspace(1e-6, 1e-4, 25)
    m_grid, g_grid = (a.ravel() for a in np.meshgrid(masses, couplings, indexing="ij"))
    values = {"mass_mev": m_grid, "g_nu": g_grid, "g_q": g_grid, "g_e": g_grid}
    grid_neutrino_samples(CSI, FAMILY, {k: v[:2] for k, v in values.items()})  # warm-up
    a = time.perf_counter()
    csi_grid = grid_neutrino_samples(CSI, FAMILY, values)
    grid_neutrino_samples(LAR, FAMILY, values)
    grid_s = time.perf_counter() - a
    family = get_family("light_vector")
    loop_times = []
    for i in range(0, m_grid.size, m_grid.size // 50):
        model = family.model({k: v[i] for k, v in values.items()})
        b = time.perf_counter()
        csi2021.templates(model)
        lar2020.templates(model)
        loop_times.append(time.perf_counter() - b)
    check = csi2021.templates(family.model({k: v[7] for k, v in values.items()})).sample("cevns").nominal
    grid_max_rel_diff = float(np.max(np.abs(csi_grid[0].nominal[7] - check)) / np.max(check))
    _log(f"grid: {m_grid.size} hypotheses in {grid_s:.2f} s; loop {statistics.median(loop_times) * 1e3:.2f} ms each")

    result = {
        "per_hypothesis_s": per_hypothesis_s,
        "speedup_vs_reference": reference_s * scaled_channels / per_hypothesis_s,
        "csi2021_s": statistics.median(csi_times),
        "lar2020_s": statistics.median(lar_times),
        "setup_s": setup_s,
        "reference_s": reference_s,
        "reference_scaled_channels": scaled_channels,
        "reference_channel": "cevns Cs133 nu_e, nominal response, all energy bins",
        "speedup_vs_reference_channels_only": reference_s * channels_only / per_hypothesis_s,
        "channels_only": channels_only,
        "n_repetitions": N_REPETITIONS,
        "hypotheses_per_s": nsi_values["eps_ee_u"].size / poly_s,
        "grid_points": int(nsi_values["eps_ee_u"].size),
        "grid_family": "nsi (eps_ee_u x eps_ee_d, exact polynomial basis, built inside the timing)",
        "grid_s": poly_s,
        "engine_hypotheses_per_s": nsi_values["eps_ee_u"].size / engine_s,
        "basis_speedup_vs_engine": engine_s / poly_s,
        "basis_max_rel_diff_vs_engine": basis_diff,
        "mass_grid_hypotheses_per_s": m_grid.size / grid_s,
        "mass_grid_points": int(m_grid.size),
        "mass_grid_family": "light_vector (40 masses x 25 couplings: the engine path)",
        "mass_grid_speedup_vs_loop": statistics.median(loop_times) * m_grid.size / grid_s,
        "mass_grid_max_rel_diff_vs_templates": grid_max_rel_diff,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
