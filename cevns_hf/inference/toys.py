r"""Toy-based (pseudo-experiment) CLs with the project's likelihood engine.

Test statistic :math:`\tilde q_\mu` (Cowan, Cranmer, Gross, Vitells, EPJC 71 (2011) 1554, eq. 16), as
``pyhf.infer.test_statistics.qmu_tilde``:

.. math::
    \tilde q_\mu = \begin{cases} 0 & \hat\mu > \mu \\
        \max\big(0,\; -2\ln L(\mu, \hat{\hat\theta}_\mu) + 2\ln L(\hat\mu, \hat\theta)\big) & \text{else} \end{cases}

with :math:`\hat\mu` bounded below by 0 (the POI's lower bound in our workspaces). The toys follow pyhf
0.7.6's ``ToyCalculator`` (``pyhf/infer/calculators.py``), so that the numbers are comparable:

* s+b toys are generated at the conditional fit of the observed data at the tested :math:`\mu`
  (:math:`\hat{\hat\theta}_\mu`), b-only toys at the conditional fit at :math:`\mu = 0`: main data
  :math:`n_b \sim \mathrm{Poisson}(\max(\lambda_b, 0))` (a bin whose fitted expectation is slightly
  negative, possible with linearly extrapolated histosys, yields no event), auxiliary data
  :math:`a_k \sim N(\hat\theta_k, 1)`;
* :math:`\mathrm{CL}_{s+b} = P_{s+b}(\tilde q \ge \tilde q_{obs})`, :math:`\mathrm{CL}_b = P_b(\tilde q \ge
  \tilde q_{obs})` (fractions of toys), :math:`\mathrm{CL}_s = \mathrm{CL}_{s+b}/\mathrm{CL}_b`;
* the expected band: :math:`\mathrm{CL}_s` evaluated at every b-only toy's :math:`\tilde q`, and its
  percentiles at :math:`\Phi(-2), \Phi(-1), 0.5, \Phi(1), \Phi(2)` (linear interpolation), in pyhf's
  order (-2 sigma first, the smallest CLs).

All toys of a tested value are fitted together (conditional and free fits, batched by
:meth:`~cevns_hf.inference.likelihood.Likelihood.profile`). Random numbers come from a
:class:`numpy.random.Generator` (PCG64) seeded by :class:`numpy.random.SeedSequence` of (seed, the bits
of the tested value): a (seed, value) pair gives the same toys whatever else is computed before, and
numpy's global random state is never used.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError, FitError
from cevns_hf.inference.likelihood import Batch, Likelihood, Profile
from cevns_hf.inference.results import CLsPoint

__all__ = [
    "EXPECTED_PERCENTILES",
    "QTilde",
    "ToyDistributions",
    "cls_from_toys",
    "qmu_tilde",
    "toy_distributions",
    "toy_generator",
]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Percentiles (%) of the b-only CLs values giving the expected band -2, -1, 0, +1, +2 sigma (100 Phi(n)).
EXPECTED_PERCENTILES = tuple(100.0 * 0.5 * math.erfc(-n / math.sqrt(2.0)) for n in (-2, -1, 0, 1, 2))
#: Toys fitted at once (bounds the memory of the (rows, K, B) arrays).
_CHUNK = 512


def toy_generator(seed: int | None, poi_value: float) -> np.random.Generator:
    """The random generator of the toys of one tested POI value.

    Args:
        seed: a non-negative integer; None takes fresh entropy from the operating system.
        poi_value: the tested value (its float64 bits enter the seed).

    Returns:
        A PCG64 generator seeded by ``SeedSequence([seed, *bits(poi_value)])``.
    """
    if seed is None:
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence()))
    if int(seed) < 0:
        msg = f"the seed must be a non-negative integer, got {seed!r}"
        raise ConfigurationError(msg)
    bits = np.frombuffer(np.float64(poi_value).tobytes(), dtype=np.uint32)
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), *(int(b) for b in bits)])))


@dataclass(frozen=True, eq=False)
class QTilde:
    """:math:`\\tilde q_\\mu` of H datasets and the two fits behind it.

    Attributes:
        q: (H,) the test statistic.
        conditional: fits at the tested POI value.
        free: fits with the POI free within its bounds.
    """

    q: FloatArray
    conditional: Profile
    free: Profile


def qmu_tilde(
    lik: Likelihood,
    batch: Batch,
    mu: float,
    *,
    theta0: FloatArray | None = None,
    mu0: float | FloatArray | None = None,
) -> QTilde:
    """:math:`\\tilde q_\\mu` of every row of ``batch`` (rows: datasets, e.g. from :meth:`Likelihood.with_data`).

    Args:
        lik: the likelihood (POI bounds: the free fit's; the lower bound should be 0).
        batch: rows with the samples carrying the POI.
        mu: the tested POI value.
        theta0: starting nuisances of both fits, (K,) or (H, K).
        mu0: starting POI of the free fit (default: the POI's initial value).

    Returns:
        The test statistic and the fits.
    """
    conditional = lik.profile(batch, theta0, mu=float(mu))
    free = lik.profile(batch, theta0, mu0=mu0)
    assert free.mu is not None
    q = np.where(free.mu > mu, 0.0, np.clip(conditional.twice_nll - free.twice_nll, 0.0, None))
    return QTilde(q, conditional, free)


@dataclass(frozen=True, eq=False)
class ToyDistributions:
    """Test statistics of the observed data and of the toys at one tested POI value.

    Attributes:
        poi_value: the tested value.
        observed: :math:`\\tilde q_\\mu` of the observed data.
        signal: (n_toys,) of the s+b toys.
        background: (n_toys,) of the b-only toys.
        failed: toy fits that did not converge (s+b and b-only together).
    """

    poi_value: float
    observed: float
    signal: FloatArray
    background: FloatArray
    failed: int


def _tail(samples: FloatArray, values: FloatArray) -> FloatArray:
    """Fraction of ``samples`` >= each of ``values`` (pyhf's ``EmpiricalDistribution.pvalue``)."""
    ordered = np.sort(samples)
    return (ordered.size - np.searchsorted(ordered, values, side="left")) / ordered.size


def cls_from_toys(dist: ToyDistributions) -> CLsPoint:
    """Observed and expected CLs from the toy distributions (pyhf ToyCalculator definitions).

    Where :math:`\\mathrm{CL}_b = 0` (the observation beyond every b-only toy) CLs is 0 if
    :math:`\\mathrm{CL}_{s+b} = 0` too (pyhf would give 0/0 = nan), else nan; a warning says so.
    """
    clsb_obs = float(_tail(dist.signal, np.array([dist.observed]))[0])
    clb_obs = float(_tail(dist.background, np.array([dist.observed]))[0])
    if clb_obs > 0:
        observed = clsb_obs / clb_obs
    else:
        observed = 0.0 if clsb_obs == 0 else math.nan
        log.warning(
            "toys at %g: the observed qtilde %.4g exceeds every b-only toy: CLs = %s (more toys needed)",
            dist.poi_value,
            dist.observed,
            observed,
        )
    per_toy = _tail(dist.signal, dist.background) / _tail(dist.background, dist.background)
    band = np.percentile(per_toy, EXPECTED_PERCENTILES)
    exp = tuple(float(v) for v in band)
    return CLsPoint(float(dist.poi_value), float(observed), (exp[0], exp[1], exp[2], exp[3], exp[4]))


def _qtilde_toys(
    lik: Likelihood, batch: Batch, mu: float, data: FloatArray, aux: FloatArray, start: FloatArray, mu0: FloatArray
) -> tuple[FloatArray, int]:
    q = np.empty(data.shape[0])
    failed = 0
    for lo in range(0, data.shape[0], _CHUNK):
        cut = slice(lo, lo + _CHUNK)
        res = qmu_tilde(lik, lik.with_data(batch, data[cut], aux[cut]), mu, theta0=start[cut], mu0=mu0[cut])
        q[cut] = res.q
        failed += int(np.sum(~res.conditional.converged) + np.sum(~res.free.converged))
    return q, failed


def toy_distributions(lik: Likelihood, batch: Batch, mu: float, *, n_toys: int, seed: int | None) -> ToyDistributions:
    """Generate and fit the s+b and b-only toys of one tested POI value (see the module notes).

    Args:
        lik: the likelihood with its observed data (e.g. from :func:`cevns_hf.inference.assemble.from_workspace`).
        batch: its one-row batch with the samples carrying the POI.
        mu: the tested POI value.
        n_toys: toys per hypothesis (s+b and b-only each).
        seed: seed of :func:`toy_generator`.

    Returns:
        The test statistics.

    Raises:
        FitError: a fit of the observed data did not converge.
    """
    if int(n_toys) < 1:
        msg = f"n_toys must be >= 1, got {n_toys!r}"
        raise ConfigurationError(msg)
    mu = float(mu)
    obs = qmu_tilde(lik, batch, mu)
    background_fit = lik.profile(batch, mu=0.0)
    if not (obs.conditional.converged[0] and obs.free.converged[0] and background_fit.converged[0]):
        msg = f"a fit of the observed data for the toys at {lik.poi} = {mu:g} did not converge"
        raise FitError(msg)
    rng = toy_generator(seed, mu)
    n = int(n_toys)
    data, aux, start, mu0 = [], [], [], []
    for theta, value in ((obs.conditional.theta[0], mu), (background_fit.theta[0], 0.0)):
        rate = lik.expected(batch, theta[None], value)[0]
        low = rate < 0
        if np.any(low):
            log.info("toys: %d bins with negative expected counts (min %.3g) drawn as 0", int(low.sum()), rate.min())
        data.append(rng.poisson(np.clip(rate, 0.0, None), size=(n, rate.size)).astype(float))
        aux.append(rng.normal(theta, 1.0, size=(n, theta.size)))
        start.append(np.broadcast_to(theta, (n, theta.size)))
        mu0.append(np.full(n, value))
    q, failed = _qtilde_toys(
        lik, batch, mu, np.concatenate(data), np.concatenate(aux), np.concatenate(start), np.concatenate(mu0)
    )
    if failed:
        log.warning("toys at %s = %g: %d of %d toy fits did not converge", lik.poi, mu, failed, 4 * n)
    return ToyDistributions(mu, float(obs.q[0]), q[:n], q[n:], failed)
