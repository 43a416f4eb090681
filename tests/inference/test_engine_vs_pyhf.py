"""The one fast profile engine (scans, parameter limits, intervals) against pyhf, its reference.

Random hypotheses of several families on every registered detector and on a combination: the profiled
-2 ln L of :class:`~cevns_hf.inference.scan.HypothesisLikelihood` must equal pyhf's ``fixed_poi_fit`` at
mu_bsm = 1 on the hypothesis workspace to |Delta 2NLL| < 1e-4, and never be above it by more than that
(our minimum is at least as deep).
"""

from __future__ import annotations

import zlib

import numpy as np
import pyhf
import pytest

from cevns_hf.bsm.family import Hypothesis, get_family
from cevns_hf.inference.profile import HypothesisLikelihood
from cevns_hf.workspace.hypothesis import hypothesis_workspace

#: (experiments, family, parameter -> (lo, hi) of the random draws, fixed parameters)
CASES = [
    ("csi2021", "nsi", {"eps_ee_u": (-0.3, 0.5), "eps_ee_d": (-0.3, 0.3)}, {}),
    ("lar2020", "weak_mixing", {"sin2_theta_w": (0.15, 0.35)}, {}),
    ("csi2017", "neutron_radius", {"r_n": (4.0, 6.5)}, {}),
    ("csi2021+lar2020", "light_vector", {"g_nu": (1e-6, 3e-5)}, {"mass_mev": 10.0, "g_q": 1e-5}),
    ("csi2021+lar2020", "magnetic_moment", {"mu_nu_mu": (1e-10, 5e-9)}, {}),
]


@pytest.fixture(scope="module", autouse=True)
def _tight_pyhf() -> None:
    pyhf.set_backend("numpy", pyhf.optimize.scipy_optimizer(tolerance=1e-12))


@pytest.mark.parametrize(("experiments", "family", "ranges", "fixed"), CASES, ids=[c[0] + "-" + c[1] for c in CASES])
def test_profiled_twice_nll_equals_pyhf_at_random_points(
    experiments: str, family: str, ranges: dict[str, tuple[float, float]], fixed: dict[str, float]
) -> None:
    rng = np.random.default_rng(zlib.crc32(f"{experiments}:{family}".encode()))
    n = 3
    values = {k: rng.uniform(lo, hi, n) for k, (lo, hi) in ranges.items()}
    engine = HypothesisLikelihood.build(experiments, get_family(family), fixed=fixed)
    ours, _, converged = engine.evaluate(values)
    assert np.all(converged)
    for i in range(n):
        hyp = Hypothesis.from_mapping(family, {**fixed, **{k: float(v[i]) for k, v in values.items()}})
        ws = pyhf.Workspace(hypothesis_workspace(experiments, hyp))
        model = ws.model()
        _, reference = pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model, return_fitted_val=True)
        assert abs(ours[i] - float(reference)) < 1e-4, (hyp, ours[i], float(reference))


def test_4d_nsi_through_the_basis_equals_pyhf() -> None:
    """The path of the 4D streamed scan: 16+ points of a 4D NSI grid go through the exact basis (folded monomial
    weights merged per row by the compiled engine); a few of them against pyhf."""
    names = ("eps_ee_u", "eps_ee_d", "eps_mumu_u", "eps_mumu_d")
    rng = np.random.default_rng(4)
    values = {k: rng.uniform(-0.5, 0.5, 16) for k in names}
    engine = HypothesisLikelihood.build("csi2021+lar2020", "nsi")
    assert engine._basis_rows(values) is not None  # the basis path
    ours, _, converged = engine.evaluate(values)
    assert np.all(converged)
    for i in range(0, 16, 5):
        hyp = Hypothesis.from_mapping("nsi", {k: float(v[i]) for k, v in values.items()})
        ws = pyhf.Workspace(hypothesis_workspace("csi2021+lar2020", hyp))
        model = ws.model()
        _, reference = pyhf.infer.mle.fixed_poi_fit(1.0, ws.data(model), model, return_fitted_val=True)
        assert abs(ours[i] - float(reference)) < 1e-4, (hyp, ours[i], float(reference))
        assert ours[i] <= float(reference) + 1e-6
