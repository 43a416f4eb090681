r"""The pyhf likelihood of our workspaces in vectorised numpy, for many rows (hypotheses, toys) at once.

The workspaces of :mod:`cevns_hf.workspace.build` and :mod:`cevns_hf.workspace.hypothesis` contain normsys
(normalisations, by default), histosys (shapes; and normalisations in the linear mirror, ``linear_norms``) and the
normfactor of the POI. For such a model pyhf 0.7.6 computes, bin by bin,

.. math::
    \lambda_b(\theta, \mu) = \sum_s \mu^{p_s} \prod_{k} f_{sk}(\theta_k)
        \Big(N^0_{sb} + \sum_k \Delta_{skb}(\theta_k)\Big), \qquad
    \Delta(\theta) = \begin{cases}
        \theta\,\delta^+ & \theta > 1 \\
        \theta\,\delta^- & \theta < -1 \\
        \theta S + \theta^2 (3\theta^4 - 10\theta^2 + 15) A & |\theta| \le 1
    \end{cases}

(:math:`p_s = 1` for the samples carrying the POI normfactor, 0 otherwise; :math:`f_{sk}` pyhf's code4 normsys
factor, 1 where sample s has no normsys k; histosys by code4p) with :math:`\delta^+ = N^{hi} - N^0`,
:math:`\delta^- = N^0 - N^{lo}`, :math:`S = (\delta^+ + \delta^-)/2`, :math:`A = (\delta^+ - \delta^-)/16`, and

.. math::
    -2\ln L = 2\sum_b \big[\lambda_b - n_b \ln\lambda_b + \ln\Gamma(n_b + 1)\big]
              + \sum_k (\theta_k - a_k)^2 + K \ln(2\pi)

(Poisson per bin, a unit Gaussian constraint per nuisance with auxiliary datum :math:`a_k`, 0 for the
observed data): this is pyhf's ``twice_nll`` exactly, constants included.

The histosys deltas are linear in the histograms, so samples sharing their normsys factors and POI flag add up
in *groups* (:mod:`cevns_hf.inference.groups`, which also gives the analytic Jacobian and curvature of
:math:`\lambda`); with the linear mirror there is a single group and :math:`\lambda = N(\theta) + \mu M(\theta)`.
The code4p and code4 kernels are twice continuously differentiable, so the gradient and Hessian of -2 ln L are
analytic and Newton's method converges quadratically.

A :class:`Likelihood` holds the row-independent part (observed data, the grouped fixed samples, the
nuisances and their bounds, the POI's name and bounds); a :class:`Batch` holds H rows as one or more parts of
groups: the fixed samples (one row, broadcast) and the grouped hypothesis-dependent samples of H hypotheses
(:meth:`Likelihood.batch`, as for scans, where ``mu_bsm = 1`` is folded in), or the groups carrying the POI
(:func:`cevns_hf.inference.assemble.from_workspace`), and optionally per-row observed data (H, B) and auxiliary
data (H, K) (:meth:`Likelihood.with_data`, for toys). Arrays with a leading axis of length 1 are broadcast over
the rows. :meth:`Likelihood.profile` minimises over every nuisance, and over the POI when it is free, for all
rows together (:func:`cevns_hf.inference.newton.minimise`: batched projected Newton, every row independent of
the others).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy import special

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import kernel
from cevns_hf.inference.batches import Batch, Profile
from cevns_hf.inference.blocks import block_problems, blocks
from cevns_hf.inference.groups import GroupKey, Groups, as_poi_values, expected_counts, jacobians, rates
from cevns_hf.inference.interpolation import code4p_coefficients
from cevns_hf.inference.newton import minimise
from cevns_hf.templates.histograms import Sample, Templates

__all__ = [
    "DEFAULT_BOUNDS",
    "ENGINES",
    "NEUTRINO_SAMPLES",
    "Batch",
    "Engine",
    "Likelihood",
    "Profile",
    "code4p_coefficients",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Samples that depend on the hypothesis (everything else is a fixed background).
NEUTRINO_SAMPLES = ("cevns", "es")
#: The profile engines: compiled row by row (:mod:`cevns_hf.inference.kernel`), or the batched numpy reference.
Engine = Literal["compiled", "numpy"]
#: The values of :data:`Engine`.
ENGINES: tuple[Engine, ...] = ("compiled", "numpy")
#: pyhf's default bounds of a histosys parameter.
DEFAULT_BOUNDS = (-5.0, 5.0)


@dataclass(frozen=True, eq=False)
class Likelihood:
    """The row-independent part of the likelihood of one or more channels.

    Build it with :meth:`from_templates` (and add hypotheses with :meth:`batch`) or from a pyhf workspace
    with :func:`cevns_hf.inference.assemble.from_workspace`.

    Attributes:
        channels: channel (experiment) names, in the order of the flattened bins.
        shapes: histogram shape of each channel.
        nuisances: names of the K nuisances (sorted).
        lower: (K,) lower bounds of the nuisances.
        upper: (K,) upper bounds of the nuisances.
        observed: (B,) observed counts of all channels, flattened (C order) and concatenated.
        fixed: the fixed samples, summed per normsys group (one row).
        keys: the normsys factors of each fixed group.
        dynamic: names of the samples that :meth:`batch` must provide, per channel.
        constant: :math:`2\\sum_b \\ln\\Gamma(n_b + 1) + K\\ln(2\\pi)` of the observed data.
        poi: name of the POI (None: the model has none).
        poi_bounds: (lower, upper) bounds of the POI.
        poi_init: initial value of the POI (start of free fits).
        linear_norms: the normalisations are the linear mirror (histosys) instead of normsys
            (:mod:`cevns_hf.workspace.modifiers`); :meth:`batch` applies the same rule.
    """

    channels: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    nuisances: tuple[str, ...]
    lower: FloatArray
    upper: FloatArray
    observed: FloatArray
    fixed: Groups
    keys: tuple[GroupKey, ...]
    dynamic: tuple[tuple[str, ...], ...]
    constant: float
    poi: str | None = None
    poi_bounds: tuple[float, float] = (0.0, 10.0)
    poi_init: float = 1.0
    linear_norms: bool = False

    @classmethod
    def from_templates(
        cls,
        templates: Sequence[Templates],
        *,
        dynamic: Sequence[str] = NEUTRINO_SAMPLES,
        drop: Sequence[str] = (),
        linear_norms: bool = False,
    ) -> Likelihood:
        """The fixed part of the likelihood of the templates' channels.

        Args:
            templates: one :class:`~cevns_hf.templates.histograms.Templates` per channel (e.g. the SM templates); their
                samples named in ``dynamic`` are left out of the fixed part and must be given per
                hypothesis to :meth:`batch`; their nuisances still define the parameter list.
            dynamic: names of the hypothesis-dependent samples.
            drop: samples removed altogether (e.g. ``("es",)`` for a fit without electron scattering).
            linear_norms: normalisations as the linear mirror (symmetric histosys) instead of normsys, as the
                workspaces built with the same flag.

        Returns:
            The likelihood; the nuisance bounds are those of :func:`cevns_hf.workspace.modifiers.nuisance_bounds`,
            (-5, 5) for the others, as in the workspaces.
        """
        from cevns_hf.inference.assemble import from_templates

        return from_templates(templates, dynamic=dynamic, drop=drop, linear_norms=linear_norms)

    @property
    def n_bins(self) -> int:
        """Total number of bins B."""
        return int(self.observed.size)

    def batch(self, samples: Sequence[Sequence[Sample]], size: int | None = None) -> Batch:
        """Add the hypothesis-dependent samples of H hypotheses to the fixed part.

        Args:
            samples: per channel (in the order of :attr:`channels`), the samples named in :attr:`dynamic`,
                each histogram with a leading axis H (as from :func:`cevns_hf.templates.batch.grid_neutrino_samples`).
                Extra samples (e.g. ``es`` when it was dropped) are ignored.
            size: H, needed only when no channel has a dynamic sample.

        Returns:
            The summed model of the H hypotheses.
        """
        from cevns_hf.inference.assemble import hypothesis_batch

        return hypothesis_batch(self, samples, size)

    def with_data(self, batch: Batch, data: FloatArray, aux: FloatArray | None = None) -> Batch:
        """The batch with per-row observed data (H, B) and auxiliary data (H, K) (e.g. toys).

        Args:
            batch: the model rows (a leading axis of length 1 is broadcast over the data rows).
            data: (H, B) counts, or (B,) for one row.
            aux: (H, K) auxiliary data of the unit-Gaussian constraints (default 0).

        Returns:
            The batch with ``data``, ``aux`` and the matching constant.
        """
        n = np.atleast_2d(np.asarray(data, dtype=float))
        k = len(self.nuisances)
        if n.ndim != 2 or n.shape[1] != self.n_bins:
            msg = f"data must have shape (H, {self.n_bins}), got {np.shape(data)}"
            raise ConfigurationError(msg)
        if np.any(n < 0) or not np.all(np.isfinite(n)):
            msg = "data must be finite counts >= 0"
            raise ConfigurationError(msg)
        g = None if aux is None else np.atleast_2d(np.asarray(aux, dtype=float))
        if g is not None and (g.ndim != 2 or g.shape[1] != k or g.shape[0] not in (1, n.shape[0])):
            msg = f"aux must have shape ({n.shape[0]}, {k}), got {g.shape}"
            raise ConfigurationError(msg)
        if batch.size not in (1, n.shape[0]):
            msg = f"{n.shape[0]} data rows for a batch of {batch.size} rows"
            raise ConfigurationError(msg)
        constant = 2.0 * np.sum(special.gammaln(n + 1.0), axis=1) + k * math.log(2.0 * math.pi)
        return replace(batch, data=n, aux=g, constant=constant)

    # --- evaluation -------------------------------------------------------------------------------------

    def _fixed_mu(self, batch: Batch, mu: float | FloatArray | None) -> Batch:
        if not batch.has_poi:
            return batch
        if mu is None:
            msg = f"the batch has samples scaled by the POI {self.poi}: give its value mu"
            raise ConfigurationError(msg)
        return batch.fold(mu)

    def expected(self, batch: Batch, theta: FloatArray, mu: float | FloatArray | None = None) -> FloatArray:
        """(H, B) expected counts at nuisances ``theta`` (H, K) and POI ``mu`` (scalar or (H,), if any)."""
        b = self._fixed_mu(batch, mu)
        t = np.asarray(theta, dtype=float)
        c2, _, _ = code4p_coefficients(t)
        return expected_counts(b.parts, t, c2)

    def twice_nll(self, batch: Batch, theta: FloatArray, mu: float | FloatArray | None = None) -> FloatArray:
        """(H,) pyhf's twice_nll at nuisances ``theta`` (H, K) (and POI ``mu``); +inf where a bin with data has no
        prediction."""
        t = np.asarray(theta, dtype=float)
        return self._twice_nll(batch, self.expected(batch, t, mu), t)

    def _twice_nll(self, batch: Batch, lam: FloatArray, theta: FloatArray) -> FloatArray:
        n = self.observed if batch.data is None else batch.data
        observed = n > 0
        bad = np.any((lam <= 0) & observed, axis=1) | ~np.all(np.isfinite(lam), axis=1)
        safe = np.where(observed, np.where(lam > 0, lam, 1.0), 1.0)
        value = 2.0 * np.sum(lam - np.where(observed, n * np.log(safe), 0.0), axis=1)
        pull = theta if batch.aux is None else theta - batch.aux
        constant = self.constant if batch.constant is None else batch.constant
        value = value + np.sum(pull * pull, axis=1) + constant
        return np.where(bad, np.inf, value)

    def derivatives(
        self, batch: Batch, theta: FloatArray, mu: float | FloatArray | None = None
    ) -> tuple[FloatArray, FloatArray, FloatArray]:
        """twice_nll (H,), its gradient (H, K) and Hessian (H, K, K) with respect to the nuisances (POI fixed)."""
        b = self._fixed_mu(batch, mu)
        t = np.asarray(theta, dtype=float)
        c2, d1, d2 = code4p_coefficients(t)
        lam, states = rates(b.parts, t, c2)
        value = self._twice_nll(b, lam, t)
        resid, weight = self._poisson_terms(b, lam)
        terms = jacobians(states, d1, d2, resid)
        jac = terms.jac  # (H, K, B) d(lambda)/d(theta)
        grad = np.matmul(jac, resid[:, :, None])[:, :, 0] + 2.0 * (t if b.aux is None else t - b.aux)
        hess = np.matmul(jac * weight[:, None, :], np.swapaxes(jac, 1, 2)) + terms.curvature
        k = np.arange(t.shape[1])
        hess[:, k, k] += 2.0
        return value, grad, hess

    def _poisson_terms(self, batch: Batch, lam: FloatArray) -> tuple[FloatArray, FloatArray]:
        """d(twice_nll)/d(lambda) and d2(twice_nll)/d(lambda)2 per bin."""
        n = self.observed if batch.data is None else batch.data
        safe = np.where(lam > 0, lam, 1.0)
        ratio = n / safe
        return 2.0 * (1.0 - ratio), 2.0 * ratio / safe

    def derivatives_free(self, batch: Batch, x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """twice_nll (H,), gradient (H, K+J) and Hessian (H, K+J, K+J) in x = (theta, mu), the J POIs free.

        A group's weight is a monomial :math:`m_g(\\mu) = \\prod_j \\mu_j^{p_{gj}}` (for a normfactor POI,
        :math:`\\mu` or 1): :math:`\\partial_{\\mu_j}\\lambda = \\sum_g \\partial_j m_g F_g L_g`,
        :math:`\\partial_{\\mu_j}\\partial_{\\mu_l}\\lambda = \\sum_g \\partial_j\\partial_l m_g F_g L_g` and
        :math:`\\partial_{\\theta_k}\\partial_{\\mu_j}\\lambda` is the Jacobian of the groups weighted by
        :math:`\\partial_j m_g` (:mod:`cevns_hf.inference.groups`).
        """
        if not batch.has_poi:
            msg = "no sample depends on a POI: it cannot be fitted"
            raise ConfigurationError(msg)
        x = np.asarray(x, dtype=float)
        n_k = len(self.nuisances)
        t, m = x[:, :n_k], x[:, n_k:]
        c2, d1, d2 = code4p_coefficients(t)
        lam, states = rates(batch.parts, t, c2, mu=m)
        value = self._twice_nll(batch, lam, t)
        resid, weight = self._poisson_terms(batch, lam)
        terms = jacobians(states, d1, d2, resid, with_poi=True)
        if terms.signal is None or terms.cross is None or terms.second is None:  # pragma: no cover
            msg = "internal error: no POI derivatives"
            raise RuntimeError(msg)
        jac = np.concatenate([terms.jac, terms.signal], axis=1)
        pull = t if batch.aux is None else t - batch.aux
        grad = np.matmul(jac, resid[:, :, None])[:, :, 0]
        grad[:, :n_k] += 2.0 * pull
        hess = np.matmul(jac * weight[:, None, :], np.swapaxes(jac, 1, 2))
        hess[:, :n_k, :n_k] += terms.curvature
        k = np.arange(n_k)
        hess[:, k, k] += 2.0
        mixed = np.einsum("hjkb,hb->hkj", terms.cross, resid)  # (H, K, J)
        hess[:, :n_k, n_k:] += mixed
        hess[:, n_k:, :n_k] += np.swapaxes(mixed, 1, 2)
        hess[:, n_k:, n_k:] += terms.second
        return value, grad, hess

    # --- minimisation -----------------------------------------------------------------------------------

    def profile(
        self,
        batch: Batch,
        theta0: FloatArray | None = None,
        *,
        mu: float | FloatArray | None = None,
        mu0: float | FloatArray | None = None,
        poi_bounds: tuple[FloatArray, FloatArray] | None = None,
        tol: float = 1e-10,
        max_iter: int = 100,
        quiet: bool = False,
        engine: Engine = "compiled",
    ) -> Profile:
        """Minimise twice_nll over every nuisance (and the POIs unless fixed) at each of the H rows.

        At fixed POIs, channels that share no nuisance are profiled separately (:mod:`cevns_hf.inference.blocks`:
        the minimum is the sum of the blocks' minima); free POIs couple them.

        Args:
            batch: the H rows.
            theta0: starting nuisances, (K,) for all rows or (H, K); default 0 (clipped into the bounds).
            mu: a batch with POIs: their fixed values (scalar or (H,) for one POI, (J,) or (H, J)); None fits
                them within the bounds.
            mu0: start of the free POIs (scalar or (H,) for one POI, (J,) or (H, J)); default :attr:`poi_init`.
            poi_bounds: (lower (J,), upper (J,)) bounds of the free POIs; default :attr:`poi_bounds` (one POI).
            tol: convergence when the Newton decrement g^T H^-1 g (about twice the distance of twice_nll to
                its minimum) of the free parameters is below ``tol``.
            max_iter: iterations at most.
            quiet: do not log rows that did not converge (the caller handles them, e.g. with other starts).
            engine: ``"compiled"``, the row-by-row kernels of :mod:`cevns_hf.inference.kernel` (the numpy engine
                where numba is missing), or ``"numpy"``, the batched reference
                (:func:`cevns_hf.inference.newton.minimise`); both run the same algorithm.

        Returns:
            The minimum twice_nll, nuisances (and POIs: (H,) for one, (H, J) for more), convergence flags and
            iteration counts.
        """
        if engine not in ENGINES:
            msg = f"engine must be one of {', '.join(ENGINES)}, got {engine!r}"
            raise ConfigurationError(msg)
        free = batch.has_poi and mu is None
        if free:
            return self._profile_joint(
                batch, theta0, mu0=mu0, poi_bounds=poi_bounds, tol=tol, max_iter=max_iter, quiet=quiet, engine=engine
            )
        work = self._fixed_mu(batch, mu)
        n_k = len(self.nuisances)
        split = blocks(work.parts, self.shapes, n_k)
        if len(split) < 2:
            return self._profile_joint(
                work, theta0, tol=tol, max_iter=max_iter, quiet=quiet, mu_value=mu, engine=engine
            )
        h = work.size
        start = np.zeros(n_k) if theta0 is None else np.asarray(theta0, dtype=float)
        if start.ndim == 2:
            h = max(h, start.shape[0])
        start = np.broadcast_to(start, (h, n_k))
        total, theta = np.zeros(h), np.zeros((h, n_k))
        converged, iterations = np.ones(h, dtype=bool), np.zeros(h, dtype=np.int64)
        for blk, sub, sub_batch in block_problems(self, work, split):
            prof = sub._profile_joint(
                sub_batch, start[:, blk.nuisances], tol=tol, max_iter=max_iter, quiet=True, engine=engine
            )
            total += prof.twice_nll
            theta[:, blk.nuisances] = prof.theta
            converged &= prof.converged
            iterations = np.maximum(iterations, prof.iterations)
        if not quiet and not np.all(converged):
            log.warning("the profile did not converge at %d of %d rows", int(np.sum(~converged)), h)
        return Profile(total, theta, converged, iterations, _reported_mu(mu, h))

    def _profile_joint(
        self,
        batch: Batch,
        theta0: FloatArray | None = None,
        *,
        mu0: float | FloatArray | None = None,
        poi_bounds: tuple[FloatArray, FloatArray] | None = None,
        tol: float = 1e-10,
        max_iter: int = 100,
        quiet: bool = False,
        mu_value: float | FloatArray | None = None,
        engine: Engine = "compiled",
    ) -> Profile:
        """:meth:`profile` of all channels together: the POIs are free when the batch has them (fixed POIs are
        folded into the batch first); the other arguments are :meth:`profile`'s; ``mu_value``: the fixed POIs to
        report for a folded batch."""
        free = batch.has_poi
        work = batch
        n_k = len(self.nuisances)
        n_j = batch.n_pois if free else 0
        start = np.zeros(n_k) if theta0 is None else np.asarray(theta0, dtype=float)
        # rows: the batch's, or more starting points of a one-row batch (several starts of one fit)
        h = max(work.size, start.shape[0] if start.ndim == 2 else 1)
        if free and mu0 is not None:
            h = max(h, as_poi_values(mu0, n_j).shape[0])
        x0 = np.array(np.broadcast_to(start, (h, n_k)), dtype=float)
        lower, upper = self.lower, self.upper
        restart = None if theta0 is None else np.zeros((h, n_k))
        if free:
            m0 = np.broadcast_to(as_poi_values(self.poi_init if mu0 is None else mu0, n_j), (h, n_j))
            x0 = np.concatenate([x0, m0], axis=1)
            lo, hi = (self.poi_bounds[0], self.poi_bounds[1]) if poi_bounds is None else poi_bounds
            lower = np.append(lower, np.broadcast_to(np.asarray(lo, dtype=float), (n_j,)))
            upper = np.append(upper, np.broadcast_to(np.asarray(hi, dtype=float), (n_j,)))
            if restart is not None:
                restart = np.concatenate([restart, m0], axis=1)

        def sub(rows: npt.NDArray[np.intp]) -> Batch:
            return work if rows.size == h else work.take(rows)

        def evaluate(rows: npt.NDArray[np.intp], x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
            return self.derivatives_free(sub(rows), x) if free else self.derivatives(sub(rows), x)

        def value(rows: npt.NDArray[np.intp], x: FloatArray) -> FloatArray:
            b = sub(rows)
            if free:
                return self._twice_nll(b, self.expected(b, x[:, :n_k], x[:, n_k:]), x[:, :n_k])
            return self.twice_nll(b, x)

        if engine == "compiled" and kernel.available:
            best = kernel.minimise_rows(
                kernel.pack(work.parts, n_k, n_j, self.n_bins),
                x0,
                lower,
                upper,
                n_k=n_k,
                data=self.observed if work.data is None else work.data,
                aux=work.aux,
                constant=self.constant if work.constant is None else work.constant,
                tol=tol,
                max_iter=max_iter,
                restart=restart,
            )
        else:
            if engine == "compiled":
                kernel.unavailable_reason()  # logs why, once
            best = minimise(evaluate, value, x0, lower, upper, tol=tol, max_iter=max_iter, restart=restart)
        if not quiet and not np.all(best.converged):
            log.warning("the profile did not converge at %d of %d rows", int(np.sum(~best.converged)), h)
        if free:
            fitted = best.x[:, n_k:]
            return Profile(
                best.value, best.x[:, :n_k], best.converged, best.iterations, fitted[:, 0] if n_j == 1 else fitted
            )
        return Profile(best.value, best.x, best.converged, best.iterations, _reported_mu(mu_value, h))


def _reported_mu(mu: float | FloatArray | None, h: int) -> FloatArray | None:
    """The fixed POI values of a profile, (H,) for one POI (None when there are none)."""
    if mu is None:
        return None
    m = np.asarray(mu, dtype=float)
    return np.array(np.broadcast_to(m, (h,))) if m.size in (1, h) and m.ndim <= 1 else np.asarray(m)
