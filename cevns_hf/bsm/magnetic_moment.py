r"""Neutrino magnetic moments: a helicity-flipping photon exchange added incoherently to CEvNS and ES.

A neutrino of flavour l with a magnetic moment scatters through photon exchange with a helicity flip,
so the magnetic-moment amplitude does not interfere with the weak one and the cross sections add:

.. math::
    \frac{d\sigma_{MM}}{dT} = \frac{\pi\alpha^2}{m_e^2}\left(\frac{1}{T} - \frac{1}{E}\right)
        Z^2 F_Z^2(|\vec q|^2)\,\frac{\mu_{\nu_l}^2}{\mu_B^2}  \quad\text{(CEvNS)},\qquad
    \frac{d\sigma_{MM}}{dT_e} = \frac{\pi\alpha^2}{m_e^2}\left(\frac{1}{T_e} - \frac{1}{E}\right)
        Z_{eff}(T_e)\,\frac{\mu_{\nu_l}^2}{\mu_B^2}  \quad\text{(ES)},

both set to zero outside the kinematically allowed range 0 < T <= T_max (the factor 1/T - 1/E only
vanishes at T = E, far above T_max = 2E^2/(M + 2E) for a nucleus).

Parameters (units of the Bohr magneton mu_B, any sign: only squares enter) and the effective moment
seen by each flavour, diagonal plus transition moments summed incoherently over the final flavours
(Giunti & Studenikin, RMP 87 (2015) 531, section VI; Kouzakov & Studenikin, PRD 95 (2017) 055013):

.. math::
    \mu^2_{\nu_e,\rm eff} = \mu_{\nu_e}^2 + \mu_{e\mu}^2 + \mu_{e\tau}^2,\qquad
    \mu^2_{\nu_\mu,\rm eff} = \mu_{\nu_\mu}^2 + \mu_{e\mu}^2 + \mu_{\mu\tau}^2 .

``nu_mu_bar`` sees the same moments as ``nu_mu`` (the cross section depends on mu^2 only). The COHERENT
analyses (Cadeddu et al., PRD 102 (2020) 015030; Atzori Corona et al., JHEP 09 (2022) 164) fit the
effective moments mu_nu_e and mu_nu_mu directly: that is this family with the transition moments at zero.

Conventions and references:
    * ES: P. Vogel & J. Engel, PRD 39 (1989) 3378 (free-electron formula, exact for a spin-1/2 target),
      with the atomic step function Z_eff(T_e) of :func:`cevns_hf.physics.electron.z_effective`
      (Atzori Corona et al. 2022; Kouzakov & Studenikin 2017).
    * CEvNS: the same kinematic factor times Z^2 F_Z^2 (Cadeddu et al. 2020, sigma_MM; physics.md 6.7).
      For a spin-0 point nucleus the exact tree-level factor is 1/T - 1/E + T/(4E^2) (checked by an
      explicit trace computation; also e.g. Kosmas et al., PRD 92 (2015) 013011); relative to
      1/T - 1/E the extra term is at most (E/M)^2 (2e-6 for Ar, 2e-7 for Cs and I at E <= m_mu/2) and
      is omitted, as in the reference analyses.
    * alpha and m_e: :mod:`cevns_hf.physics.constants` (CODATA 2018). Cross sections are converted from MeV^-3
      to cm^2/MeV with (hbar c)^2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, HypothesisError, LinearPOI, Parameter, Polynomial
from cevns_hf.physics.cevns import max_recoil, nuclear_form_factors
from cevns_hf.physics.constants import ALPHA_EM, HBARC2_MEV2_CM2, M_ELECTRON
from cevns_hf.physics.electron import es_max_recoil, z_effective
from cevns_hf.physics.flavours import lepton_flavour
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = [
    "FAMILY",
    "MM_PREFACTOR_CM2_MEV",
    "MU_MAX",
    "MagneticMomentModel",
    "effective_moment_sq",
    "magnetic_kinematics",
]


def __dir__() -> list[str]:
    return __all__


#: pi alpha^2 / m_e^2 in cm^2 (the MM cross section per unit (mu/mu_B)^2 and per unit of 1/T [MeV^-1]).
MM_PREFACTOR_CM2_MEV = math.pi * ALPHA_EM**2 / M_ELECTRON**2 * HBARC2_MEV2_CM2
#: Largest |moment| accepted [mu_B] (a sanity bound, four orders above the laboratory limits ~1e-10).
MU_MAX = 1e-6


def effective_moment_sq(values: Mapping[str, Any], flavour: str) -> Any:
    """(mu_eff / mu_B)^2 seen by a flavour: its diagonal moment plus its transition moments squared."""
    if lepton_flavour(flavour) == "e":
        return values["mu_nu_e"] ** 2 + values["mu_emu"] ** 2 + values["mu_etau"] ** 2
    return values["mu_nu_mu"] ** 2 + values["mu_emu"] ** 2 + values["mu_mutau"] ** 2


def magnetic_kinematics(e_nu: FloatArray, t_recoil: FloatArray, t_max: FloatArray) -> FloatArray:
    r"""1/T - 1/E [MeV^-1] for 0 < T <= T_max, zero elsewhere (E > 0).

    Args:
        e_nu: neutrino energy [MeV].
        t_recoil: recoil kinetic energy [MeV].
        t_max: kinematic end point for this E [MeV] (broadcasting with ``e_nu``).
    """
    e = np.asarray(e_nu, dtype=float)
    t = np.asarray(t_recoil, dtype=float)
    allowed = (e > 0) & (t > 0) & (t <= t_max)
    with np.errstate(divide="ignore", invalid="ignore"):
        shape = 1.0 / t - 1.0 / e
    return np.where(allowed, shape, 0.0)


@dataclass(frozen=True)
class MagneticMomentModel:
    r"""The SM plus magnetic-moment scattering (moments in units of mu_B; floats or (H, 1) arrays).

    Attributes:
        mu_nu_e: diagonal (effective) magnetic moment of nu_e.
        mu_nu_mu: diagonal (effective) magnetic moment of nu_mu and anti-nu_mu.
        mu_emu: transition moment e <-> mu (seen by both flavours).
        mu_etau: transition moment e <-> tau (seen by nu_e).
        mu_mutau: transition moment mu <-> tau (seen by nu_mu and anti-nu_mu).
        sm: the Standard-Model base.
    """

    mu_nu_e: Any = 0.0
    mu_nu_mu: Any = 0.0
    mu_emu: Any = 0.0
    mu_etau: Any = 0.0
    mu_mutau: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def _moment_sq(self, flavour: str) -> Any:
        values = {
            "mu_nu_e": self.mu_nu_e,
            "mu_nu_mu": self.mu_nu_mu,
            "mu_emu": self.mu_emu,
            "mu_etau": self.mu_etau,
            "mu_mutau": self.mu_mutau,
        }
        return effective_moment_sq(values, flavour)

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        r"""SM CEvNS plus :math:`\frac{\pi\alpha^2}{m_e^2}(\frac1T - \frac1E) Z^2 F_Z^2 \mu_{eff}^2` [cm^2/MeV]."""
        sm = self.sm.cevns(e_nu, t_recoil, nucleus, flavour)
        shape = magnetic_kinematics(e_nu, t_recoil, max_recoil(e_nu, nucleus.mass))
        f_z, _ = nuclear_form_factors(t_recoil, nucleus, form_factor=self.sm.form_factor)
        extra = MM_PREFACTOR_CM2_MEV * shape * (nucleus.z * f_z) ** 2 * self._moment_sq(flavour)
        return np.asarray(sm + extra, dtype=float)

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        r"""SM ES plus :math:`\frac{\pi\alpha^2}{m_e^2}(\frac1{T_e} - \frac1E) Z_{eff}(T_e) \mu_{eff}^2` [cm^2/MeV]."""
        sm = self.sm.electron(e_nu, t_e, element, flavour)
        shape = magnetic_kinematics(e_nu, t_e, es_max_recoil(e_nu))
        extra = MM_PREFACTOR_CM2_MEV * shape * z_effective(element, t_e) * self._moment_sq(flavour)
        return np.asarray(sm + extra, dtype=float)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> MagneticMomentModel:
    return MagneticMomentModel(
        mu_nu_e=values["mu_nu_e"],
        mu_nu_mu=values["mu_nu_mu"],
        mu_emu=values["mu_emu"],
        mu_etau=values["mu_etau"],
        mu_mutau=values["mu_mutau"],
    )


def _square(value: float) -> float:
    return value * value


def _root(value: float) -> float:
    """The non-negative moment whose square is ``value`` (a negative mu^2 is unphysical)."""
    if not value >= 0.0:
        msg = f"a squared magnetic moment must be >= 0 [mu_B^2], got {value!r}"
        raise HypothesisError(msg)
    return math.sqrt(value)


def _moment(name: str, description: str) -> Parameter:
    return Parameter(name, "mu_B", description, sm=0.0, lo=-MU_MAX, hi=MU_MAX)


FAMILY = Family(
    name="magnetic_moment",
    description="neutrino (effective and transition) magnetic moments [mu_B], CEvNS and ES",
    parameters=(
        _moment("mu_nu_e", "magnetic moment of nu_e (diagonal part of its effective moment)"),
        _moment("mu_nu_mu", "magnetic moment of nu_mu and anti-nu_mu (diagonal part)"),
        _moment("mu_emu", "transition magnetic moment e <-> mu"),
        _moment("mu_etau", "transition magnetic moment e <-> tau"),
        _moment("mu_mutau", "transition magnetic moment mu <-> tau"),
    ),
    make_model=_model,
    polynomial=Polynomial(("mu_nu_e", "mu_nu_mu", "mu_emu", "mu_etau", "mu_mutau"), 2),
    references=(
        "P. Vogel & J. Engel, PRD 39 (1989) 3378",
        "C. Giunti & A. Studenikin, RMP 87 (2015) 531",
        "K. A. Kouzakov & A. I. Studenikin, PRD 95 (2017) 055013",
        "M. Cadeddu et al., PRD 102 (2020) 015030",
        "M. Atzori Corona et al., JHEP 09 (2022) 164",
    ),
    linear_pois=(
        LinearPOI("mu_nu_e_sq", "mu_B^2", "mu_nu_e", _square, _root, scale=1e-18),
        LinearPOI("mu_nu_mu_sq", "mu_B^2", "mu_nu_mu", _square, _root, scale=1e-18),
    ),
)
