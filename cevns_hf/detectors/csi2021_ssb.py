r"""The CsI 2021 steady-state background (SSB) model and the efficiencies it shares with the signal.

Two models of the SSB from the anti-coincidence (AC) window of the release (``dataBeamOnAC.txt``):

* ``"smooth"`` (default): the AC energy spectrum (histogram, or an unbinned fit ``eps_E(x) exp(cubic)``) times
  a time shape fitted to the AC event times by unbinned maximum likelihood (flat, i.e. steady, or exponential)
  seen through the time efficiency exactly as the other samples, normalised to the AC count in the region;
  its statistical uncertainty 1/sqrt(N_AC) is alpha_3;
* ``"binned"``: the AC histogram itself (a Poisson sample used as an expectation: unstable on fine bins).

The measurements behind these choices are in ``docs/model.md`` ("The CsI steady-state background").
The energy efficiency (``effCoefficients.txt``) and the time efficiency (member-group configuration) are the
detector's, used here and by :mod:`cevns_hf.detectors.csi2021` for the signal.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import optimize, special

from cevns_hf._typing import FloatArray
from cevns_hf.detectors import loaders
from cevns_hf.detectors.response import bin_fine, shifted_time_bins
from cevns_hf.exceptions import ConfigurationError, DataError

if TYPE_CHECKING:
    from cevns_hf.detectors.csi2021 import CsI2021Config

__all__ = [
    "SIGMA_SSB_BINNED",
    "SSB_ENERGY_SHAPES",
    "SSB_MODELS",
    "SSB_TIME_SHAPES",
    "SSBTimeFit",
    "energy_efficiency",
    "fit_ssb_energy_spectrum",
    "fit_ssb_time_slope",
    "smooth_ssb",
    "ssb_time_fractions",
    "steady_state",
    "time_efficiency",
]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)


#: steady-state background models: "smooth" (AC energy spectrum x fitted time shape), "binned" (AC histogram)
SSB_MODELS: tuple[str, ...] = ("smooth", "binned")


#: time shapes of the smooth SSB before the time efficiency: "flat" (steady state) or "exponential" (fitted)
SSB_TIME_SHAPES: tuple[str, ...] = ("flat", "exponential")


#: energy spectra of the smooth SSB: "histogram" (AC counts per energy bin) or "fit" (eps_E x exp-cubic fit)
SSB_ENERGY_SHAPES: tuple[str, ...] = ("histogram", "fit")


#: degree of the polynomial in the exponent of the fitted SSB energy spectrum (chi2 / ndf on 2-PE bins of
#: the 1295 AC events: 118/25 for 1, 37.5/24 for 2, 17.2/23 for 3)
_SSB_ENERGY_DEGREE = 3


#: step of the fine PE grid of the fitted SSB energy spectrum [PE]
_SSB_ENERGY_STEP_PE = 0.01


#: (config) SSB normalisation uncertainty of the binned model (alpha_3)
SIGMA_SSB_BINNED = 0.021


#: range of the unbinned maximum-likelihood fit of the SSB time slope [1/us]
_SLOPE_BOUNDS = (-2.0, 2.0)


#: step of the fine time grid on which the smooth SSB time shape and its efficiency are integrated [us]
_SSB_TIME_STEP_US = 0.001


def energy_efficiency(coeffs: FloatArray, pe: FloatArray) -> FloatArray:
    """Energy efficiency a/(1+exp(-b(x-c))) + d, clipped to [0, 1]."""
    a, b, c, d = coeffs
    return np.clip(a / (1.0 + np.exp(-b * (pe - c))) + d, 0.0, 1.0)


def time_efficiency(config: CsI2021Config) -> loaders.Efficiency:
    def eff(t: FloatArray) -> FloatArray:
        late = np.exp(-config.time_eff_decay_per_us * (t - config.time_eff_onset_us))
        return np.where(t < config.time_eff_onset_us, 1.0, late)

    return eff


@dataclass(frozen=True)
class SSBTimeFit:
    """Unbinned maximum-likelihood fit of the steady-state time slope to the AC event times.

    Attributes:
        slope_per_us: fitted lambda [1/us] of the density eps_t(t) exp(-lambda t); 0 = flat steady state.
        error_per_us: its 1-sigma error from the curvature of -ln L.
        n_events: the AC events of the region used in the fit.
    """

    slope_per_us: float
    error_per_us: float
    n_events: int


def _ssb_time_grid(config: CsI2021Config) -> tuple[FloatArray, FloatArray]:
    """Fine time grid over the region (edges) and the time efficiency at the fine-bin centres."""
    t0, t1 = config.time_edges[0], config.time_edges[-1]
    fine = np.linspace(t0, t1, max(round((t1 - t0) / _SSB_TIME_STEP_US), 1) + 1)
    centres = 0.5 * (fine[1:] + fine[:-1])
    return fine, np.asarray(time_efficiency(config)(centres), dtype=float)


def ssb_time_fractions(config: CsI2021Config, slope_per_us: float = 0.0) -> FloatArray:
    """Fraction of the steady-state background in each time bin (sums to 1 over the region).

    T_j = int_{bin j} eps_t(t) exp(-lambda t) dt / int_{t_0}^{t_n} eps_t(t) exp(-lambda t) dt,

    with eps_t the time efficiency (1 for t < 0.52 us, exp(-0.0494/us (t - 0.52 us)) after; coherent-model.md,
    *(config)*) applied as for the other samples (:func:`~cevns_hf.detectors.response.shifted_time_bins`:
    the efficiency at the centres of fine bins, here 1 ns wide), and lambda = 0 for a steady state (flat
    in arrival time). The AC events are recorded with the same cuts as the coincidence events, so their
    times carry eps_t: fitted with eps_t, lambda is compatible with 0 (see :func:`fit_ssb_time_slope`).
    """
    fine, _ = _ssb_time_grid(config)
    centres = 0.5 * (fine[1:] + fine[:-1])
    density = np.exp(-slope_per_us * (centres - fine[0])) * np.diff(fine)
    binned = shifted_time_bins(fine, density, np.asarray(config.time_edges), efficiency=time_efficiency(config))
    return np.asarray(binned / binned.sum(), dtype=float)


def fit_ssb_time_slope(times: FloatArray, config: CsI2021Config) -> SSBTimeFit:
    """Unbinned maximum-likelihood fit of lambda to the AC event times of the region.

    The density of an AC time is p(t) = eps_t(t) exp(-lambda t) / Z(lambda) on [t_0, t_n] (the
    analysis time window), Z(lambda) = int eps_t exp(-lambda t) dt on the 1-ns grid of
    :func:`ssb_time_fractions`; up to a constant -ln L = lambda sum_i t_i + N ln Z(lambda). The error is
    the inverse curvature, d^2(-ln L)/d lambda^2 = N Var_lambda(t) (the variance of t under p).
    """
    t = np.asarray(times, dtype=float)
    n = t.size
    if n < 2:
        msg = f"the SSB time slope needs at least two AC events in the region; found {n}"
        raise DataError(msg)
    fine, eff = _ssb_time_grid(config)
    centres = 0.5 * (fine[1:] + fine[:-1]) - fine[0]
    log_w = np.log(np.clip(eff * np.diff(fine), 1e-300, None))
    sum_t = float(np.sum(t - fine[0]))

    def nll(lam: float) -> float:
        return float(lam * sum_t + n * special.logsumexp(log_w - lam * centres))

    best = optimize.minimize_scalar(nll, bounds=_SLOPE_BOUNDS, method="bounded", options={"xatol": 1e-8})
    lam = float(best.x)
    p = np.exp(log_w - lam * centres - special.logsumexp(log_w - lam * centres))
    variance = float(np.sum(p * centres**2) - np.sum(p * centres) ** 2)
    return SSBTimeFit(lam, 1.0 / float(np.sqrt(n * variance)), n)


def fit_ssb_energy_spectrum(pe: FloatArray, config: CsI2021Config) -> FloatArray:
    """Expected AC events per analysis energy bin from an unbinned fit of a smooth spectrum.

    Density on the region [x_0, x_n] (PE): p(x) = eps_E(x) exp(sum_{k=1}^{3} a_k u^k) / Z(a), u = x / x_n,
    with eps_E the release's nominal energy efficiency (``effCoefficients.txt``; the AC events pass the
    same cuts as the coincidence events) and Z(a) its integral on a 0.01-PE grid. The a_k maximise
    ln L = sum_i sum_k a_k u_i^k - N ln Z(a) (the factors eps_E(x_i) do not depend on a). The degree 3 is
    the lowest that describes the AC spectrum: Pearson chi2 / ndf on 2-PE bins 118/25, 37.5/24, 17.2/23
    for degrees 1, 2, 3. Returns N int_{bin i} p(x) dx, which sums to N.
    """
    x = np.asarray(pe, dtype=float)
    n = x.size
    if n < _SSB_ENERGY_DEGREE + 1:
        msg = f"the SSB energy fit needs at least {_SSB_ENERGY_DEGREE + 1} AC events in the region; found {n}"
        raise DataError(msg)
    e0, e1 = config.energy_edges[0], config.energy_edges[-1]
    fine = np.linspace(e0, e1, max(round((e1 - e0) / _SSB_ENERGY_STEP_PE), 1) + 1)
    centres = 0.5 * (fine[1:] + fine[:-1])
    effs = loaders.csi2021_coefficients("effCoefficients.txt", expected_rows=3)
    log_w = np.log(np.clip(energy_efficiency(effs[0], centres) * np.diff(fine), 1e-300, None))
    powers = np.stack([(centres / e1) ** (k + 1) for k in range(_SSB_ENERGY_DEGREE)])
    sums = np.array([np.sum((x / e1) ** (k + 1)) for k in range(_SSB_ENERGY_DEGREE)])

    def nll(a: FloatArray) -> float:
        return float(-(a @ sums) + n * special.logsumexp(log_w + a @ powers))

    def grad(a: FloatArray) -> FloatArray:
        logp = log_w + a @ powers
        p = np.exp(logp - special.logsumexp(logp))
        return np.asarray(-sums + n * (powers @ p), dtype=float)

    best = optimize.minimize(nll, np.zeros(_SSB_ENERGY_DEGREE), jac=grad, method="BFGS", options={"gtol": 1e-8})
    logp = log_w + best.x @ powers
    p = np.exp(logp - special.logsumexp(logp))
    return np.asarray(n * bin_fine(p, fine, np.asarray(config.energy_edges)), dtype=float)


def smooth_ssb(config: CsI2021Config) -> tuple[FloatArray, SSBTimeFit]:
    """Smooth steady-state background template from the anti-coincidence (AC) events.

    B_ij = n_i T_j, with n_i the AC events of the region in energy bin i (the energy spectrum, where the
    AC data are plentiful; with ``ssb_energy="fit"`` the expectation of :func:`fit_ssb_energy_spectrum`
    instead of the counts) and T_j :func:`ssb_time_fractions` (flat, or with the slope of
    :func:`fit_ssb_time_slope` for ``ssb_time="exponential"``), so that sum_ij B_ij = N_AC, the AC
    count of the region (the AC window has the length of the coincidence window: the AC count is the
    SSB expectation; coherent-model.md: SSB 1286 from the AC data, 1295 AC events in the region). This
    is how COHERENT member groups model it (AC energy spectrum x analytic time shape); its statistical
    uncertainty, 1/sqrt(N_AC), is the prior of alpha_3.

    Returns:
        (template (n_E, n_t), the time-slope fit, always done so that its compatibility with 0 can be read).
    """
    events = loaders.csi2021_events_in_region("dataBeamOnAC.txt", config.energy_edges, config.time_edges)
    fit = fit_ssb_time_slope(events[:, 1], config)
    if config.ssb_energy == "fit":
        energy = fit_ssb_energy_spectrum(events[:, 0], config)
    else:
        energy = np.histogram(events[:, 0], bins=np.asarray(config.energy_edges))[0].astype(float)
    slope = fit.slope_per_us if config.ssb_time == "exponential" else 0.0
    logger.debug(
        "CsI 2021 SSB time slope %.4f +- %.4f /us (%d AC events)", fit.slope_per_us, fit.error_per_us, fit.n_events
    )
    return np.outer(energy, ssb_time_fractions(config, slope)), fit


def steady_state(config: CsI2021Config) -> tuple[FloatArray, float]:
    """(SSB template, alpha_3 relative uncertainty) of the configured model."""
    if config.ssb_model == "binned":
        ssb = loaders.csi2021_events("dataBeamOnAC.txt", config.energy_edges, config.time_edges)
        return ssb, SIGMA_SSB_BINNED if config.sigma_ssb is None else config.sigma_ssb
    ssb, _ = smooth_ssb(config)
    n_ac = float(ssb.sum())
    if config.sigma_ssb is None and n_ac < 1:
        msg = "no anti-coincidence events in the region: set CsI2021Config.sigma_ssb explicitly"
        raise ConfigurationError(msg)
    return ssb, 1.0 / float(np.sqrt(n_ac)) if config.sigma_ssb is None else config.sigma_ssb
