r"""Standard-Model neutrino-electron elastic scattering (ES) on atomic electrons.

.. math::
    \frac{d\sigma}{dT_e} = Z_{eff}(T_e)\frac{G_F^2 m_e}{2\pi}\left[(g_V + g_A)^2
        + (g_V - g_A)^2\left(1 - \frac{T_e}{E}\right)^2 - (g_V^2 - g_A^2)\frac{m_e T_e}{E^2}\right]

with g_V = -1/2 + 2 s_W^2, g_A = -1/2 for nu_mu (neutral current) and g_V = 1/2 + 2 s_W^2,
g_A = 1/2 for nu_e (charged current included); g_A -> -g_A for antineutrinos.

References:
    * B. Kayser et al., PRD 20 (1979) 87; W. J. Marciano & Z. Parsa, J. Phys. G 29 (2003) 2629;
      PDG 2024 review "Electroweak model and constraints on new physics", section 10.
    * Z_eff(T_e), the number of electrons that can be ionised by an energy transfer T_e (free-electron
      approximation with a step at each shell's binding energy): J.-W. Chen et al., PLB 731 (2014) 159;
      M. Atzori Corona et al., JHEP 09 (2022) 164. Binding energies: X-ray Data Booklet (LBNL, 2009),
      Table 1-1 (J. A. Bearden & A. F. Burr, Rev. Mod. Phys. 39 (1967) 125).
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2, M_ELECTRON, SIN2_THETA_W
from cevns_hf.physics.flavours import check_flavour, is_antineutrino, lepton_flavour

__all__ = [
    "SHELLS",
    "es_couplings",
    "es_dxs_dte",
    "es_max_recoil",
    "z_effective",
]


def __dir__() -> list[str]:
    return __all__


#: (binding energy [keV], number of electrons) per subshell; X-ray Data Booklet Table 1-1. Sums to Z.
SHELLS: Final[dict[str, tuple[tuple[float, int], ...]]] = {
    # Cs, Z = 55: K, L1-3, M1-5, N1-5, O1-3, P1 (6s, first ionisation energy 3.89 eV)
    "Cs": (
        (35.985, 2),
        (5.714, 2),
        (5.359, 2),
        (5.012, 4),
        (1.211, 2),
        (1.071, 2),
        (1.003, 4),
        (0.7405, 4),
        (0.7266, 6),
        (0.2323, 2),
        (0.1723, 2),
        (0.1613, 4),
        (0.0798, 4),
        (0.0775, 6),
        (0.0227, 2),
        (0.0142, 2),
        (0.0121, 4),
        (0.0039, 1),
    ),
    # I, Z = 53: K, L1-3, M1-5, N1-5, O1-3 (5s2 5p5)
    "I": (
        (33.169, 2),
        (5.188, 2),
        (4.852, 2),
        (4.557, 4),
        (1.072, 2),
        (0.931, 2),
        (0.875, 4),
        (0.631, 4),
        (0.619, 6),
        (0.186, 2),
        (0.123, 2),
        (0.123, 4),
        (0.050, 4),
        (0.050, 6),
        (0.014, 2),
        (0.003, 2),
        (0.003, 3),
    ),
    # Ar, Z = 18: K, L1-3, M1-3
    "Ar": ((3.2059, 2), (0.3263, 2), (0.2506, 2), (0.2484, 4), (0.0293, 2), (0.0159, 2), (0.0157, 4)),
}


_Z_CACHE: dict[tuple[int, str], tuple[FloatArray, FloatArray]] = {}


def z_effective(element: str, t_e: npt.ArrayLike) -> FloatArray:
    """Number of electrons of ``element`` with binding energy below T_e [MeV] (a step function).

    Read-only arrays (the rate engine's points) are memoised by identity, keeping a reference to them.
    """
    if isinstance(t_e, np.ndarray) and not t_e.flags.writeable:
        hit = _Z_CACHE.get((id(t_e), element))
        if hit is not None and hit[0] is t_e:
            return hit[1]
        value = _z_effective(element, t_e)
        value.flags.writeable = False
        if len(_Z_CACHE) >= 128:
            _Z_CACHE.pop(next(iter(_Z_CACHE)))
        _Z_CACHE[(id(t_e), element)] = (t_e, value)
        return value
    return _z_effective(element, t_e)


def _z_effective(element: str, t_e: npt.ArrayLike) -> FloatArray:
    try:
        shells = SHELLS[element]
    except KeyError:
        msg = f"no shell table for element {element!r}; valid choices: {sorted(SHELLS)}"
        raise ConfigurationError(msg) from None
    t_kev = np.asarray(t_e, dtype=float) * 1e3
    z = np.zeros_like(t_kev)
    for binding, count in shells:
        z += np.where(t_kev > binding, count, 0)
    return z


def es_couplings(flavour: str, *, sin2_theta_w: float = SIN2_THETA_W) -> tuple[float, float]:
    """(g_V, g_A) of neutrino-electron scattering, charged current included for electron flavour."""
    if lepton_flavour(flavour) == "e":
        g_v, g_a = 0.5 + 2.0 * sin2_theta_w, 0.5
    else:
        g_v, g_a = -0.5 + 2.0 * sin2_theta_w, -0.5
    if is_antineutrino(flavour):
        g_a = -g_a
    return g_v, g_a


def es_max_recoil(e_nu: npt.ArrayLike) -> FloatArray:
    """Maximum electron recoil T_e,max = 2 E^2 / (m_e + 2 E) [MeV]."""
    e = np.asarray(e_nu, dtype=float)
    return 2.0 * e * e / (M_ELECTRON + 2.0 * e)


def es_dxs_dte(
    e_nu: npt.ArrayLike,
    t_e: npt.ArrayLike,
    element: str,
    *,
    flavour: str = "nu_mu",
    sin2_theta_w: float = SIN2_THETA_W,
) -> FloatArray:
    """ES differential cross section per atom, d sigma / dT_e [cm^2 / MeV], zero above T_e,max."""
    check_flavour(flavour)
    e = np.asarray(e_nu, dtype=float)
    t = np.asarray(t_e, dtype=float)
    g_v, g_a = es_couplings(flavour, sin2_theta_w=sin2_theta_w)
    with np.errstate(divide="ignore", invalid="ignore"):
        y = t / e
        bracket = (g_v + g_a) ** 2 + (g_v - g_a) ** 2 * (1.0 - y) ** 2 - (g_v**2 - g_a**2) * M_ELECTRON * t / e**2
    allowed = (e > 0) & (t >= 0) & (t <= es_max_recoil(e))
    prefactor = G_FERMI**2 * M_ELECTRON / (2.0 * np.pi) * HBARC2_MEV2_CM2
    return np.where(allowed, prefactor * z_effective(element, t) * bracket, 0.0)
