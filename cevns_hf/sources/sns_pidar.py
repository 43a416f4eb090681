r"""The SNS pion decay-at-rest neutrino source: energy spectra and arrival times.

pi+ -> mu+ nu_mu (prompt, monochromatic), then mu+ -> e+ nu_e anti-nu_mu (delayed, Michel spectra).

References:
    * Spectra: e.g. L. Michel, Proc. Phys. Soc. A 63 (1950) 514; as used by COHERENT, Akimov et al.,
      Science 357 (2017) 1123 and PRL 129 (2022) 081801 (see ``physics.md`` section 4).
    * Timing: production times follow the pion (26.03 ns) and muon (2.197 us) lifetimes, convolved with
      the proton-on-target (POT) trace, modelled as a Gaussian (LAr 2020 release: mean 440 ns,
      width 150 ns, ``LArParametersAnlA.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
from scipy.special import log_ndtr, ndtr

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.constants import M_MUON, M_PION, TAU_MUON_US, TAU_PION_US
from cevns_hf.physics.flavours import check_flavour as _check_physics_flavour

__all__ = [
    "DELAYED_FLAVOURS",
    "E_MAX_DELAYED",
    "E_NU_MU_PROMPT",
    "FLAVOURS",
    "FLUX_FILE_COLUMNS",
    "FLUX_ROOT_HISTOGRAMS",
    "PROMPT_FLAVOURS",
    "SOURCE",
    "SNSPionDAR",
    "arrival_time_cdf",
    "arrival_time_fractions",
    "check_flavour",
    "fluence_per_cm2",
    "spectrum_pdf",
]


def __dir__() -> list[str]:
    return __all__


Flavour = Literal["nu_e", "nu_mu", "nu_mu_bar"]
#: Energy of the prompt nu_mu from pi+ -> mu+ nu_mu at rest: (m_pi^2 - m_mu^2) / (2 m_pi) [MeV] (two-body kinematics).
E_NU_MU_PROMPT: Final[float] = (M_PION**2 - M_MUON**2) / (2.0 * M_PION)
#: The three neutrino flavours of a pi-DAR source (anti-nu_e is suppressed to ~1e-4 and neglected).
FLAVOURS: Final[tuple[Flavour, ...]] = ("nu_e", "nu_mu", "nu_mu_bar")
#: The muon-decay (delayed) flavours with continuous spectra.
DELAYED_FLAVOURS: Final[tuple[Flavour, ...]] = ("nu_e", "nu_mu_bar")
#: The pion-decay (prompt) flavour, a line at :data:`E_NU_MU_PROMPT`.
PROMPT_FLAVOURS: Final[tuple[Flavour, ...]] = ("nu_mu",)
#: Column names of the flavours in the official SNS flux file ``snsFlux2D.root`` and its CSV conversion.
FLUX_FILE_COLUMNS: Final[dict[str, str]] = {"nu_e": "nuE", "nu_mu": "nuMu", "nu_mu_bar": "nuMuBar"}
#: TH2 histograms (time [ns] x energy [MeV]) of the flavours in the official ``snsFlux2D.root`` (CsI 2021 release).
FLUX_ROOT_HISTOGRAMS: Final[dict[str, str]] = {
    "nu_e": "convolved_energy_time_of_nu_e",
    "nu_mu": "convolved_energy_time_of_nu_mu",
    "nu_mu_bar": "convolved_energy_time_of_anti_nu_mu",
}
#: End point of the Michel spectra: m_mu / 2 [MeV] (electron mass neglected).
E_MAX_DELAYED: Final[float] = M_MUON / 2.0


def check_flavour(flavour: str) -> Flavour:
    """Validate a flavour name, returning it typed; raise :class:`ConfigurationError` otherwise."""
    _check_physics_flavour(flavour)
    if flavour not in FLAVOURS:
        msg = f"the SNS pion decay-at-rest source emits no {flavour!r}; its flavours: {list(FLAVOURS)}"
        raise ConfigurationError(msg)
    return flavour


def spectrum_pdf(flavour: str, e_nu: npt.ArrayLike) -> FloatArray:
    r"""Normalised energy spectrum dN/dE [1/MeV] of a delayed flavour.

    .. math::
        \frac{dN_{\nu_e}}{dE} = \frac{192 E^2}{m_\mu^3}\left(\frac12 - \frac{E}{m_\mu}\right),\qquad
        \frac{dN_{\bar\nu_\mu}}{dE} = \frac{64 E^2}{m_\mu^3}\left(\frac34 - \frac{E}{m_\mu}\right)

    for 0 <= E <= m_mu/2, zero outside. The prompt nu_mu is a line at
    :data:`E_NU_MU_PROMPT` and has no density: asking for it raises.
    """
    e = np.asarray(e_nu, dtype=float)
    inside = (e >= 0.0) & (e <= E_MAX_DELAYED)
    flav = check_flavour(flavour)
    if flav == "nu_e":
        pdf = 192.0 * e**2 / M_MUON**3 * (0.5 - e / M_MUON)
    elif flav == "nu_mu_bar":
        pdf = 64.0 * e**2 / M_MUON**3 * (0.75 - e / M_MUON)
    else:
        msg = f"nu_mu from pion decay at rest is a line at {E_NU_MU_PROMPT:.4f} MeV, it has no spectrum density"
        raise ConfigurationError(msg)
    return np.where(inside, pdf, 0.0)


def fluence_per_cm2(*, pot: float, nu_per_pot: float, baseline_m: float) -> float:
    r"""Time-integrated neutrino fluence per flavour [cm^-2]: :math:`r N_{POT} / (4 \pi L^2)`."""
    if pot <= 0 or nu_per_pot <= 0 or baseline_m <= 0:
        msg = f"pot, nu_per_pot and baseline_m must be positive, got {pot!r}, {nu_per_pot!r}, {baseline_m!r}"
        raise ConfigurationError(msg)
    return float(nu_per_pot * pot / (4.0 * np.pi * (baseline_m * 100.0) ** 2))


def _exp_gauss_term(t: FloatArray, mean: float, sigma: float, tau: float) -> FloatArray:
    """exp(-(t-mean)/tau + sigma^2/(2 tau^2)) * Phi((t-mean)/sigma - sigma/tau), computed in log space."""
    z = (t - mean) / sigma
    return np.exp(-(t - mean) / tau + 0.5 * (sigma / tau) ** 2 + log_ndtr(z - sigma / tau))


def arrival_time_cdf(
    flavour: str,
    t_us: npt.ArrayLike,
    *,
    pot_mean_us: float,
    pot_sigma_us: float,
    tau_pion_us: float = TAU_PION_US,
    tau_muon_us: float = TAU_MUON_US,
) -> FloatArray:
    r"""Cumulative arrival-time distribution of a flavour.

    The production time is the Gaussian POT time plus an exponential pion decay time (prompt nu_mu), or
    plus the pion and muon decay times (delayed nu_e and anti-nu_mu). With A(tau) the exponentially
    modified Gaussian term,

    .. math::
        F_{prompt}(t) = \Phi(z) - A(\tau_\pi),\quad
        F_{delayed}(t) = \Phi(z) - \frac{\tau_\mu A(\tau_\mu) - \tau_\pi A(\tau_\pi)}{\tau_\mu - \tau_\pi},
        \quad A(\tau) = e^{-(t-\mu)/\tau + \sigma^2/2\tau^2}\,\Phi(z - \sigma/\tau),\ z = (t-\mu)/\sigma.
    """
    if pot_sigma_us <= 0:
        msg = f"the POT trace width must be positive, got {pot_sigma_us!r} us"
        raise ConfigurationError(msg)
    t = np.asarray(t_us, dtype=float)
    gauss = ndtr((t - pot_mean_us) / pot_sigma_us)
    a_pi = _exp_gauss_term(t, pot_mean_us, pot_sigma_us, tau_pion_us)
    if check_flavour(flavour) == "nu_mu":
        return np.asarray(gauss - a_pi, dtype=float)
    a_mu = _exp_gauss_term(t, pot_mean_us, pot_sigma_us, tau_muon_us)
    return np.asarray(gauss - (tau_muon_us * a_mu - tau_pion_us * a_pi) / (tau_muon_us - tau_pion_us), dtype=float)


def arrival_time_fractions(
    flavour: str, edges_us: npt.ArrayLike, *, pot_mean_us: float, pot_sigma_us: float
) -> FloatArray:
    """Fraction of a flavour's neutrinos arriving in each time bin (differences of the CDF at the edges)."""
    cdf = arrival_time_cdf(flavour, edges_us, pot_mean_us=pot_mean_us, pot_sigma_us=pot_sigma_us)
    return np.diff(cdf)


@dataclass(frozen=True)
class SNSPionDAR:
    """The SNS pion decay-at-rest source (a :class:`~cevns_hf.sources.base.Source`).

    The flux normalisation (neutrinos per flavour per proton on target, protons on target, baseline) is
    part of each detector's exposure: :func:`fluence_per_cm2`. Arrival times: :func:`arrival_time_cdf`.
    """

    name: str = "sns_pidar"
    description: str = "SNS pion decay at rest: prompt nu_mu line, delayed nu_e and anti-nu_mu Michel spectra"

    @property
    def flavours(self) -> tuple[str, ...]:
        """``nu_e``, ``nu_mu`` (prompt), ``nu_mu_bar``."""
        return FLAVOURS

    def line_energy(self, flavour: str) -> float | None:
        """The prompt nu_mu line; None for the delayed flavours."""
        return E_NU_MU_PROMPT if check_flavour(flavour) in PROMPT_FLAVOURS else None

    def energy_range(self, flavour: str) -> tuple[float, float]:
        """(0, m_mu/2) for the delayed flavours, the line energy twice for nu_mu."""
        line = self.line_energy(flavour)
        return (line, line) if line is not None else (0.0, E_MAX_DELAYED)

    def spectrum_pdf(self, flavour: str, e_nu: npt.ArrayLike) -> FloatArray:
        """:func:`spectrum_pdf`."""
        return spectrum_pdf(flavour, e_nu)

    def is_prompt(self, flavour: str) -> bool:
        """True for the pion-decay flavour (its arrival time follows the pion, not the muon, lifetime)."""
        return check_flavour(flavour) in PROMPT_FLAVOURS


#: The source instance registered in :data:`cevns_hf.sources.SOURCES`.
SOURCE = SNSPionDAR()
