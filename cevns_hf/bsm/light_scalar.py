r"""Light scalar mediator of mass m_S with a universal quark coupling (adds incoherently to the SM).

The scalar couples to neutrinos (g_nu, flavour universal), to u and d quarks (g_q) and to electrons (g_e),

.. math::
    \mathcal{L} \supset \phi\left(g_\nu\, \bar\nu_R \nu_L + \mathrm{h.c.}
        + g_q \sum_{q=u,d} \bar q q + g_e\, \bar e e\right).

It flips the neutrino chirality, so it does not interfere with the SM (massless neutrinos) and its cross
section adds to the SM one (Cerdeño et al. 2016, section 5):

.. math::
    \frac{d\sigma_S}{dT} = \frac{M^2 T\, C_S^2(q)}{4\pi E^2 (2 M T + m_S^2)^2},\qquad
    C_S(q) = g_\nu g_q \left(15.1\, Z F_Z(q) + 14\, N F_N(q)\right)

for :math:`0 \le T \le T_{max} = 2E^2/(M + 2E)`. The nucleon scalar charges 15.1 (proton) and 14 (neutron)
per unit quark coupling, :math:`\sum_q (m_N/m_q) f_{Tq}^N` summed over the nucleon scalar form factors, are
Cerdeño et al.'s :math:`Q'_s = (14 A + 1.1 Z) g_\nu g_q` (at :math:`F_Z = F_N = F` the charge above is
exactly :math:`(14 A + 1.1 Z) g_\nu g_q F`); the proton and neutron form factors are kept separate, as in
Atzori Corona et al. 2022.

Neutrino-electron scattering adds, per atom (Cerdeño et al. 2016),

.. math::
    \frac{d\sigma_S}{dT_e} = Z_{eff}(T_e)\,\frac{g_\nu^2 g_e^2\, m_e^2 T_e}{4\pi E^2 (2 m_e T_e + m_S^2)^2},
    \qquad 0 \le T_e \le 2E^2/(m_e + 2E).

(The full tree-level electron trace carries an extra factor :math:`1 + T_e/(2 m_e)`, below 1% for the
keV recoils of CsI; the cited papers' form is kept. The nuclear analogue :math:`1 + T/(2M)` is < 1e-6.)

Antineutrinos: the scalar contribution is quadratic in g_nu and the same for neutrinos and antineutrinos
of every flavour.

Linear POIs: at fixed mass the CEvNS change is :math:`\propto g_\nu^2 g_q^2` and the ES change
:math:`\propto g_\nu^2 g_e^2`. ``g_nu_sq`` scales the whole change exactly (with mass_mev, g_q, g_e fixed);
``g_q_sq`` scales the CEvNS change as :math:`(g_q/g_{q,ref})^2` and ``g_e_sq`` the ES change (the other
addition, fixed with the other parameters, is then a constant offset; it vanishes when g_e = 0, resp.
g_q = 0, and the change is proportional to the POI).

References:
    * D. G. Cerdeño et al., JHEP 05 (2016) 118 (arXiv:1604.01025), section 5: the CEvNS and ES scalar
      cross sections and the scalar charge (14 A + 1.1 Z).
    * Y. Farzan, M. Lindner, W. Rodejohann, X.-J. Xu, JHEP 05 (2018) 066 (arXiv:1802.05171).
    * M. Cadeddu et al., PRD 104 (2021) 011701; M. Atzori Corona et al., JHEP 05 (2022) 109
      (arXiv:2202.11002) -- universal light scalar mediator with COHERENT CsI and Ar.
    * O. G. Miranda et al., JHEP 05 (2020) 130 (arXiv:2003.12050).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm._common import mediator_parameters
from cevns_hf.bsm.family import Family, LinearPOI, Polynomial
from cevns_hf.physics.cevns import max_recoil, nuclear_form_factors
from cevns_hf.physics.constants import HBARC2_MEV2_CM2, M_ELECTRON
from cevns_hf.physics.electron import es_max_recoil, z_effective
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["FAMILY", "SCALAR_CHARGE_NEUTRON", "SCALAR_CHARGE_PROTON", "LightScalarModel"]


def __dir__() -> list[str]:
    return __all__


#: Scalar charge of the neutron per unit universal quark coupling, sum_q (m_n / m_q) f_Tq^n;
#: Cerdeño et al., JHEP 05 (2016) 118: Q'_s = (14 A + 1.1 Z) g_nu g_q.
SCALAR_CHARGE_NEUTRON = 14.0
#: Scalar charge of the proton per unit universal quark coupling (14 + 1.1); same reference.
SCALAR_CHARGE_PROTON = 14.0 + 1.1


def _scalar_exchange(
    e_nu: FloatArray, t: FloatArray, *, target_mass: float, charge: Any, mass_mev: Any, t_max: FloatArray
) -> FloatArray:
    r""":math:`M^2 T C^2 / (4 \pi E^2 (2 M T + m^2)^2)` [cm^2/MeV] for 0 <= T <= t_max, zero elsewhere."""
    with np.errstate(divide="ignore", invalid="ignore"):
        dxs = (
            target_mass**2
            * t
            * charge**2
            / (4.0 * np.pi * e_nu**2 * (2.0 * target_mass * t + np.asarray(mass_mev, dtype=float) ** 2) ** 2)
        )
    allowed = (e_nu > 0) & (t >= 0) & (t <= t_max)
    return np.where(allowed, dxs * HBARC2_MEV2_CM2, 0.0)


@dataclass(frozen=True)
class LightScalarModel:
    """The SM plus a light scalar mediator (parameters may be numpy arrays of shape (H, 1)).

    Attributes:
        mass_mev: mediator mass m_S [MeV].
        g_nu: coupling to neutrinos, all flavours.
        g_q: scalar coupling to u and d quarks.
        g_e: scalar coupling to electrons.
        sm: the Standard-Model base (weak mixing angle, form factor, radiative corrections).

    Example:
        >>> from cevns_hf.physics.nuclei import CS133
        >>> sm = LightScalarModel(10.0, 0.0, 0.0).cevns(30.0, 1e-3, CS133, "nu_mu")
        >>> bool(LightScalarModel(10.0, 1e-5, 1e-5).cevns(30.0, 1e-3, CS133, "nu_mu") > sm)
        True
    """

    mass_mev: Any
    g_nu: Any
    g_q: Any
    g_e: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def scalar_cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus) -> FloatArray:
        """The scalar-exchange part of d sigma / dT [cm^2/MeV] (flavour independent)."""
        e = np.asarray(e_nu, dtype=float)
        t = np.asarray(t_recoil, dtype=float)
        f_z, f_n = nuclear_form_factors(t, nucleus, form_factor=self.sm.form_factor)
        charge = (
            self.g_nu * self.g_q * (SCALAR_CHARGE_PROTON * nucleus.z * f_z + SCALAR_CHARGE_NEUTRON * nucleus.n * f_n)
        )
        return _scalar_exchange(
            e, t, target_mass=nucleus.mass, charge=charge, mass_mev=self.mass_mev, t_max=max_recoil(e, nucleus.mass)
        )

    def scalar_electron(self, e_nu: FloatArray, t_e: FloatArray, element: str) -> FloatArray:
        """The scalar-exchange part of d sigma / dT_e per atom [cm^2/MeV], Z_eff(T_e) included."""
        e = np.asarray(e_nu, dtype=float)
        t = np.asarray(t_e, dtype=float)
        per_electron = _scalar_exchange(
            e, t, target_mass=M_ELECTRON, charge=self.g_nu * self.g_e, mass_mev=self.mass_mev, t_max=es_max_recoil(e)
        )
        return per_electron * z_effective(element, t)

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """SM CEvNS plus the scalar exchange."""
        return self.sm.cevns(e_nu, t_recoil, nucleus, flavour) + self.scalar_cevns(e_nu, t_recoil, nucleus)

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM ES plus the scalar exchange with electrons."""
        return self.sm.electron(e_nu, t_e, element, flavour) + self.scalar_electron(e_nu, t_e, element)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> LightScalarModel:
    return LightScalarModel(values["mass_mev"], values["g_nu"], values["g_q"], values["g_e"])


def _square(v: float) -> float:
    return v * v


FAMILY = Family(
    name="light_scalar",
    description="light scalar mediator (mass, neutrino, universal quark and electron couplings)",
    parameters=mediator_parameters("scalar", "m_S"),
    make_model=_model,
    polynomial=Polynomial(("g_nu", "g_q", "g_e"), 4),
    references=(
        "Cerdeño et al., JHEP 05 (2016) 118",
        "Farzan et al., JHEP 05 (2018) 066",
        "Cadeddu et al., PRD 104 (2021) 011701",
        "Atzori Corona et al., JHEP 05 (2022) 109",
        "Miranda et al., JHEP 05 (2020) 130",
    ),
    linear_pois=(
        LinearPOI("g_nu_sq", "", "g_nu", _square, math.sqrt, fixed=("mass_mev", "g_q", "g_e"), scale=1e-10),
        LinearPOI("g_q_sq", "", "g_q", _square, math.sqrt, fixed=("mass_mev", "g_nu", "g_e"), scale=1e-10),
        LinearPOI("g_e_sq", "", "g_e", _square, math.sqrt, fixed=("mass_mev", "g_nu", "g_q"), scale=1e-10),
    ),
)
