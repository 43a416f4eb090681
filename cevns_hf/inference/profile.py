"""The fast profile engine's entry point: -2 ln L of a family's hypotheses on some detectors.

:class:`HypothesisLikelihood` binds the batched likelihood of :mod:`cevns_hf.inference.likelihood` to a set of
detectors and a family: scans (:mod:`cevns_hf.inference.scan`), parameter limits
(:mod:`cevns_hf.inference.limits`) and intervals all evaluate hypotheses through it. pyhf is its reference
(``tests/inference/test_engine_vs_pyhf.py``: random points, |Delta 2NLL| < 1e-4).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, resolve_family
from cevns_hf.detectors.base import Detector
from cevns_hf.inference.likelihood import NEUTRINO_SAMPLES, Likelihood
from cevns_hf.templates.batch import grid_neutrino_samples
from cevns_hf.templates.histograms import Sample
from cevns_hf.workspace.hypothesis import Experiments

__all__ = ["HypothesisLikelihood"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True, eq=False)
class HypothesisLikelihood:
    """-2 ln L of a family's hypotheses on some detectors, every nuisance profiled: the fast engine's entry.

    The likelihood is that of the ``mu_bsm = 1`` workspace of
    :func:`~cevns_hf.workspace.hypothesis.hypothesis_workspace` (pyhf's ``twice_nll``, constants
    included; normsys normalisations by default, the linear mirror with ``linear_norms``); scans, parameter
    limits and intervals all evaluate it through :meth:`evaluate`.

    Attributes:
        detectors: the channels.
        family: the BSM family.
        fixed: family parameters held fixed (the others not given at evaluation are at their SM values).
        likelihood: the hypothesis-independent part (backgrounds, data, nuisances).
        theta0: the nuisances that fit the Standard Model (starting point of every fit).
        sm_twice_nll: -2 ln L of the Standard Model (profiled).
        without_es: neutrino-electron scattering left out.
    """

    detectors: tuple[Detector, ...]
    family: Family
    fixed: dict[str, float]
    likelihood: Likelihood
    theta0: FloatArray
    sm_twice_nll: float
    without_es: bool = False

    @classmethod
    def build(
        cls,
        experiments: Experiments,
        family: str | Family,
        *,
        fixed: Mapping[str, float] | None = None,
        without_es: bool = False,
        linear_norms: bool = False,
    ) -> HypothesisLikelihood:
        """Resolve the detectors and family, build the fixed part and fit the Standard Model.

        ``linear_norms`` gives the likelihood of the linear-mirror workspaces (normalisations as symmetric
        histosys) instead of the default normsys ones.
        """
        dets = detectors.resolve(experiments)
        fam = resolve_family(family)
        fixed_values = {k: float(v) for k, v in (fixed or {}).items()}
        for name, value in fixed_values.items():
            fam.parameter(name).check(value)
        sm = [d.templates() for d in dets]
        likelihood = Likelihood.from_templates(sm, drop=("es",) if without_es else (), linear_norms=linear_norms)
        per_channel = [
            [
                Sample(s.name, s.nominal[None], s.norms, {k: (u[None], d[None]) for k, (u, d) in s.shapes.items()})
                for s in t.samples
                if s.name in NEUTRINO_SAMPLES
            ]
            for t in sm
        ]
        prof = likelihood.profile(likelihood.batch(per_channel, size=1))
        return cls(dets, fam, fixed_values, likelihood, prof.theta[0], float(prof.twice_nll[0]), without_es)

    def evaluate(
        self, values: Mapping[str, Sequence[float] | FloatArray], theta0: FloatArray | None = None, *, batch: int = 512
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Profiled -2 ln L, nuisances and convergence flags at m hypotheses.

        Args:
            values: parameter name -> (m,) values (the points, not axes); the parameters in :attr:`fixed`
                and the SM values complete them.
            theta0: starting nuisances, (K,) or (m, K); default :attr:`theta0`.
            batch: hypotheses evaluated and profiled together.

        Returns:
            (twice_nll (m,), theta (m, K), converged (m,)).
        """
        arrays = {k: np.asarray(v, dtype=float).ravel() for k, v in values.items()}
        m = len(next(iter(arrays.values())))
        n_k = len(self.likelihood.nuisances)
        start = np.broadcast_to(np.asarray(self.theta0 if theta0 is None else theta0, dtype=float), (m, n_k))
        nll, theta, conv = np.empty(m), np.empty((m, n_k)), np.empty(m, dtype=bool)
        for lo in range(0, m, batch):
            hi = min(m, lo + batch)
            sub = {k: [float(x) for x in v[lo:hi]] for k, v in arrays.items()}
            samples = [
                grid_neutrino_samples(d, self.family, sub, fixed=self.fixed, chunk=hi - lo) for d in self.detectors
            ]
            prof = self.likelihood.profile(self.likelihood.batch(samples), start[lo:hi])
            nll[lo:hi], theta[lo:hi], conv[lo:hi] = prof.twice_nll, prof.theta, prof.converged
        return nll, theta, conv
