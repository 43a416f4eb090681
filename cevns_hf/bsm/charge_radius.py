r"""Neutrino charge radii: diagonal radii shift the vector couplings, transition radii add incoherently.

The charge radius is the q^2 term of the neutrino charge form factor,
F_Q(q^2) = q_nu + q^2 <r^2>/6 (q^2 < 0 spacelike). The photon exchange then contributes to the
neutrino-proton (neutrino-electron) vector coupling like the Z exchange, with

.. math::
    Q^{CR}_{ll'} = \frac{\sqrt2\,\pi\alpha}{3 G_F}\,\langle r^2_{\nu_{ll'}}\rangle
               = \frac{2}{3} m_W^2 \sin^2\theta_W\,\langle r^2_{\nu_{ll'}}\rangle .

CEvNS of a nu_l (Cadeddu et al., PRD 98 (2018) 113010 [arXiv:1810.05606], PRD 102 (2020) 015030):

.. math::
    \frac{d\sigma}{dT} = \frac{G_F^2 M}{\pi}\left(1 - \frac{T}{E} - \frac{M T}{2E^2}\right)
      \Big\{\big[(g_V^p - Q^{CR}_{ll}) Z F_Z + g_V^n N F_N\big]^2
      + Z^2 F_Z^2 \sum_{l' \ne l} |Q^{CR}_{ll'}|^2\Big\}

Neutrino-electron scattering (Giunti & Studenikin, RMP 87 (2015) 531; Kouzakov & Studenikin,
PRD 95 (2017) 055013): g_V^{nu_l} -> g_V^{nu_l} + Q^CR_ll (the electron has the opposite charge of the
proton), and the transition radii add a pure-vector incoherent term sum_{l'} |Q^CR_ll'|^2
(:func:`cevns_hf.bsm._common.electron_scattering`). Both shifts are equivalent to
sin^2(theta_W) -> sin^2(theta_W) + Q^CR_ll / 2 = sin^2(theta_W) (1 + m_W^2 <r^2>/3) (Giunti & Studenikin
2015), which the tests use as an independent check of the signs.

Antineutrinos: <r^2> flips sign together with the weak vector charge, so nu_mu and anti-nu_mu see the
same CEvNS cross section and in ES the shift of g_V keeps its sign (only g_A flips, as in the SM).

Parameters are in units of 1e-32 cm^2 (converted to MeV^-2 with (hbar c)^2): ``r2_ee`` and ``r2_mumu``
(diagonal, any sign; nu_e sees r2_ee, nu_mu and anti-nu_mu see r2_mumu) and the transition radii
``r2_emu`` (both flavours), ``r2_etau`` (nu_e) and ``r2_mutau`` (nu_mu), which enter squared.
All zero is the Standard Model *of this package*: the SM charge radii (<r^2_nu_e> = -0.83,
<r^2_nu_mu> = -0.48 in 1e-32 cm^2; Bernabeu et al.) are not included in the tree-level couplings
(with ``StandardModel(radiative=True)`` they are part of the Erler-Su couplings, and these parameters are
then deviations from the SM).
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
from cevns_hf.physics.constants import ALPHA_EM, G_FERMI, HBARC2_MEV2_CM2
from cevns_hf.physics.electron import es_couplings
from cevns_hf.physics.flavours import lepton_flavour
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = [
    "FAMILY",
    "R2_MAX",
    "R2_UNIT_CM2",
    "ChargeRadiusModel",
    "charge_radius_coupling",
]


def __dir__() -> list[str]:
    return __all__


#: Unit of the parameters [cm^2].
R2_UNIT_CM2 = 1e-32
#: Largest |<r^2>| accepted [1e-32 cm^2] (a sanity bound; the COHERENT limits are O(10)).
R2_MAX = 1e4
#: sqrt(2) pi alpha / (3 G_F) [MeV^2]: Q^CR per unit <r^2> in MeV^-2.
_CR_COEFFICIENT = math.sqrt(2.0) * math.pi * ALPHA_EM / (3.0 * G_FERMI)


def charge_radius_coupling(r2: Any) -> Any:
    r"""Q^CR = sqrt(2) pi alpha <r^2> / (3 G_F) for <r^2> in units of 1e-32 cm^2 (dimensionless)."""
    return _CR_COEFFICIENT * (r2 * (R2_UNIT_CM2 / HBARC2_MEV2_CM2))


@dataclass(frozen=True)
class ChargeRadiusModel:
    """The SM with neutrino charge radii (units of 1e-32 cm^2; floats or (H, 1) arrays).

    Attributes:
        r2_ee: <r^2_{nu_ee}> (diagonal, seen by nu_e).
        r2_mumu: <r^2_{nu_mumu}> (diagonal, seen by nu_mu and anti-nu_mu).
        r2_emu: transition radius e <-> mu (seen by both flavours, incoherent).
        r2_etau: transition radius e <-> tau (nu_e, incoherent).
        r2_mutau: transition radius mu <-> tau (nu_mu, incoherent).
        sm: the Standard-Model base.
    """

    r2_ee: Any = 0.0
    r2_mumu: Any = 0.0
    r2_emu: Any = 0.0
    r2_etau: Any = 0.0
    r2_mutau: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def couplings(self, flavour: str) -> tuple[Any, Any]:
        """(Q^CR_ll, sum_{l' != l} (Q^CR_ll')^2) seen by a flavour."""
        if lepton_flavour(flavour) == "e":
            diagonal, transitions = self.r2_ee, (self.r2_emu, self.r2_etau)
        else:
            diagonal, transitions = self.r2_mumu, (self.r2_emu, self.r2_mutau)
        return charge_radius_coupling(diagonal), sum(charge_radius_coupling(r) ** 2 for r in transitions)

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """CEvNS with g_V^p -> g_V^p - Q^CR_ll and Z^2 F_Z^2 sum (Q^CR_ll')^2 added [cm^2/MeV]."""
        gv_p, gv_n = sm_charges(self.sm, flavour)
        q_diag, q_trans_sq = self.couplings(flavour)
        return vector_cevns(
            e_nu,
            t_recoil,
            nucleus,
            form_factor=self.sm.form_factor,
            gv_p=gv_p - q_diag,
            gv_n=gv_n,
            incoherent_sq=nucleus.z**2 * q_trans_sq,
            proton_only_incoherent=True,
        )

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """ES with g_V -> g_V + Q^CR_ll and a vector term sum (Q^CR_ll')^2 added [cm^2/MeV]."""
        g_v, g_a = es_couplings(flavour, sin2_theta_w=self.sm.sin2_theta_w)
        q_diag, q_trans_sq = self.couplings(flavour)
        return np.asarray(
            electron_scattering(e_nu, t_e, element, g_v=g_v + q_diag, g_a=g_a, incoherent_v_sq=q_trans_sq),
            dtype=float,
        )

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> ChargeRadiusModel:
    return ChargeRadiusModel(
        r2_ee=values["r2_ee"],
        r2_mumu=values["r2_mumu"],
        r2_emu=values["r2_emu"],
        r2_etau=values["r2_etau"],
        r2_mutau=values["r2_mutau"],
    )


def _radius(name: str, description: str) -> Parameter:
    return Parameter(name, "1e-32 cm^2", description, sm=0.0, lo=-R2_MAX, hi=R2_MAX)


FAMILY = Family(
    name="charge_radius",
    description="neutrino charge radii <r^2> (diagonal and transition) [1e-32 cm^2], CEvNS and ES",
    parameters=(
        _radius("r2_ee", "charge radius <r^2> of nu_e (BSM part; the SM -0.83 is not included)"),
        _radius("r2_mumu", "charge radius <r^2> of nu_mu and anti-nu_mu (BSM part; SM -0.48 not included)"),
        _radius("r2_emu", "transition charge radius e <-> mu"),
        _radius("r2_etau", "transition charge radius e <-> tau"),
        _radius("r2_mutau", "transition charge radius mu <-> tau"),
    ),
    make_model=_model,
    polynomial=Polynomial(("r2_ee", "r2_mumu", "r2_emu", "r2_etau", "r2_mutau"), 2),
    references=(
        "C. Giunti & A. Studenikin, RMP 87 (2015) 531",
        "K. A. Kouzakov & A. I. Studenikin, PRD 95 (2017) 055013",
        "M. Cadeddu et al., PRD 98 (2018) 113010",
        "M. Cadeddu et al., PRD 102 (2020) 015030",
        "J. Bernabeu, J. Papavassiliou & J. Vidal, PRL 89 (2002) 101802",
    ),
)
