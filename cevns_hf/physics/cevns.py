r"""Standard-Model coherent elastic neutrino-nucleus scattering cross section, flavour resolved.

.. math::
    \frac{d\sigma}{dT}(E, T) = \frac{G_F^2 M}{\pi}\left(1 - \frac{T}{E} - \frac{M T}{2 E^2}\right)
        \left[g_V^p Z F_Z(q) + g_V^n N F_N(q)\right]^2

References:
    * D. Z. Freedman, PRD 9 (1974) 1389; A. Drukier & L. Stodolsky, PRD 30 (1984) 2295.
    * The -T/E kinematic term: M. Hoferichter, J. Menendez, A. Schwenk, PRD 102 (2020) 074018
      (it makes the bracket vanish exactly at T_max = 2E^2/(M + 2E)).
    * Tree level: g_V^p = 1/2 - 2 sin^2(theta_W), g_V^n = -1/2.
    * Flavour-dependent radiative corrections (option ``radiative=True``): J. Erler & S. Su,
      Prog. Part. Nucl. Phys. 71 (2013) 119, numerical values as used by M. Atzori Corona et al.,
      JHEP 05 (2022) 109: g_V^p(nu_e) = 0.0401, g_V^p(nu_mu) = 0.0318, g_V^n = -0.5094 at the PDG
      low-energy sin^2(theta_W) = 0.23857; a different sin^2(theta_W) shifts g_V^p by
      -2 rho (s^2 - 0.23857) with rho = 1.00063 (PDG 2024).
    * Antineutrinos: every vector charge flips sign, g_V -> -g_V, so the SM cross section is the same.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.physics.constants import G_FERMI, HBARC2_MEV2_CM2, SIN2_THETA_W
from cevns_hf.physics.flavours import check_flavour, lepton_flavour
from cevns_hf.physics.form_factors import get_form_factor, momentum_transfer
from cevns_hf.physics.nuclei import Nucleus

__all__ = [
    "RADIATIVE_GV_N",
    "RADIATIVE_GV_P",
    "cevns_dxs_dt",
    "kinematic_factor",
    "max_recoil",
    "min_neutrino_energy",
    "nuclear_form_factors",
    "weak_couplings",
]


def __dir__() -> list[str]:
    return __all__


#: Radiatively corrected proton vector couplings per lepton flavour; Erler & Su (2013), Atzori Corona
#: et al. (2022), at sin^2(theta_W) = 0.23857.
RADIATIVE_GV_P = {"e": 0.0401, "mu": 0.0318}
#: Radiatively corrected neutron vector coupling; same references.
RADIATIVE_GV_N = -0.5094
#: rho parameter of the low-energy neutral current; PDG 2024.
_RHO_NC = 1.00063


def weak_couplings(flavour: str, *, sin2_theta_w: float = SIN2_THETA_W, radiative: bool = False) -> tuple[float, float]:
    """(g_V^p, g_V^n) seen by a neutrino of this flavour (the same for its antineutrino up to a sign).

    Args:
        flavour: ``nu_e``, ``nu_mu`` or ``nu_mu_bar``.
        sin2_theta_w: weak mixing angle at low energy.
        radiative: use the flavour-dependent radiatively corrected couplings instead of tree level.
    """
    if radiative:
        gv_p = RADIATIVE_GV_P[lepton_flavour(flavour)] - 2.0 * _RHO_NC * (sin2_theta_w - SIN2_THETA_W)
        return gv_p, RADIATIVE_GV_N
    check_flavour(flavour)
    return 0.5 - 2.0 * sin2_theta_w, -0.5


def max_recoil(e_nu: npt.ArrayLike, mass: float) -> FloatArray:
    """Maximum recoil kinetic energy T_max = 2 E^2 / (M + 2 E) [MeV] for a target of mass M [MeV]."""
    e = np.asarray(e_nu, dtype=float)
    return 2.0 * e * e / (mass + 2.0 * e)


def min_neutrino_energy(t_recoil: npt.ArrayLike, mass: float) -> FloatArray:
    """Smallest neutrino energy that can give a recoil T: E_min = (T + sqrt(T^2 + 2 M T)) / 2 [MeV]."""
    t = np.asarray(t_recoil, dtype=float)
    return 0.5 * (t + np.sqrt(t * t + 2.0 * mass * t))


def kinematic_factor(e_nu: npt.ArrayLike, t_recoil: npt.ArrayLike, mass: float) -> FloatArray:
    """1 - T/E - M T / (2 E^2), clipped at zero above T_max (no scattering is kinematically allowed)."""
    e = np.asarray(e_nu, dtype=float)
    t = np.asarray(t_recoil, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 - t / e - mass * t / (2.0 * e * e)
    return np.where((e > 0) & (factor > 0), factor, 0.0)


_FF_CACHE: dict[tuple[int, str, float, float, str], tuple[FloatArray, tuple[FloatArray, FloatArray]]] = {}
_FF_CACHE_SIZE = 128


def nuclear_form_factors(
    t_recoil: npt.ArrayLike, nucleus: Nucleus, *, form_factor: str = "helm"
) -> tuple[FloatArray, FloatArray]:
    """Proton and neutron form factors (F_Z, F_N) at recoil energy T [MeV].

    Read-only arrays (the rate engine's quadrature points) are memoised by identity: the cache keeps a
    reference to the array, so its id cannot be reused while the entry exists.
    """
    key = None
    if isinstance(t_recoil, np.ndarray) and not t_recoil.flags.writeable and np.ndim(nucleus.r_n) == 0:
        key = (id(t_recoil), nucleus.name, float(nucleus.r_p), float(nucleus.r_n), form_factor)
        hit = _FF_CACHE.get(key)
        if hit is not None and hit[0] is t_recoil:
            return hit[1]
    ff = get_form_factor(form_factor)
    q = momentum_transfer(t_recoil, nucleus.mass)
    result = (ff(q, nucleus.r_p), ff(q, nucleus.r_n))
    if key is not None:
        if len(_FF_CACHE) >= _FF_CACHE_SIZE:
            _FF_CACHE.pop(next(iter(_FF_CACHE)))
        for arr in result:
            arr.flags.writeable = False
        _FF_CACHE[key] = (t_recoil, result)  # type: ignore[assignment]
    return result


def cevns_dxs_dt(
    e_nu: npt.ArrayLike,
    t_recoil: npt.ArrayLike,
    nucleus: Nucleus,
    *,
    flavour: str = "nu_mu",
    sin2_theta_w: float = SIN2_THETA_W,
    form_factor: str = "helm",
    radiative: bool = False,
) -> FloatArray:
    r"""SM CEvNS differential cross section d sigma / dT [cm^2 / MeV].

    Args:
        e_nu: neutrino energy E [MeV].
        t_recoil: nuclear recoil kinetic energy T [MeV] (broadcast against ``e_nu``).
        nucleus: the target nucleus (mass, Z, N and proton / neutron radii).
        flavour: neutrino flavour; the SM result is flavour blind at tree level.
        sin2_theta_w: weak mixing angle.
        form_factor: name of the form factor (``helm``, ``klein_nystrand``, ``symmetrized_fermi``).
        radiative: flavour-dependent radiative corrections of the couplings.

    Returns:
        d sigma / dT, zero above the kinematic end point.

    Example:
        >>> from cevns_hf.physics.nuclei import CS133
        >>> float(cevns_dxs_dt(30.0, 0.0, CS133)) > 0
        True
    """
    gv_p, gv_n = weak_couplings(flavour, sin2_theta_w=sin2_theta_w, radiative=radiative)
    f_z, f_n = nuclear_form_factors(t_recoil, nucleus, form_factor=form_factor)
    charge = gv_p * nucleus.z * f_z + gv_n * nucleus.n * f_n
    prefactor = G_FERMI**2 * nucleus.mass / np.pi * HBARC2_MEV2_CM2
    return prefactor * kinematic_factor(e_nu, t_recoil, nucleus.mass) * charge**2
