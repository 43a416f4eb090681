"""Coverage of Wilks and Feldman-Cousins intervals, from pseudo-experiments, every nuisance profiled.

Usage (needs the COHERENT releases)::

    CEVNS_HF_DATA=/path/to/data/coherent python benchmarks/bench_coverage.py

Prints ONE JSON line on stdout (progress goes to stderr)::

    {"cases": {NAME: {"n_pseudo", "wilks_68", "wilks_90", "fc_68", "fc_90", "seconds", ...}}, ...}

Three cases of CsI 2021 + LAr 2020 where Wilks' theorem is doubtful, each with the true value at the SM:

* ``magnetic_moment_mu_boundary``: the nu_mu magnetic moment on [0, 5e-9] mu_B, true value 0 (the physical
  boundary: the asymptotic distribution of t is 1/2 delta(0) + 1/2 chi2(1), so Wilks over-covers);
* ``charge_radius_mumu``: the nu_mu charge radius on [-120, 60] x 1e-32 cm^2, true value 0 (two nearly
  degenerate minima, near 0 and -54);
* ``light_vector_10mev``: the light vector mediator at 10 MeV, g_nu on [-3e-9, 7e-9] with g_q = 1, true value 0
  (the rate is not monotonic in the coupling: interference, then growth).

For each case, ``n_pseudo`` pseudo-experiments are drawn at the true value, with the nuisances at their
conditional fit to the observed data: Poisson counts and Gaussian auxiliary data. For each one:

* t = -2 ln L(true) - min over the range of -2 ln L (free fit of the parameter and the nuisances, from the true value,
  the observed curve's local minima and the middle of the range);
* Wilks covers at CL when t <= chi2_1 quantile (0.989 at 68.27 %, 2.706 at 90 %);
* Feldman-Cousins covers when t <= t_c, the CL quantile of ``n_toys`` toys drawn at the true value with the
  nuisances at *this* pseudo-experiment's conditional fit (what an analysis of that data set would do: the
  profile construction), so the coverage test includes the nuisance treatment.

Each coverage is printed with its binomial error (``*_err``): sqrt(p (1 - p) / n_pseudo). ``fc_toys_per_second`` is
the toy rate of the FC construction (each toy fitted at the tested value and freely), and
``pyhf_seconds_per_toy_fit`` times the same fixed-POI fit of one toy by ``pyhf.infer.mle.fixed_poi_fit`` on the
workspace of that hypothesis (the slower reference), ``speedup_vs_pyhf_toy_fits`` their ratio counting the fits
per toy. ``fc_construction_seconds``: a whole Feldman-Cousins construction,
:func:`cevns_hf.inference.feldman_cousins.feldman_cousins` of the nu_mu charge radius on [-120, 60] with 100 grid
points x 1000 toys (``fc_construction_points``, ``fc_construction_toys``), on ``engine_threads`` threads of the
compiled engine. ``BENCH_COVERAGE_QUICK=1`` shrinks the numbers for a smoke run.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from typing import Any

import numpy as np
from scipy import stats

from cevns_hf.inference.feldman_cousins import critical_values, fc_statistic, feldman_cousins, free_fit_starts
from cevns_hf.inference.kernel.newton import threads
from cevns_hf.inference.profile import HypothesisLikelihood

EXPERIMENTS = ("csi2021", "lar2020")
QUICK = os.environ.get("BENCH_COVERAGE_QUICK") == "1"
N_PSEUDO = 40 if QUICK else 1000
N_TOYS = 40 if QUICK else 200
N_CURVE = 41
FC_POINTS = 10 if QUICK else 100
FC_TOYS = 100 if QUICK else 1000
SEED = 20261202
CASES: dict[str, dict[str, Any]] = {
    "magnetic_moment_mu_boundary": {
        "family": "magnetic_moment",
        "parameter": "mu_nu_mu",
        "range": (0.0, 5e-9),
        "true": 0.0,
        "fixed": {},
    },
    "charge_radius_mumu": {
        "family": "charge_radius",
        "parameter": "r2_mumu",
        "range": (-120.0, 60.0),
        "true": 0.0,
        "fixed": {},
    },
    "light_vector_10mev": {
        "family": "light_vector",
        "parameter": "g_nu",
        "range": (-3e-9, 7e-9),
        "true": 0.0,
        "fixed": {"mass_mev": 10.0, "g_q": 1.0},
    },
}
PROBABILITIES = (float(stats.chi2.cdf(1.0, 1)), 0.90)  # 68.27 % (1 sigma) and 90 %


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _binomial(p: float, n: int) -> float:
    return math.sqrt(max(p * (1.0 - p), 0.0) / n)


def run_case(name: str, case: dict[str, Any]) -> dict[str, Any]:
    t0 = time.perf_counter()
    model = HypothesisLikelihood.build(EXPERIMENTS, case["family"], fixed=case["fixed"])
    param, (lo, hi) = case["parameter"], case["range"]
    batch, center, half = model.basis_batch((param,), ((lo, hi),))
    lik = model.likelihood
    # the observed curve: its local minima start the free fits
    grid = np.linspace(lo, hi, N_CURVE)
    nll, _, _ = model.evaluate({param: grid})
    starts = free_fit_starts(((grid - center[0]) / half[0])[:, None], nll)
    y_true = np.array([(case["true"] - center[0]) / half[0]])
    _, theta_true, _ = model.evaluate({param: np.array([case["true"]])}, warm=False)
    lam = np.maximum(lik.expected(batch.fold(y_true[None, :]), theta_true), 0.0)[0]
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, len(name)])))
    data = rng.poisson(lam, size=(N_PSEUDO, lam.size)).astype(float)
    aux = rng.normal(theta_true[0], 1.0, size=(N_PSEUDO, theta_true.shape[1]))
    y_rep = np.repeat(y_true[None, :], N_PSEUDO, axis=0)
    th_rep = np.repeat(theta_true, N_PSEUDO, axis=0)
    t_pe, _, theta_pe = fc_statistic(model, batch, y_rep, data, aux, th_rep, starts)
    _log(f"{name}: {N_PSEUDO} pseudo-experiments fitted, median t = {np.median(t_pe):.3f}")
    t1 = time.perf_counter()
    crit = critical_values(
        model,
        batch,
        y_rep,
        theta_pe,
        PROBABILITIES,
        n_toys=N_TOYS,
        seeds=[[SEED, 1 + len(name), k] for k in range(N_PSEUDO)],
        starts=starts,
    )
    toy_seconds = time.perf_counter() - t1
    out: dict[str, Any] = {"n_pseudo": N_PSEUDO, "n_toys_per_pseudo": N_TOYS}
    for tag, p, c in (("68", PROBABILITIES[0], crit[:, 0]), ("90", PROBABILITIES[1], crit[:, 1])):
        wilks = float(np.mean(t_pe <= stats.chi2.ppf(p, 1)))
        fc = float(np.mean(t_pe <= c))
        out[f"wilks_{tag}"] = round(wilks, 4)
        out[f"wilks_{tag}_err"] = round(_binomial(wilks, N_PSEUDO), 4)
        out[f"fc_{tag}"] = round(fc, 4)
        out[f"fc_{tag}_err"] = round(_binomial(fc, N_PSEUDO), 4)
        out[f"nominal_{tag}"] = round(p, 4)
        out[f"median_critical_{tag}"] = round(float(np.median(c)), 3)
    out["seconds"] = round(time.perf_counter() - t0, 1)
    out["fc_toys_per_second"] = round(N_PSEUDO * N_TOYS / toy_seconds, 1)
    out["true"] = case["true"]
    out["range"] = list(case["range"])
    out["parameter"] = param
    _log(f"{name}: {json.dumps(out)}")
    return out


def _pyhf_toy_fit_seconds() -> float:
    """Wall time of one pyhf fixed-POI fit of a toy of the nu_mu charge radius workspace (numpy, scipy)."""
    import pyhf

    from cevns_hf.bsm.family import Hypothesis
    from cevns_hf.workspace.hypothesis import hypothesis_workspace

    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer())
    spec = hypothesis_workspace(list(EXPERIMENTS), Hypothesis.from_mapping("charge_radius", {"r2_mumu": -20.0}))
    ws = pyhf.Workspace(spec)
    model = ws.model()
    pars = model.config.suggested_init()
    toys = model.make_pdf(pyhf.tensorlib.astensor(pars)).sample((5,))
    times = []
    for toy in toys:
        a = time.perf_counter()
        pyhf.infer.mle.fixed_poi_fit(1.0, toy, model)
        times.append(time.perf_counter() - a)
    return float(np.median(times))


def fc_construction() -> dict[str, Any]:
    """Time a full Feldman-Cousins construction: the nu_mu charge radius on [-120, 60] (both minima), 100 grid
    points x 1000 toys (kernels compiled before, by the coverage cases)."""
    model = HypothesisLikelihood.build(EXPERIMENTS, "charge_radius")
    grid = {"r2_mumu": np.linspace(-120.0, 60.0, FC_POINTS)}
    t0 = time.perf_counter()
    result = feldman_cousins(model, grid, n_toys=FC_TOYS, seed=SEED, progress=sys.stderr.isatty())
    seconds = time.perf_counter() - t0
    _log(
        f"FC construction: {FC_POINTS} points x {FC_TOYS} toys in {seconds:.1f} s; 1 sigma {result.intervals('1sigma')}"
    )
    return {
        "fc_construction_points": FC_POINTS,
        "fc_construction_toys": FC_TOYS,
        "fc_construction_seconds": round(seconds, 2),
        "fc_construction_toys_per_second": round(FC_POINTS * FC_TOYS / result.seconds, 1),
        "engine_threads": threads(),
    }


def main() -> None:
    cases = {name: run_case(name, case) for name, case in CASES.items()}
    construction = fc_construction()
    pyhf_fit = _pyhf_toy_fit_seconds()
    rate = float(np.mean([c["fc_toys_per_second"] for c in cases.values()]))
    print(
        json.dumps(
            {
                "cases": cases,
                "experiments": "+".join(EXPERIMENTS),
                "pyhf_seconds_per_toy_fit": round(pyhf_fit, 4),
                # one of our toys = one fit at the tested value + 1-3 free fits; pyhf: the fixed fit alone
                "speedup_vs_pyhf_toy_fits": round(pyhf_fit * rate, 1),
                **construction,
                "quick": QUICK,
            }
        )
    )


if __name__ == "__main__":
    main()
