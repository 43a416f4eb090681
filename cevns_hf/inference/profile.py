"""The fast profile engine's entry point: -2 ln L of a family's hypotheses on some detectors.

:class:`HypothesisLikelihood` binds the batched likelihood of :mod:`cevns_hf.inference.likelihood` to a set of
detectors and a family: scans (:mod:`cevns_hf.inference.scan`), parameter limits
(:mod:`cevns_hf.inference.limits`) and intervals all evaluate hypotheses through it. pyhf is its reference
(``tests/inference/test_engine_vs_pyhf.py``: random points, |Delta 2NLL| < 1e-4).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from cevns_hf import detectors
from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, resolve_family
from cevns_hf.detectors.base import Detector
from cevns_hf.inference.groups import Groups
from cevns_hf.inference.interpolation import Code4
from cevns_hf.inference.likelihood import NEUTRINO_SAMPLES, Batch, Engine, Likelihood
from cevns_hf.templates.basis import BasisError, Box, cached_basis, fitting_box
from cevns_hf.templates.batch import grid_neutrino_samples
from cevns_hf.templates.histograms import Sample
from cevns_hf.workspace.hypothesis import Experiments

__all__ = ["HypothesisLikelihood"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)


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
        self,
        values: Mapping[str, Sequence[float] | FloatArray],
        theta0: FloatArray | None = None,
        *,
        batch: int = 512,
        warm: bool = True,
        engine: Engine = "compiled",
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Profiled -2 ln L, nuisances and convergence flags at m hypotheses.

        Where the family's rate is a polynomial in the varied parameters, the hypotheses are the monomial
        weights of one basis batch (:meth:`basis_batch`); elsewhere their templates come from the rate engine.
        With ``warm``, the points are profiled coarse to fine: every 16th, then every 4th, then the rest, each
        started from the nuisances of the nearest point already profiled (the points are taken to be in grid
        order, neighbours in the list being neighbours in parameter space).

        Args:
            values: parameter name -> (m,) values (the points, not axes); the parameters in :attr:`fixed`
                and the SM values complete them.
            theta0: starting nuisances, (K,) or (m, K); default :attr:`theta0`.
            batch: hypotheses profiled together.
            warm: warm starts from neighbouring points.
            engine: the profile engine (:meth:`~cevns_hf.inference.likelihood.Likelihood.profile`).

        Returns:
            (twice_nll (m,), theta (m, K), converged (m,)).
        """
        arrays = {k: np.asarray(v, dtype=float).ravel() for k, v in values.items()}
        m = len(next(iter(arrays.values())))
        n_k = len(self.likelihood.nuisances)
        start = np.array(np.broadcast_to(np.asarray(self.theta0 if theta0 is None else theta0, dtype=float), (m, n_k)))
        nll, theta, conv = np.empty(m), np.empty((m, n_k)), np.empty(m, dtype=bool)
        basis = self._basis_rows(arrays)
        index = np.arange(m)
        levels = [index[::16], index[::4], index] if warm and m > 16 else [index]
        done = np.zeros(m, dtype=bool)
        for level in levels:
            todo = level[~done[level]]
            if done.any():  # start from the nearest point already profiled (in list order)
                solved = np.flatnonzero(done)
                pos = np.clip(np.searchsorted(solved, todo), 1, solved.size) - 1
                right = np.minimum(pos + 1, solved.size - 1)
                near = np.where(np.abs(solved[right] - todo) < np.abs(solved[pos] - todo), solved[right], solved[pos])
                start[todo] = theta[near]
            for lo in range(0, todo.size, batch):
                rows = todo[lo : lo + batch]
                sub = {k: v[rows] for k, v in arrays.items()}
                if basis is not None:
                    batch_rows, to_poi = basis
                    b = batch_rows.fold(to_poi(sub))
                else:
                    samples = [
                        grid_neutrino_samples(d, self.family, sub, fixed=self.fixed, chunk=rows.size)
                        for d in self.detectors
                    ]
                    b = self.likelihood.batch(samples)
                prof = self.likelihood.profile(b, start[rows], engine=engine)
                nll[rows], theta[rows], conv[rows] = prof.twice_nll, prof.theta, prof.converged
            done[todo] = True
        return nll, theta, conv

    def _basis_rows(
        self, arrays: Mapping[str, FloatArray]
    ) -> tuple[Batch, Callable[[Mapping[str, FloatArray]], FloatArray]] | None:
        """The basis batch for the points ``arrays`` and the map from points to its POIs, or None."""
        poly = self.family.polynomial
        varied = tuple(k for k, v in arrays.items() if np.ptp(v) > 0)
        if poly is None or not varied or not set(varied) <= set(poly.variables) or len(arrays[varied[0]]) < 16:
            return None
        const = {k: float(v[0]) for k, v in arrays.items() if k not in varied}
        points = {k: arrays[k] for k in varied}
        try:
            batch, center, half = self.basis_batch(varied, fitting_box(self.family, points), const)
        except BasisError as err:
            log.warning("%s; using the rate engine", err)
            return None

        def to_poi(sub: Mapping[str, FloatArray]) -> FloatArray:
            return (np.stack([sub[k] for k in varied], axis=1) - center) / half

        return batch, to_poi

    def basis_batch(
        self, variables: Sequence[str], box: Box | None = None, fixed: Mapping[str, float] | None = None
    ) -> tuple[Batch, FloatArray, FloatArray]:
        r"""The model as a polynomial in ``variables``: one batch row whose POIs are the scaled variables.

        Each detector's exact basis (:mod:`cevns_hf.templates.basis`) becomes groups weighted by the monomials
        :math:`y^{e_m}` of the POIs :math:`y_j = (x_j - c_j)/h_j`; ``batch.fold(y)`` gives the model at any
        points, and :meth:`Likelihood.profile` without ``mu`` fits the parameters themselves (with their
        bounds mapped to y).

        Args:
            variables: the varied parameters (the family must be declared polynomial in them).
            box: (lo, hi) per variable for the basis (default: the physical ranges).
            fixed: values of other parameters, on top of :attr:`fixed`.

        Returns:
            (batch, c (J,), h (J,)).
        """
        names = tuple(variables)
        where = tuple(sorted({**self.fixed, **(fixed or {})}.items()))
        bases = [cached_basis(d, self.family, names, where, box) for d in self.detectors]
        b = bases[0]
        n_m = b.size
        batch = self.likelihood.batch([basis.samples for basis in bases])
        fixed_part, dyn = batch.parts
        g = dyn.nominal.shape[1]
        dyn_rows = Groups(
            dyn.nominal.reshape(1, n_m * g, -1),
            dyn.s.reshape(1, n_m * g, *dyn.s.shape[2:]),
            dyn.a.reshape(1, n_m * g, *dyn.a.shape[2:]),
            Code4(
                *(
                    np.tile(arr, (n_m,) + (1,) * (arr.ndim - 1))
                    for arr in (dyn.code4.log_hi, dyn.code4.log_lo, dyn.code4.coef)
                )
            ),
            np.repeat(b.exponents, g, axis=0),
            active=dyn.active,
        )
        return Batch((fixed_part, dyn_rows)), b.center, b.half_width
