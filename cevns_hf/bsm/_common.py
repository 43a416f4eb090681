"""Building blocks shared by the BSM families (pure, broadcasting numpy functions).

Every function broadcasts its coupling arguments against the (E, T) points, so a grid of hypotheses
passed as arrays of shape (H, 1) gives results of shape (H, n_points).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Parameter
from cevns_hf.physics.cevns import kinematic_factor, nuclear_form_factors, weak_couplings
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2, M_ELECTRON
from cevns_hf.physics.electron import es_max_recoil, z_effective
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = ["MAX_COUPLING", "MAX_MASS_MEV", "electron_scattering", "mediator_parameters", "sm_charges", "vector_cevns"]


def __dir__() -> list[str]:
    return __all__


def sm_charges(sm: StandardModel, flavour: str) -> tuple[Any, Any]:
    """(g_V^p, g_V^n) of the SM base model for a flavour (broadcasts over an array sin^2(theta_W))."""
    return weak_couplings(flavour, sin2_theta_w=sm.sin2_theta_w, radiative=sm.radiative)


def vector_cevns(
    e_nu: FloatArray,
    t_recoil: FloatArray,
    nucleus: Nucleus,
    *,
    form_factor: str,
    gv_p: Any,
    gv_n: Any,
    incoherent_sq: Any = 0.0,
    proton_only_incoherent: bool = True,
) -> FloatArray:
    r"""CEvNS with effective vector charges and an incoherent (non-interfering) addition.

    .. math::
        \frac{d\sigma}{dT} = \frac{G_F^2 M}{\pi}\left(1 - \frac{T}{E} - \frac{M T}{2E^2}\right)
        \left[(g_V^p Z F_Z + g_V^n N F_N)^2 + X\right]

    ``gv_p``, ``gv_n`` may depend on T (arrays broadcasting with the points) and on the hypothesis;
    ``incoherent_sq`` is X in units of a squared weak charge; it is multiplied by F_Z^2 when
    ``proton_only_incoherent`` (photon-exchange transition terms couple to protons only).
    Reference: physics.md sections 1 and 6 (Barranco, Miranda, Rashba 2005; Giunti et al.).
    """
    f_z, f_n = nuclear_form_factors(t_recoil, nucleus, form_factor=form_factor)
    charge = gv_p * nucleus.z * f_z + gv_n * nucleus.n * f_n
    extra = incoherent_sq * (f_z**2 if proton_only_incoherent else 1.0)
    prefactor = G_FERMI**2 * nucleus.mass / np.pi * HBARC2_MEV2_CM2
    return prefactor * kinematic_factor(e_nu, t_recoil, nucleus.mass) * (charge**2 + extra)


def electron_scattering(
    e_nu: FloatArray, t_e: FloatArray, element: str, *, g_v: Any, g_a: Any, incoherent_v_sq: Any = 0.0
) -> FloatArray:
    r"""Neutrino-electron scattering per atom with effective couplings (Z_eff step function included).

    .. math::
        \frac{d\sigma}{dT_e} = Z_{eff}\frac{G_F^2 m_e}{2\pi}\left[(g_V+g_A)^2 + (g_V-g_A)^2(1-y)^2
        - (g_V^2-g_A^2)\frac{m_e T_e}{E^2} + X\left(1 + (1-y)^2 - \frac{m_e T_e}{E^2}\right)\right]

    with y = T_e/E; X is an incoherent vector-like addition (transition charge radii / charges).
    Reference: Kayser et al. PRD 20 (1979) 87; Giunti & Studenikin, RMP 87 (2015) 531.
    """
    e = np.asarray(e_nu, dtype=float)
    t = np.asarray(t_e, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = t / e
        mass_term = M_ELECTRON * t / e**2
    bracket = (g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1.0 - y) ** 2 - (g_v**2 - g_a**2) * mass_term
    bracket = bracket + incoherent_v_sq * (1.0 + (1.0 - y) ** 2 - mass_term)
    allowed = (e > 0) & (t >= 0) & (t <= es_max_recoil(e))
    prefactor = G_FERMI**2 * M_ELECTRON / (2.0 * np.pi) * HBARC2_MEV2_CM2
    return np.where(allowed, prefactor * z_effective(element, t) * bracket, 0.0)


#: Largest coupling accepted for a light mediator: perturbativity, g^2 / (4 pi) <= 1.
MAX_COUPLING = math.sqrt(4.0 * math.pi)
#: Largest light-mediator mass accepted [MeV] (far in the contact limit at SNS momentum transfers).
MAX_MASS_MEV = 1e5


def mediator_parameters(label: str, symbol: str) -> tuple[Parameter, ...]:
    """The public parameters of a light-mediator family: ``mass_mev``, ``g_nu``, ``g_q``, ``g_e``.

    Args:
        label: how the couplings are described, e.g. ``"Z' vector"`` or ``"scalar"``.
        symbol: the mass symbol in the description, e.g. ``"m_V"``.
    """

    def coupling(name: str, description: str) -> Parameter:
        return Parameter(name, "", description, sm=0.0, lo=-MAX_COUPLING, hi=MAX_COUPLING)

    return (
        Parameter(
            "mass_mev",
            "MeV",
            f"mediator mass {symbol} (irrelevant at zero coupling)",
            sm=10.0,
            lo=0.0,
            hi=MAX_MASS_MEV,
            lo_open=True,
        ),
        coupling("g_nu", f"{label} coupling to neutrinos (all flavours)"),
        coupling("g_q", f"{label} coupling to u and d quarks"),
        coupling("g_e", f"{label} coupling to electrons (ES only)"),
    )
