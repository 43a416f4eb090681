r"""Neutrino millicharges: a q^2-dependent shift of the vector couplings, transition charges incoherent.

The neutrino charge form factor F_Q(q^2) = q_nu + q^2 <r^2>/6 (q^2 < 0) enters the amplitude through
F_Q(q^2)/q^2 = <r^2>/6 - q_nu/Q^2 with Q^2 = -q^2 > 0, so a charge acts like a charge radius
<r^2> = -6 q_nu / Q^2 (Giunti & Studenikin, RMP 87 (2015) 531; Kouzakov & Studenikin, PRD 95 (2017)
055013). With q_nu in units of the elementary charge e:

.. math::
    Q^{EC}_{ll'}(Q^2) = \frac{2\sqrt2\,\pi\alpha}{G_F\,Q^2}\,q_{\nu_{ll'}},\qquad
    Q^2 = 2 M T\ \text{(CEvNS, exact for elastic scattering)},\quad Q^2 = 2 m_e T_e\ \text{(ES)}.

CEvNS of a nu_l (Cadeddu et al., PRD 102 (2020) 015030; physics.md 6.9):

.. math::
    \frac{d\sigma}{dT} = \frac{G_F^2 M}{\pi}\left(1 - \frac{T}{E} - \frac{M T}{2E^2}\right)
      \Big\{\big[(g_V^p + Q^{EC}_{ll}) Z F_Z + g_V^n N F_N\big]^2
      + Z^2 F_Z^2 \sum_{l' \ne l} |Q^{EC}_{ll'}|^2\Big\}

and in ES g_V^{nu_l} -> g_V^{nu_l} - Q^EC_ll plus the pure-vector incoherent term sum (Q^EC_ll')^2
(Atzori Corona et al., JHEP 09 (2022) 164). The signs are opposite to those of the charge radius
(:mod:`cevns_hf.bsm.charge_radius`), as follows from <r^2>/6 - q_nu/Q^2.

Antineutrinos: q_nu flips sign together with the weak vector charge (nu_mu and anti-nu_mu see the same
CEvNS cross section; in ES only g_A flips, as in the SM).

The 1/Q^2 = 1/(2 M T) enhancement diverges at T = 0; at T <= 0 (no physical recoil; the rate engine
never evaluates there) the millicharge terms are set to zero.

Parameters (units of e, |q| <= 1e-3): ``q_ee`` (nu_e), ``q_mumu`` (nu_mu and anti-nu_mu), the transition
charges ``q_emu`` (both), ``q_etau`` (nu_e) and ``q_mutau`` (nu_mu). All zero is the SM.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm._common import electron_scattering, sm_charges, vector_cevns
from cevns_hf.bsm.family import Family, Parameter, Polynomial
from cevns_hf.physics.constants import ALPHA_EM, G_FERMI, M_ELECTRON
from cevns_hf.physics.electron import es_couplings
from cevns_hf.physics.flavours import lepton_flavour
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = [
    "FAMILY",
    "Q_MAX",
    "MillichargeModel",
    "millicharge_coupling",
]


def __dir__() -> list[str]:
    return __all__


#: Largest |q_nu| accepted [e] (a sanity bound; the COHERENT limits are ~1e-7).
Q_MAX = 1e-3
#: 2 sqrt(2) pi alpha / G_F [MeV^2]: Q^EC times Q^2 per unit charge.
_EC_COEFFICIENT = 2.0 * math.sqrt(2.0) * math.pi * ALPHA_EM / G_FERMI


def millicharge_coupling(charge: Any, q2: FloatArray) -> Any:
    r"""Q^EC = 2 sqrt(2) pi alpha q_nu / (G_F Q^2) for q_nu in units of e and Q^2 [MeV^2]; 0 where Q^2 <= 0."""
    q2 = np.asarray(q2, dtype=float)
    with np.errstate(divide="ignore"):
        inverse = np.where(q2 > 0, 1.0 / q2, 0.0)
    return _EC_COEFFICIENT * inverse * charge


@dataclass(frozen=True)
class MillichargeModel:
    """The SM with neutrino millicharges (units of e; floats or (H, 1) arrays).

    Attributes:
        q_ee: charge of nu_e (diagonal).
        q_mumu: charge of nu_mu / anti-nu_mu (diagonal; the antineutrino has the opposite charge, which
            the sign flip of its weak charge absorbs).
        q_emu: transition charge e <-> mu (both flavours, incoherent).
        q_etau: transition charge e <-> tau (nu_e, incoherent).
        q_mutau: transition charge mu <-> tau (nu_mu, incoherent).
        sm: the Standard-Model base.
    """

    q_ee: Any = 0.0
    q_mumu: Any = 0.0
    q_emu: Any = 0.0
    q_etau: Any = 0.0
    q_mutau: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def couplings(self, flavour: str, q2: FloatArray) -> tuple[Any, Any]:
        """(Q^EC_ll, sum_{l' != l} (Q^EC_ll')^2) seen by a flavour at Q^2 [MeV^2]."""
        if lepton_flavour(flavour) == "e":
            diagonal, transitions = self.q_ee, (self.q_emu, self.q_etau)
        else:
            diagonal, transitions = self.q_mumu, (self.q_emu, self.q_mutau)
        trans_sq = sum(millicharge_coupling(q, q2) ** 2 for q in transitions)
        return millicharge_coupling(diagonal, q2), trans_sq

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """CEvNS with g_V^p -> g_V^p + Q^EC_ll(2MT) and Z^2 F_Z^2 sum (Q^EC_ll')^2 added [cm^2/MeV]."""
        gv_p, gv_n = sm_charges(self.sm, flavour)
        q2 = 2.0 * nucleus.mass * np.asarray(t_recoil, dtype=float)
        q_diag, q_trans_sq = self.couplings(flavour, q2)
        return vector_cevns(
            e_nu,
            t_recoil,
            nucleus,
            form_factor=self.sm.form_factor,
            gv_p=gv_p + q_diag,
            gv_n=gv_n,
            incoherent_sq=nucleus.z**2 * q_trans_sq,
            proton_only_incoherent=True,
        )

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """ES with g_V -> g_V - Q^EC_ll(2 m_e T_e) and a vector term sum (Q^EC_ll')^2 added [cm^2/MeV]."""
        g_v, g_a = es_couplings(flavour, sin2_theta_w=self.sm.sin2_theta_w)
        q2 = 2.0 * M_ELECTRON * np.asarray(t_e, dtype=float)
        q_diag, q_trans_sq = self.couplings(flavour, q2)
        return np.asarray(
            electron_scattering(e_nu, t_e, element, g_v=g_v - q_diag, g_a=g_a, incoherent_v_sq=q_trans_sq),
            dtype=float,
        )

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> MillichargeModel:
    return MillichargeModel(
        q_ee=values["q_ee"],
        q_mumu=values["q_mumu"],
        q_emu=values["q_emu"],
        q_etau=values["q_etau"],
        q_mutau=values["q_mutau"],
    )


def _charge(name: str, description: str) -> Parameter:
    return Parameter(name, "e", description, sm=0.0, lo=-Q_MAX, hi=Q_MAX)


FAMILY = Family(
    name="millicharge",
    description="neutrino electric millicharges (diagonal and transition) [e], CEvNS and ES",
    parameters=(
        _charge("q_ee", "electric charge of nu_e"),
        _charge("q_mumu", "electric charge of nu_mu (anti-nu_mu: opposite, same cross section)"),
        _charge("q_emu", "transition charge e <-> mu"),
        _charge("q_etau", "transition charge e <-> tau"),
        _charge("q_mutau", "transition charge mu <-> tau"),
    ),
    make_model=_model,
    polynomial=Polynomial(("q_ee", "q_mumu", "q_emu", "q_etau", "q_mutau"), 2),
    references=(
        "C. Giunti & A. Studenikin, RMP 87 (2015) 531",
        "K. A. Kouzakov & A. I. Studenikin, PRD 95 (2017) 055013",
        "M. Cadeddu et al., PRD 102 (2020) 015030",
        "M. Atzori Corona et al., JHEP 09 (2022) 164",
    ),
)
