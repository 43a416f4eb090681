r"""Neutrino generalized interactions (NGI): scalar, vector and tensor neutrino-nucleon couplings.

Convention (the public meaning of ``c_s``, ``c_v``, ``c_t``): flavour-universal, isospin-symmetric effective
couplings *per nucleon*, normalised like the SM vector charge. With the nucleon-number sum
:math:`A_F(q) = Z F_Z(q) + N F_N(q)` (equal couplings to every nucleon, each distribution with its form factor;
:math:`A_F(0) = A`), the nucleus sees the charges

.. math::
    C_V = Q_V + c_v A_F,\qquad C_S = c_s A_F,\qquad C_T = \frac{c_t}{2\sqrt2} A_F,

those of the nucleus-level effective Lagrangian (nucleus :math:`\mathcal{N}` treated as a point-like Dirac
fermion, as in the references; the S and T terms with their hermitian conjugates;
:math:`\gamma_5 = i\gamma^0\gamma^1\gamma^2\gamma^3`)

.. math::
    \mathcal{L} = -\frac{G_F}{\sqrt2}\sum_{a=S,V,T} C_a\,[\bar\nu\,\Gamma^a(1-\gamma_5)\,\nu]
        [\bar{\mathcal{N}}\,\Gamma_a\,\mathcal{N}],\qquad \Gamma^S = 1,\ \Gamma^V = \gamma^\mu,
        \ \Gamma^T = \sigma^{\mu\nu} = \tfrac{i}{2}[\gamma^\mu, \gamma^\nu],

whose vector part is the SM neutral current for :math:`C_V = Q_V = g_V^p Z F_Z + g_V^n N F_N`. The factor
:math:`2\sqrt2` in :math:`C_T` makes the tensor term enter the cross section with unit weight, like the
normalised :math:`\xi_T` of Lindner, Rodejohann & Xu. The cross section (spin traces of this Lagrangian,
keeping the leading order in :math:`T/E` and :math:`T/M` of each term, as the references do) is

.. math::
    \frac{d\sigma}{dT} = \frac{G_F^2 M}{\pi}\Big[(Q_V + c_v A_F)^2\Big(1 - \frac{T}{E} - \frac{MT}{2E^2}\Big)
        + c_s^2 A_F^2\,\frac{MT}{2E^2} + c_t^2 A_F^2\Big(1 - \frac{T}{E} - \frac{MT}{4E^2}\Big)
        \mp \frac{c_s c_t}{\sqrt2} A_F^2\,\frac{T}{E}\Big]

for :math:`T \le T_{max} = 2E^2/(M + 2E)` and zero above. The scalar and tensor interactions flip the
neutrino chirality, so they do not interfere with the SM or with :math:`c_v`; they interfere with each other
(the last term, an :math:`\mathcal{R}`-type term of the references, suppressed by :math:`T/E < 10^{-3}`),
with the upper sign for neutrinos and the lower sign for antineutrinos. The scalar term vanishes as
:math:`T \to 0` relative to the vector one (ratio :math:`\propto MT/E^2`). Antineutrinos: the vector charge
flips sign with the SM charge, so :math:`(Q_V + c_v A_F)^2` is unchanged. Neutrino-electron scattering is
unchanged (neutrino-quark interactions only).

Relations: ``c_v`` equals the flavour-universal diagonal vector NSI :math:`\varepsilon^u = \varepsilon^d =
c_v/3` of :mod:`cevns_hf.bsm.nsi` (a nucleon has three valence quarks). A quark-level scalar coupling maps to
``c_s`` through the nucleon scalar form factors (:math:`\sum_q C_S^q\,f_{Tq} m_N/m_q`), here assumed equal
for protons and neutrons. Caveat: a coherent tensor charge follows the references' point-like spin-1/2
treatment; for a spin-0 nucleus the tensor current is spin dependent and not coherently enhanced.

References:
    * M. Lindner, W. Rodejohann, X.-J. Xu, JHEP 03 (2017) 097 (arXiv:1612.04150), section 2.
    * D. Aristizabal Sierra, V. De Romeri, N. Rojas, PRD 98 (2018) 075018 (arXiv:1806.07424), section 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm._common import sm_charges, vector_cevns
from cevns_hf.bsm.family import Family, LinearPOI, Parameter, Polynomial
from cevns_hf.physics.cevns import kinematic_factor, nuclear_form_factors
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2
from cevns_hf.physics.flavours import is_antineutrino
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["FAMILY", "NGIModel", "scalar_tensor_factors"]


def __dir__() -> list[str]:
    return __all__


#: Range allowed for every coupling (per nucleon; the SM neutron vector charge is -1/2).
_C_RANGE = 5.0


def scalar_tensor_factors(
    e_nu: FloatArray, t_recoil: FloatArray, mass: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Kinematic factors of the scalar, tensor and scalar-tensor interference terms.

    .. math:: K_S = \frac{MT}{2E^2},\qquad K_T = 1 - \frac{T}{E} - \frac{MT}{4E^2},\qquad K_{ST} = \frac{T}{E}

    Each is zero outside the kinematically allowed region :math:`0 \le T \le T_{max}`, :math:`E > 0` (the
    region where the vector factor of :func:`cevns_hf.physics.cevns.kinematic_factor` is positive).
    """
    e = np.asarray(e_nu, dtype=float)
    t = np.asarray(t_recoil, dtype=float)
    allowed = (kinematic_factor(e, t, mass) > 0) & (t >= 0)
    safe_e = np.where(allowed, e, 1.0)
    y = np.where(allowed, t / safe_e, 0.0)
    mt = np.where(allowed, mass * t / safe_e**2, 0.0)
    k_t = np.where(allowed, 1.0 - y - 0.25 * mt, 0.0)
    return 0.5 * mt, k_t, y


@dataclass(frozen=True)
class NGIModel:
    """The SM plus scalar, vector and tensor NGI (values may be arrays of shape (H, 1) for a grid).

    Attributes:
        c_s: scalar coupling per nucleon.
        c_v: vector coupling per nucleon, added to the SM vector charge (interferes).
        c_t: tensor coupling per nucleon (cross-section normalised, see the module docstring).
        sm: the Standard-Model inputs (weak mixing angle, form factor, radiative corrections).
    """

    c_s: Any = 0.0
    c_v: Any = 0.0
    c_t: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def _zero(self) -> Any:
        """0 with the broadcast shape of the hypothesis grid ((H, 1), or a scalar for one hypothesis)."""
        return sum((0.0 * np.asarray(v, dtype=float) for v in (self.c_s, self.c_v, self.c_t)), start=0.0)

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """CEvNS with NGI (formula in the module docstring) [cm^2/MeV]."""
        gv_p, gv_n = sm_charges(self.sm, flavour)
        vector = vector_cevns(
            e_nu,
            t_recoil,
            nucleus,
            form_factor=self.sm.form_factor,
            gv_p=gv_p + self.c_v,
            gv_n=gv_n + self.c_v,
        )
        f_z, f_n = nuclear_form_factors(t_recoil, nucleus, form_factor=self.sm.form_factor)
        a_f = nucleus.z * f_z + nucleus.n * f_n
        k_s, k_t, k_st = scalar_tensor_factors(e_nu, t_recoil, nucleus.mass)
        sign = 1.0 if is_antineutrino(flavour) else -1.0
        bracket = (self.c_s**2 * k_s + self.c_t**2 * k_t + sign * self.c_s * self.c_t / math.sqrt(2.0) * k_st) * a_f**2
        prefactor = G_FERMI**2 * nucleus.mass / np.pi * HBARC2_MEV2_CM2
        return np.asarray(vector + prefactor * bracket, dtype=float)

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM neutrino-electron scattering (NGI with quarks do not touch it), broadcast over the grid."""
        return np.asarray(self.sm.electron(e_nu, t_e, element, flavour) + self._zero(), dtype=float)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> NGIModel:
    return NGIModel(c_s=values["c_s"], c_v=values["c_v"], c_t=values["c_t"])


def _square(value: float) -> float:
    return value * value


FAMILY = Family(
    name="ngi",
    description="neutrino generalized interactions: scalar, vector, tensor couplings per nucleon",
    parameters=(
        Parameter(
            "c_s", "", "scalar neutrino-nucleon coupling per nucleon (no SM interference)", lo=-_C_RANGE, hi=_C_RANGE
        ),
        Parameter(
            "c_v",
            "",
            "vector neutrino-nucleon coupling per nucleon (added to g_V^p and g_V^n)",
            lo=-_C_RANGE,
            hi=_C_RANGE,
        ),
        Parameter(
            "c_t", "", "tensor neutrino-nucleon coupling per nucleon (no SM interference)", lo=-_C_RANGE, hi=_C_RANGE
        ),
    ),
    make_model=_model,
    polynomial=Polynomial(("c_s", "c_v", "c_t"), 2),
    references=(
        "Lindner, Rodejohann, Xu, JHEP 03 (2017) 097",
        "Aristizabal Sierra, De Romeri, Rojas, PRD 98 (2018) 075018",
    ),
    # Exactly linear only with the other two couplings at zero (c_v interferes with the SM; c_s and c_t
    # interfere with each other through the T/E term).
    linear_pois=(
        LinearPOI("c_s_sq", "", "c_s", _square, math.sqrt, scale=1e-3),
        LinearPOI("c_t_sq", "", "c_t", _square, math.sqrt, scale=1e-3),
    ),
)
