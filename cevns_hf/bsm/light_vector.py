r"""Light vector mediator Z' of mass m_V with a universal quark coupling (amplitude-level propagator).

The Z' couples vectorially to quarks (g_q, the same for u and d), to electrons (g_e) and to the left-handed
neutrinos (g_nu, flavour universal),

.. math::
    \mathcal{L} \supset Z'_\mu \left(g_\nu\, \bar\nu_L \gamma^\mu \nu_L
        + g_q \sum_{q=u,d} \bar q \gamma^\mu q + g_e\, \bar e \gamma^\mu e\right).

Exchanged in the t channel with momentum transfer :math:`q^2 = 2 M T` it adds to the SM vector couplings
of the effective Lagrangian :math:`-\tfrac{G_F}{\sqrt2}[\bar\nu\gamma^\mu(1-\gamma_5)\nu][\bar f\gamma_\mu
(g_V^f - g_A^f\gamma_5) f]` (the sign follows from integrating out Z and Z' in the same way):

.. math::
    g_V^{p,n} \to g_V^{p,n} + \frac{3 g_\nu g_q}{\sqrt2 G_F (q^2 + m_V^2)},\qquad
    Q_V = \Big(g_V^p + \tfrac{3 g_\nu g_q}{\sqrt2 G_F (q^2 + m_V^2)}\Big) Z F_Z(q)
        + \Big(g_V^n + \tfrac{3 g_\nu g_q}{\sqrt2 G_F (q^2 + m_V^2)}\Big) N F_N(q)

(3 valence quarks per nucleon: :math:`2 g_q + g_q` for both proton and neutron), so that at
:math:`F_Z = F_N = F`

.. math::
    \frac{d\sigma}{dT} = \left[1 + \frac{C_V F}{\sqrt2 G_F Q_V^{SM} (q^2 + m_V^2)}\right]^2
        \frac{d\sigma_{SM}}{dT},\qquad C_V = 3 A g_\nu g_q

(physics.md section 6.5). With the SM convention :math:`g_V^p = 1/2 - 2 s_W^2`, :math:`g_V^n = -1/2` the SM
charge is negative (:math:`Q_V^{SM} \approx -N/2`): for :math:`g_\nu g_q > 0` the Z' interferes
destructively, the rate vanishes near :math:`C_V/(\sqrt2 G_F (q^2+m_V^2)) = -Q_V^{SM}` and returns to the
SM value at twice that coupling product (the degenerate band of the COHERENT light-vector fits).

Neutrino-electron scattering: :math:`g_V \to g_V + g_\nu g_e / (\sqrt2 G_F (2 m_e T_e + m_V^2))`, added to
the SM g_V of every flavour (charged current included for nu_e). A Z' coupling to electrons does not
change CEvNS: coherent scattering on the atomic electrons is suppressed by the atomic form factor at
these momentum transfers (q >~ 1 MeV >> 1/a_0).

Antineutrinos: the SM vector charges and g_nu flip sign together (C conjugation of the neutrino current),
so the CEvNS cross section is the same as for neutrinos; in ES the antineutrino rule g_A -> -g_A of
:func:`cevns_hf.physics.electron.es_couplings` leaves the shifted g_V unchanged.

References:
    * D. G. Cerdeño et al., JHEP 05 (2016) 118 (arXiv:1604.01025), section 5 (light vector mediators in
      CEvNS and ES).
    * M. Abdullah et al., PRD 98 (2018) 015005 (arXiv:1803.01224).
    * M. Cadeddu et al., JHEP 01 (2021) 116 (arXiv:2008.05022) -- the universal-coupling charges above,
      :math:`g_V^{p,n} \to g_V^{p,n} + 3 g_{Z'}^2 / (\sqrt2 G_F (|\vec q|^2 + M_{Z'}^2))`, and the ES shift;
      M. Cadeddu et al., PRD 104 (2021) 011701; M. Atzori Corona et al., JHEP 05 (2022) 109
      (arXiv:2202.11002) -- universal light vector and scalar mediators with COHERENT CsI and Ar.
    * O. G. Miranda et al., JHEP 05 (2020) 130 (arXiv:2003.12050).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm._common import (
    MAX_COUPLING,
    MAX_MASS_MEV,
    electron_scattering,
    mediator_parameters,
    sm_charges,
    vector_cevns,
)
from cevns_hf.bsm.family import Family, Polynomial
from cevns_hf.physics.constants import G_FERMI, M_ELECTRON
from cevns_hf.physics.electron import es_couplings
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["FAMILY", "MAX_COUPLING", "MAX_MASS_MEV", "LightVectorModel"]


def __dir__() -> list[str]:
    return __all__


#: Valence quarks per nucleon: the universal quark coupling gives each nucleon the vector charge 3 g_q.
_QUARKS_PER_NUCLEON = 3.0


def _propagator_shift(coupling: Any, q_sq: FloatArray, mass_mev: Any) -> Any:
    r""":math:`c / (\sqrt2 G_F (q^2 + m^2))`: a coupling product c as a shift of an SM vector coupling."""
    return coupling / (math.sqrt(2.0) * G_FERMI * (q_sq + np.asarray(mass_mev, dtype=float) ** 2))


@dataclass(frozen=True)
class LightVectorModel:
    """The SM plus a light vector mediator (parameters may be numpy arrays of shape (H, 1)).

    Attributes:
        mass_mev: mediator mass m_V [MeV].
        g_nu: coupling to (left-handed) neutrinos, all flavours.
        g_q: vector coupling to u and d quarks.
        g_e: vector coupling to electrons.
        sm: the Standard-Model base (weak mixing angle, form factor, radiative corrections).

    Example:
        >>> from cevns_hf.physics.nuclei import CS133
        >>> sm = LightVectorModel(10.0, 0.0, 0.0).cevns(30.0, 1e-3, CS133, "nu_mu")
        >>> z_prime = LightVectorModel(10.0, 1e-5, 1e-5).cevns(30.0, 1e-3, CS133, "nu_mu")
        >>> bool(z_prime < sm)  # destructive interference for g_nu g_q > 0
        True
    """

    mass_mev: Any
    g_nu: Any
    g_q: Any
    g_e: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def nucleon_shift(self, t_recoil: FloatArray, nuclear_mass: float) -> Any:
        r"""Shift of g_V^p and g_V^n: :math:`3 g_\nu g_q / (\sqrt2 G_F (2 M T + m_V^2))` (broadcasts)."""
        q_sq = 2.0 * nuclear_mass * np.asarray(t_recoil, dtype=float)
        return _propagator_shift(_QUARKS_PER_NUCLEON * self.g_nu * self.g_q, q_sq, self.mass_mev)

    def electron_shift(self, t_e: FloatArray) -> Any:
        r"""Shift of the ES g_V: :math:`g_\nu g_e / (\sqrt2 G_F (2 m_e T_e + m_V^2))` (broadcasts)."""
        q_sq = 2.0 * M_ELECTRON * np.asarray(t_e, dtype=float)
        return _propagator_shift(self.g_nu * self.g_e, q_sq, self.mass_mev)

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """CEvNS with the Z' in the proton and neutron vector charges (with F_Z and F_N respectively)."""
        gv_p, gv_n = sm_charges(self.sm, flavour)
        shift = self.nucleon_shift(t_recoil, nucleus.mass)
        return vector_cevns(
            e_nu, t_recoil, nucleus, form_factor=self.sm.form_factor, gv_p=gv_p + shift, gv_n=gv_n + shift
        )

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """ES with the Z' added to the electron vector coupling (Z_eff included)."""
        g_v, g_a = es_couplings(flavour, sin2_theta_w=self.sm.sin2_theta_w)
        return electron_scattering(e_nu, t_e, element, g_v=g_v + self.electron_shift(t_e), g_a=g_a)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> LightVectorModel:
    return LightVectorModel(values["mass_mev"], values["g_nu"], values["g_q"], values["g_e"])


FAMILY = Family(
    name="light_vector",
    description="light vector mediator Z' (mass, neutrino, universal quark and electron couplings)",
    parameters=mediator_parameters("Z' vector", "m_V"),
    make_model=_model,
    polynomial=Polynomial(("g_nu", "g_q", "g_e"), 4),
    references=(
        "Cerdeño et al., JHEP 05 (2016) 118",
        "Abdullah et al., PRD 98 (2018) 015005",
        "Cadeddu et al., JHEP 01 (2021) 116",
        "Cadeddu et al., PRD 104 (2021) 011701",
        "Atzori Corona et al., JHEP 05 (2022) 109",
        "Miranda et al., JHEP 05 (2020) 130",
    ),
)
