r"""Vector non-standard neutrino interactions (NSI) with up and down quarks.

Effective Lagrangian (real, symmetric couplings :math:`\varepsilon_{\alpha\beta}^{q} = \varepsilon_{\beta\alpha}^{q}`):

.. math::
    \mathcal{L}_{NSI} = -\sqrt{2}\,G_F \sum_{\alpha,\beta}\sum_{q=u,d}
        \varepsilon_{\alpha\beta}^{q}\,[\bar\nu_\alpha\gamma^\mu P_L\nu_\beta][\bar q\gamma_\mu q]

A neutrino of flavour :math:`\alpha` scatters coherently into every flavour :math:`\beta`; the flavour-
conserving amplitude interferes with the SM, the flavour-changing ones add in quadrature:

.. math::
    Q_\alpha^2 = \left[(g_V^p + 2\varepsilon_{\alpha\alpha}^u + \varepsilon_{\alpha\alpha}^d) Z F_Z
                 + (g_V^n + \varepsilon_{\alpha\alpha}^u + 2\varepsilon_{\alpha\alpha}^d) N F_N\right]^2
      + \sum_{\beta\neq\alpha}\left[(2\varepsilon_{\alpha\beta}^u + \varepsilon_{\alpha\beta}^d) Z F_Z
                 + (\varepsilon_{\alpha\beta}^u + 2\varepsilon_{\alpha\beta}^d) N F_N\right]^2

    \frac{d\sigma_\alpha}{dT} = \frac{G_F^2 M}{\pi}\left(1 - \frac{T}{E} - \frac{M T}{2E^2}\right) Q_\alpha^2

where :math:`\varepsilon^q = \varepsilon^{qL} + \varepsilon^{qR}` (the vector part of the chiral couplings of
:math:`-2\sqrt2 G_F \varepsilon^{qP}[\bar\nu\gamma^\mu P_L\nu][\bar q\gamma_\mu P q]`), so that
:math:`\varepsilon^q` adds to the quark vector charge :math:`g_V^q` and :math:`g_V^p = 2g_V^u + g_V^d`,
:math:`g_V^n = g_V^u + 2g_V^d`; :math:`\alpha = e` for :math:`\nu_e` and :math:`\alpha = \mu` for
:math:`\nu_\mu` and :math:`\bar\nu_\mu`, :math:`\beta` running over the two other flavours (:math:`e, \mu, \tau`).
The flavour-changing amplitudes carry both the proton and the neutron form factor (they are *not* proton-only).

Antineutrinos: every vector charge (SM and NSI) flips sign together, so :math:`Q_\alpha^2` and the cross
section are the same as for neutrinos. Neutrino-electron scattering is unchanged (quark NSI only).

References:
    * J. Barranco, O. G. Miranda, T. I. Rashba, JHEP 12 (2005) 021 and PRD 76 (2007) 073008;
      PRD 73 (2006) 113001 (the charge above, with the factor conventions of physics.md section 6.3).
    * C. Giunti, PRD 101 (2020) 035039 (the ten couplings relevant at the SNS, up/down cancellations).
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
from cevns_hf.physics.cevns import nuclear_form_factors
from cevns_hf.physics.flavours import lepton_flavour
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["FAMILY", "NSIModel", "flavour_changing_amplitude"]


def __dir__() -> list[str]:
    return __all__


#: The ten couplings relevant at a pi-DAR source (nu_e, nu_mu, anti-nu_mu), in their documented order.
_PAIRS = ("ee", "mumu", "emu", "etau", "mutau")
#: Flavour-changing pairs seen by each incoming lepton flavour (eps symmetric: eps_mue = eps_emu).
_OFF_DIAGONAL = {"e": ("emu", "etau"), "mu": ("emu", "mutau")}
#: Range allowed for every coupling (dimensionless; far wider than the COHERENT constraints).
_EPS_RANGE = 5.0


def flavour_changing_amplitude(eps_u: Any, eps_d: Any, nucleus: Nucleus, f_z: Any, f_n: Any) -> Any:
    r"""Coherent amplitude of a flavour-changing NSI in units of a weak charge.

    .. math:: (2\varepsilon^u + \varepsilon^d) Z F_Z + (\varepsilon^u + 2\varepsilon^d) N F_N
    """
    return (2.0 * eps_u + eps_d) * nucleus.z * f_z + (eps_u + 2.0 * eps_d) * nucleus.n * f_n


@dataclass(frozen=True)
class NSIModel:
    """The SM plus vector NSI with quarks (values may be arrays of shape (H, 1) for a grid).

    Attributes:
        eps_ee_u ... eps_mutau_d: the vector couplings eps_ab^q = eps_ab^qL + eps_ab^qR (dimensionless).
        sm: the Standard-Model inputs (weak mixing angle, form factor, radiative corrections).
    """

    eps_ee_u: Any = 0.0
    eps_ee_d: Any = 0.0
    eps_mumu_u: Any = 0.0
    eps_mumu_d: Any = 0.0
    eps_emu_u: Any = 0.0
    eps_emu_d: Any = 0.0
    eps_etau_u: Any = 0.0
    eps_etau_d: Any = 0.0
    eps_mutau_u: Any = 0.0
    eps_mutau_d: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def _eps(self, pair: str) -> tuple[Any, Any]:
        return getattr(self, f"eps_{pair}_u"), getattr(self, f"eps_{pair}_d")

    def _zero(self) -> Any:
        """0 with the broadcast shape of the hypothesis grid ((H, 1), or a scalar for one hypothesis)."""
        total: Any = 0.0
        for pair in _PAIRS:
            u, d = self._eps(pair)
            total = total + 0.0 * np.asarray(u, dtype=float) + 0.0 * np.asarray(d, dtype=float)
        return total

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        r"""CEvNS with NSI, :math:`G_F^2 M/\pi\,(1 - T/E - MT/2E^2)\,Q_\alpha^2` [cm^2/MeV]."""
        alpha = lepton_flavour(flavour)
        gv_p, gv_n = sm_charges(self.sm, flavour)
        eps_u, eps_d = self._eps(alpha + alpha)
        f_z, f_n = nuclear_form_factors(t_recoil, nucleus, form_factor=self.sm.form_factor)
        changing: Any = 0.0
        for pair in _OFF_DIAGONAL[alpha]:
            changing = changing + flavour_changing_amplitude(*self._eps(pair), nucleus, f_z, f_n) ** 2
        return vector_cevns(
            e_nu,
            t_recoil,
            nucleus,
            form_factor=self.sm.form_factor,
            gv_p=gv_p + 2.0 * eps_u + eps_d,
            gv_n=gv_n + eps_u + 2.0 * eps_d,
            incoherent_sq=changing,
            proton_only_incoherent=False,
        )

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM neutrino-electron scattering (quark NSI do not touch it), broadcast over the grid."""
        return np.asarray(self.sm.electron(e_nu, t_e, element, flavour) + self._zero(), dtype=float)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return 1.0


def _model(values: Mapping[str, Any]) -> NSIModel:
    return NSIModel(**{name: values[name] for name in FAMILY.parameter_names})


def _square(value: float) -> float:
    return value * value


def _describe(pair: str, quark: str) -> str:
    kind = "flavour-conserving" if pair in ("ee", "mumu") else "flavour-changing"
    return f"{kind} vector NSI of nu_{pair} with {quark} quarks"


_PARAMETERS = tuple(
    Parameter(f"eps_{pair}_{q}", "", _describe(pair, q), sm=0.0, lo=-_EPS_RANGE, hi=_EPS_RANGE)
    for pair in _PAIRS
    for q in ("u", "d")
)

FAMILY = Family(
    name="nsi",
    description="vector NSI with u and d quarks (eps_ee, eps_mumu, eps_emu, eps_etau, eps_mutau)",
    parameters=_PARAMETERS,
    make_model=_model,
    polynomial=Polynomial(tuple(p.name for p in _PARAMETERS), 2),
    references=(
        "Barranco, Miranda, Rashba, JHEP 12 (2005) 021",
        "Barranco, Miranda, Rashba, PRD 73 (2006) 113001",
        "Giunti, PRD 101 (2020) 035039",
    ),
    # With only one flavour-changing coupling non-zero the rate is SM + eps^2 x (fixed template).
    linear_pois=tuple(
        LinearPOI(f"eps_{pair}_{q}_sq", "", f"eps_{pair}_{q}", _square, math.sqrt, scale=1e-2)
        for pair in ("emu", "etau", "mutau")
        for q in ("u", "d")
    ),
)
