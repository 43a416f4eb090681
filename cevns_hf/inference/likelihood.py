r"""The pyhf likelihood of our workspaces in vectorised numpy, for many hypotheses at once.

The workspaces of :mod:`cevns_hf.workspace.build` and :mod:`cevns_hf.workspace.hypothesis` contain only histosys
modifiers (linear normalisations are symmetric histosys, shapes are histosys) and normfactors. For such a
model pyhf 0.7.6 computes, bin by bin (``pyhf.interpolators.code4p``),

.. math::
    \lambda_b(\theta) = \sum_s \mu_s \Big(N^0_{sb} + \sum_k \Delta_{skb}(\theta_k)\Big), \qquad
    \Delta(\theta) = \begin{cases}
        \theta\,\delta^+ & \theta > 1 \\
        \theta\,\delta^- & \theta < -1 \\
        \theta S + \theta^2 (3\theta^4 - 10\theta^2 + 15) A & |\theta| \le 1
    \end{cases}

with :math:`\delta^+ = N^{hi} - N^0`, :math:`\delta^- = N^0 - N^{lo}`, :math:`S = (\delta^+ + \delta^-)/2`,
:math:`A = (\delta^+ - \delta^-)/16`, and

.. math::
    -2\ln L = 2\sum_b \big[\lambda_b - n_b \ln\lambda_b + \ln\Gamma(n_b + 1)\big]
              + \sum_k \theta_k^2 + K \ln(2\pi)

(Poisson per bin, a unit Gaussian constraint per nuisance with auxiliary datum 0): this is pyhf's
``twice_nll`` exactly, constants included.

Because :math:`\Delta` is linear in the histograms and the interpolation regime depends only on
:math:`\theta_k`, the deltas of all samples sharing a nuisance add up: with every normfactor at 1 (the
``mu_bsm = 1`` hypothesis workspace, where ``cevns + bsm_cevns`` is the hypothesis' CEvNS template) the
model is :math:`\lambda = N^0 + \sum_k [c_1(\theta_k) S_k + c_2(\theta_k) A_k]` with summed
:math:`N^0, S_k, A_k` and the scalar coefficients :math:`c_1 = \theta`,
:math:`c_2 = \theta^2(3\theta^4 - 10\theta^2 + 15)` inside :math:`|\theta| \le 1` and :math:`\pm 8\theta`
outside (:math:`\delta^\pm = S \pm 8A`). :math:`c_2` is twice continuously differentiable, so the
gradient and Hessian are analytic and Newton's method converges quadratically.

A :class:`Likelihood` holds the hypothesis-independent part (observed data, the summed backgrounds, the
nuisances and their bounds); a :class:`Batch` adds H hypotheses' neutrino samples (leading axis H), and
:meth:`Likelihood.profile` minimises over every nuisance for all H points together: a batched projected
Newton method (active set at the bounds of :func:`cevns_hf.workspace.modifiers.nuisance_bounds`, default (-5, 5)
elsewhere; the Hessian shifted to positive definite where the code4p curvature makes it indefinite; a
backtracking line search along the projected path), every point iterated until its own Newton
decrement is below the tolerance, independently of the others (so the result of a point does not depend
on the batch it is computed in). A free signal normalisation is not implemented: scans fix the
hypothesis completely (``mu_bsm = 1``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import special

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.templates.histograms import Sample, Templates
from cevns_hf.workspace.modifiers import nuisance_bounds

__all__ = ["DEFAULT_BOUNDS", "NEUTRINO_SAMPLES", "Batch", "Likelihood", "Profile", "code4p_coefficients"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Samples that depend on the hypothesis (everything else is a fixed background).
NEUTRINO_SAMPLES = ("cevns", "es")
#: pyhf's default bounds of a histosys parameter.
DEFAULT_BOUNDS = (-5.0, 5.0)
#: A nuisance within this distance of a bound counts as on it (for the active set).
_BOUND_TOL = 1e-12
#: Largest number of step halvings in the line search.
_MAX_HALVINGS = 40


def code4p_coefficients(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Coefficient of A in pyhf's code4p delta, :math:`\Delta = \theta S + c_2(\theta) A`, and its derivatives.

    Args:
        theta: nuisance values (any shape).

    Returns:
        (c2, dc2/dtheta, d2c2/dtheta2), each of the shape of ``theta``.
    """
    t = np.asarray(theta, dtype=float)
    t2 = t * t
    inside = np.abs(t) <= 1.0
    sign = np.where(t > 0, 8.0, -8.0)
    c2 = np.where(inside, t2 * (t2 * (3.0 * t2 - 10.0) + 15.0), sign * t)
    d1 = np.where(inside, t * (t2 * (18.0 * t2 - 40.0) + 30.0), sign)
    d2 = np.where(inside, t2 * (90.0 * t2 - 120.0) + 30.0, 0.0)
    return c2, d1, d2


@dataclass(frozen=True, eq=False)
class Batch:
    """The summed model of H hypotheses, flattened over channels and bins.

    Attributes:
        nominal: (H, B) total nominal prediction.
        s: (H, K, B) symmetric part S of the summed code4p deltas, per nuisance.
        a: (H, K, B) antisymmetric part A of the summed code4p deltas, per nuisance.
    """

    nominal: FloatArray
    s: FloatArray
    a: FloatArray

    @property
    def size(self) -> int:
        """Number of hypotheses H."""
        return int(self.nominal.shape[0])

    def take(self, index: npt.NDArray[np.integer[Any]] | slice) -> Batch:
        """The hypotheses selected by ``index`` (an integer array or a slice)."""
        return Batch(self.nominal[index], self.s[index], self.a[index])


@dataclass(frozen=True, eq=False)
class Profile:
    """Result of profiling the nuisances at H hypotheses.

    Attributes:
        twice_nll: (H,) pyhf's -2 ln L at the profiled nuisances.
        theta: (H, K) profiled nuisances (order of :attr:`Likelihood.nuisances`).
        converged: (H,) True where the Newton decrement fell below the tolerance.
        iterations: (H,) Newton iterations used.
    """

    twice_nll: FloatArray
    theta: FloatArray
    converged: np.ndarray
    iterations: np.ndarray


def _deltas(sample: Sample, index: Mapping[str, int], n_k: int, shape: tuple[int, ...]) -> tuple[FloatArray, ...]:
    """(nominal, delta_up, delta_down) of one sample, flattened: (..., B) and (..., K, B)."""
    nominal = np.asarray(sample.nominal, dtype=float)
    lead = nominal.shape[: nominal.ndim - len(shape)]
    flat = nominal.reshape((*lead, -1))
    up = np.zeros((*lead, n_k, flat.shape[-1]))
    down = np.zeros_like(up)
    for name, sigma in sample.norms.items():
        up[..., index[name], :] += sigma * flat
        down[..., index[name], :] += sigma * flat
    for name, (hi, lo) in sample.shapes.items():
        up[..., index[name], :] += np.asarray(hi, dtype=float).reshape((*lead, -1)) - flat
        down[..., index[name], :] += flat - np.asarray(lo, dtype=float).reshape((*lead, -1))
    return flat, up, down


@dataclass(frozen=True, eq=False)
class Likelihood:
    """The hypothesis-independent part of the likelihood of one or more channels.

    Build it with :meth:`from_templates`; add the hypothesis-dependent samples with :meth:`batch`.

    Attributes:
        channels: channel (experiment) names, in the order of the flattened bins.
        shapes: histogram shape of each channel.
        nuisances: names of the K nuisances (sorted).
        lower: (K,) lower bounds of the nuisances.
        upper: (K,) upper bounds of the nuisances.
        observed: (B,) observed counts of all channels, flattened (C order) and concatenated.
        nominal: (B,) summed nominal prediction of the fixed samples.
        s: (K, B) summed S of the fixed samples.
        a: (K, B) summed A of the fixed samples.
        dynamic: names of the samples that :meth:`batch` must provide, per channel.
        constant: :math:`2\\sum_b \\ln\\Gamma(n_b + 1) + K\\ln(2\\pi)`.
    """

    channels: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    nuisances: tuple[str, ...]
    lower: FloatArray
    upper: FloatArray
    observed: FloatArray
    nominal: FloatArray
    s: FloatArray
    a: FloatArray
    dynamic: tuple[tuple[str, ...], ...]
    constant: float

    @classmethod
    def from_templates(
        cls,
        templates: Sequence[Templates],
        *,
        dynamic: Sequence[str] = NEUTRINO_SAMPLES,
        drop: Sequence[str] = (),
    ) -> Likelihood:
        """The fixed part of the likelihood of the templates' channels.

        Args:
            templates: one :class:`~cevns_hf.templates.histograms.Templates` per channel (e.g. the SM templates); their
                samples named in ``dynamic`` are left out of the fixed part and must be given per
                hypothesis to :meth:`batch`; their nuisances still define the parameter list.
            dynamic: names of the hypothesis-dependent samples.
            drop: samples removed altogether (e.g. ``("es",)`` for a fit without electron scattering).

        Returns:
            The likelihood; the nuisance bounds are those of :func:`cevns_hf.workspace.modifiers.nuisance_bounds`,
            (-5, 5) for the others, as in the workspaces.
        """
        if not templates:
            msg = "the likelihood needs at least one channel"
            raise ConfigurationError(msg)
        kept = [
            Templates(t.experiment, t.axes, tuple(s for s in t.samples if s.name not in drop), t.observed)
            for t in templates
        ]
        names: set[str] = set()
        for tmpl in kept:
            for sample in tmpl.samples:
                names.update(sample.norms)
                names.update(sample.shapes)
        nuisances = tuple(sorted(names))
        index = {n: k for k, n in enumerate(nuisances)}
        bounds = nuisance_bounds(kept)
        lower = np.array([bounds.get(n, DEFAULT_BOUNDS)[0] for n in nuisances], dtype=float)
        upper = np.array([bounds.get(n, DEFAULT_BOUNDS)[1] for n in nuisances], dtype=float)
        observed, nominal, s, a = [], [], [], []
        for tmpl in kept:
            shape = tuple(np.shape(tmpl.observed))
            n_bins = math.prod(shape)
            nom = np.zeros(n_bins)
            up = np.zeros((len(nuisances), n_bins))
            down = np.zeros_like(up)
            for sample in tmpl.samples:
                if sample.name in dynamic:
                    continue
                f, u, d = _deltas(sample, index, len(nuisances), shape)
                nom += f
                up += u
                down += d
            observed.append(np.asarray(tmpl.observed, dtype=float).ravel())
            nominal.append(nom)
            s.append(0.5 * (up + down))
            a.append(0.0625 * (up - down))
        obs = np.concatenate(observed)
        constant = 2.0 * float(np.sum(special.gammaln(obs + 1.0))) + len(nuisances) * math.log(2.0 * math.pi)
        return cls(
            channels=tuple(t.experiment for t in kept),
            shapes=tuple(tuple(np.shape(t.observed)) for t in kept),
            nuisances=nuisances,
            lower=lower,
            upper=upper,
            observed=obs,
            nominal=np.concatenate(nominal),
            s=np.concatenate(s, axis=1),
            a=np.concatenate(a, axis=1),
            dynamic=tuple(tuple(s.name for s in t.samples if s.name in dynamic) for t in kept),
            constant=constant,
        )

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
        if len(samples) != len(self.channels):
            msg = f"expected samples for {len(self.channels)} channels {list(self.channels)}, got {len(samples)}"
            raise ConfigurationError(msg)
        index = {n: k for k, n in enumerate(self.nuisances)}
        n_k = len(self.nuisances)
        parts_nom, parts_up, parts_down = [], [], []
        h = size
        for channel, shape, wanted, given in zip(self.channels, self.shapes, self.dynamic, samples, strict=True):
            by_name = {s.name: s for s in given}
            missing = [n for n in wanted if n not in by_name]
            if missing:
                msg = f"channel {channel} needs the hypothesis-dependent samples {missing}"
                raise ConfigurationError(msg)
            n_bins = math.prod(shape)
            nom: FloatArray | None = None
            up: FloatArray | None = None
            down: FloatArray | None = None
            for name in wanted:
                unknown = sorted((set(by_name[name].norms) | set(by_name[name].shapes)) - set(index))
                if unknown:
                    msg = f"sample {name} of {channel} has nuisances {unknown} unknown to the likelihood"
                    raise ConfigurationError(msg)
                f, u, d = _deltas(by_name[name], index, n_k, shape)
                if f.ndim != 2 or f.shape[1] != n_bins:
                    msg = f"sample {name} of {channel} must have shape (H, *{shape}), got {by_name[name].nominal.shape}"
                    raise ConfigurationError(msg)
                nom = f if nom is None else nom + f
                up = u if up is None else up + u
                down = d if down is None else down + d
            if nom is not None:
                if h is None:
                    h = nom.shape[0]
                elif nom.shape[0] != h:
                    msg = f"all samples need the same number of hypotheses, got {nom.shape[0]} and {h}"
                    raise ConfigurationError(msg)
            parts_nom.append((nom, n_bins))
            parts_up.append(up)
            parts_down.append(down)
        if h is None:
            msg = "no hypothesis-dependent sample given: pass size="
            raise ConfigurationError(msg)
        nominal = np.empty((h, self.n_bins))
        up_all = np.empty((h, n_k, self.n_bins))
        down_all = np.empty_like(up_all)
        start = 0
        for (nom, n_bins), up, down in zip(parts_nom, parts_up, parts_down, strict=True):
            cut = slice(start, start + n_bins)
            nominal[:, cut] = self.nominal[cut] if nom is None else self.nominal[cut] + nom
            fixed_up = self.s[:, cut] + 8.0 * self.a[:, cut]
            fixed_down = self.s[:, cut] - 8.0 * self.a[:, cut]
            up_all[:, :, cut] = fixed_up if up is None else fixed_up + up
            down_all[:, :, cut] = fixed_down if down is None else fixed_down + down
            start += n_bins
        return Batch(nominal, 0.5 * (up_all + down_all), 0.0625 * (up_all - down_all))

    # --- evaluation -------------------------------------------------------------------------------------

    def expected(self, batch: Batch, theta: FloatArray) -> FloatArray:
        """(H, B) expected counts at nuisances ``theta`` (H, K)."""
        t = np.asarray(theta, dtype=float)
        c2, _, _ = code4p_coefficients(t)
        lam = batch.nominal + np.matmul(t[:, None, :], batch.s)[:, 0, :]
        return lam + np.matmul(c2[:, None, :], batch.a)[:, 0, :]

    def twice_nll(self, batch: Batch, theta: FloatArray) -> FloatArray:
        """(H,) pyhf's twice_nll at nuisances ``theta`` (H, K); +inf where a bin with data has no prediction."""
        t = np.asarray(theta, dtype=float)
        lam = self.expected(batch, t)
        return self._twice_nll(lam, t)

    def _twice_nll(self, lam: FloatArray, theta: FloatArray) -> FloatArray:
        n = self.observed
        observed = n > 0
        bad = np.any((lam <= 0) & observed, axis=1) | ~np.all(np.isfinite(lam), axis=1)
        safe = np.where(observed, np.where(lam > 0, lam, 1.0), 1.0)
        value = 2.0 * np.sum(lam - np.where(observed, n * np.log(safe), 0.0), axis=1)
        value = value + np.sum(theta * theta, axis=1) + self.constant
        return np.where(bad, np.inf, value)

    def derivatives(self, batch: Batch, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """twice_nll (H,), its gradient (H, K) and Hessian (H, K, K) with respect to the nuisances."""
        t = np.asarray(theta, dtype=float)
        c2, d1, d2 = code4p_coefficients(t)
        lam = batch.nominal + np.matmul(t[:, None, :], batch.s)[:, 0, :] + np.matmul(c2[:, None, :], batch.a)[:, 0, :]
        value = self._twice_nll(lam, t)
        n = self.observed
        safe = np.where(lam > 0, lam, 1.0)
        ratio = n / safe
        resid = 2.0 * (1.0 - ratio)  # d(value)/d(lambda)
        weight = 2.0 * ratio / safe  # d2(value)/d(lambda)2
        jac = batch.s + d1[:, :, None] * batch.a  # (H, K, B) d(lambda)/d(theta)
        grad = np.matmul(jac, resid[:, :, None])[:, :, 0] + 2.0 * t
        hess = np.matmul(jac * weight[:, None, :], np.swapaxes(jac, 1, 2))
        curvature = d2 * np.matmul(batch.a, resid[:, :, None])[:, :, 0] + 2.0
        k = np.arange(t.shape[1])
        hess[:, k, k] += curvature
        return value, grad, hess

    # --- minimisation -----------------------------------------------------------------------------------

    def profile(
        self,
        batch: Batch,
        theta0: FloatArray | None = None,
        *,
        tol: float = 1e-10,
        max_iter: int = 100,
    ) -> Profile:
        """Minimise twice_nll over every nuisance at each of the H hypotheses (batched projected Newton).

        Args:
            batch: the H hypotheses.
            theta0: starting nuisances, (K,) for all points or (H, K); default 0 (clipped into the bounds).
            tol: convergence when the Newton decrement g^T H^-1 g (about twice the distance of twice_nll to
                its minimum) of the free nuisances is below ``tol``.
            max_iter: iterations at most.

        Returns:
            The profiled twice_nll, nuisances, convergence flags and iteration counts.
        """
        h, n_k = batch.size, len(self.nuisances)
        start = np.zeros(n_k) if theta0 is None else np.asarray(theta0, dtype=float)
        theta = np.array(np.clip(np.broadcast_to(start, (h, n_k)), self.lower, self.upper), dtype=float)
        value, grad, hess = self.derivatives(batch, theta)
        infeasible = np.flatnonzero(~np.isfinite(value))
        if infeasible.size and theta0 is not None:  # no prediction where data are: restart from nominal
            theta[infeasible] = np.clip(0.0, self.lower, self.upper)
            value[infeasible], grad[infeasible], hess[infeasible] = self.derivatives(
                batch.take(infeasible), theta[infeasible]
            )
        done = np.zeros(h, dtype=bool)
        converged = np.zeros(h, dtype=bool)
        iterations = np.zeros(h, dtype=np.int64)
        eye = np.eye(n_k)
        for _ in range(max_iter):
            idx = np.flatnonzero(~done)
            if idx.size == 0:
                break
            t, g, hs, f = theta[idx], grad[idx], hess[idx], value[idx]
            at_lo = t <= self.lower + _BOUND_TOL
            at_hi = t >= self.upper - _BOUND_TOL
            fixed = (at_lo & (g > 0)) | (at_hi & (g < 0))
            g_free = np.where(fixed, 0.0, g)
            pair = fixed[:, :, None] | fixed[:, None, :]
            h_free = np.where(pair, 0.0, hs) + fixed[:, :, None] * eye
            eig_min = np.linalg.eigvalsh(h_free)[:, 0]
            scale = np.max(np.abs(np.diagonal(h_free, axis1=1, axis2=2)), axis=1)
            shift = np.maximum(0.0, 1e-10 * scale - eig_min)
            h_free = h_free + shift[:, None, None] * eye
            step = -np.linalg.solve(h_free, g_free[:, :, None])[:, :, 0]
            decrement = -np.sum(g_free * step, axis=1)
            finished = ~np.isfinite(f) | (decrement < tol)
            converged[idx[finished]] = np.isfinite(f[finished])
            done[idx[finished]] = True
            keep = ~finished
            idx, t, g, f, step = idx[keep], t[keep], g[keep], f[keep], step[keep]
            if idx.size == 0:
                break
            iterations[idx] += 1
            sub = batch if idx.size == h else batch.take(idx)
            alpha = np.ones(idx.size)
            accepted = np.zeros(idx.size, dtype=bool)
            trial = t.copy()
            for _ in range(_MAX_HALVINGS):
                todo = np.flatnonzero(~accepted)
                if todo.size == 0:
                    break
                cand = np.clip(t[todo] + alpha[todo, None] * step[todo], self.lower, self.upper)
                f_cand = self.twice_nll(sub if todo.size == idx.size else sub.take(todo), cand)
                expect = np.sum(g[todo] * (cand - t[todo]), axis=1)
                ok = np.isfinite(f_cand) & (f_cand <= f[todo] + 1e-4 * expect)
                trial[todo[ok]] = cand[ok]
                accepted[todo[ok]] = True
                alpha[todo[~ok]] *= 0.5
            stalled = ~accepted
            if np.any(stalled):
                # no decrease along the projected Newton path: at the minimum to within rounding, or stuck
                converged[idx[stalled]] = decrement[keep][stalled] < 1e-6
                done[idx[stalled]] = True
            moved = idx[accepted]
            theta[moved] = trial[accepted]
            at = batch if moved.size == h else batch.take(moved)
            value[moved], grad[moved], hess[moved] = self.derivatives(at, theta[moved])
        if not np.all(done):
            log.debug("%d of %d points reached max_iter=%d", int(np.sum(~done)), h, max_iter)
        if not np.all(converged):
            log.warning("the nuisance profile did not converge at %d of %d points", int(np.sum(~converged)), h)
        return Profile(value, theta, converged, iterations)
