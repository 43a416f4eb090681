r"""Neutrino dipole portal: active-to-sterile transition magnetic moment, :math:`\nu_a N \to N_4 N`.

An active neutrino up-scatters on the nucleus into a heavy sterile lepton :math:`N_4` of mass
:math:`m_4` by photon exchange through a transition magnetic moment :math:`d_a`. The process is coherent
on the protons, has no Standard-Model final state to interfere with, and adds incoherently to CEvNS:

.. math::
    \frac{d\sigma_{N_4}}{dT} = \alpha\, d_a^2\, Z^2 F_Z^2(q^2)\left[\frac1T - \frac1E
        - \frac{m_4^2}{2 E T M}\left(1 - \frac{T}{2E} + \frac{M}{2E}\right)
        + \frac{m_4^4 (T - M)}{8 E^2 T^2 M^2}\right],
    \qquad T_-(E, m_4) \le T \le T_+(E, m_4),

and zero outside, with :math:`d_a` in natural units (:math:`d_a[\mathrm{MeV}^{-1}] = d_a[\mu_B]\,
e/(2m_e)`). As :math:`m_4 \to 0` the bracket becomes :math:`1/T - 1/E` and, since
:math:`\alpha\,(e/2m_e)^2 = \pi\alpha^2/m_e^2`, the cross section becomes the magnetic-moment formula
:math:`(\pi\alpha^2/m_e^2)(1/T - 1/E) Z^2 F_Z^2 (\mu_\nu/\mu_B)^2` (Vogel & Engel 1989; physics.md 6.7).

The bracket is the one of Brdar et al. (used also by Miranda et al.). Checked here by an independent
trace computation: it is the *exact* tree-level result for a point-like spin-1/2 target of charge
:math:`Ze` without anomalous moment; a spin-0 target would add :math:`T/(4E^2) - m_4^2/(8E^2M)
- m_4^4/(8E^2M^2T)`, a relative change below 1e-4 at SNS energies (T/E < 1e-3).

*Kinematics* (:math:`\nu(E) + N(M) \to N_4(m_4) + N`, nucleus at rest). Energy-momentum conservation
fixes the recoil angle, :math:`\cos\theta = [m_4^2 + 2T(E + M)] / [2E\sqrt{T^2 + 2MT}]`, and
:math:`\cos\theta \le 1` gives :math:`M(M+2E)T^2 - [2E^2M - m_4^2(E+M)]T + m_4^4/4 \le 0`:

.. math::
    T_\pm = \frac{2E^2M - m_4^2(E+M) \pm E\sqrt{D}}{2M(M+2E)},\qquad
    D = (2EM - m_4^2)^2 - (2 m_4 M)^2,\qquad T_- = \frac{m_4^4}{4M(M+2E)\,T_+}.

Real roots need :math:`D \ge 0`, i.e. :math:`E \ge E_{th} = m_4 + m_4^2/(2M)` (:math:`\sqrt{s} \ge M +
m_4`). At fixed T the smallest neutrino energy is
:math:`E_{min}(T) = (m_4^2 + 2MT)(\sqrt{T^2+2MT} + T)/(4MT)`, which reduces to the elastic one as
:math:`m_4 \to 0`. Example: for :math:`m_4 = 40` MeV the prompt nu_mu (29.8 MeV) is below threshold.

Flavours: nu_e up-scatters through ``d_e``; nu_mu and anti-nu_mu through ``d_mu``. The helicity-flipping
dipole gives the same cross section for neutrinos and antineutrinos.

*Not included*: up-scattering on atomic electrons (:math:`\nu e \to N_4 e`); ES is the Standard
Model's. It is kinematically open only for :math:`m_4 < \sqrt{m_e^2 + 2m_eE} - m_e \lesssim 7` MeV at the
SNS, it scales with Z instead of :math:`Z^2`, and its smallest electron recoil,
:math:`T_{e,-} \approx m_4^4/(8 m_e E^2)`, leaves the CsI region (< 4.5 keVee) for :math:`m_4 \gtrsim 3`
MeV. A light-:math:`N_4` analysis that needs it should add it (same formula with M -> m_e, Z^2 F_Z^2 ->
Z_eff).

References:
    * V. Brdar, A. Greljo, J. Kopp, T. Opferkuch, JCAP 01 (2021) 039 (arXiv:2007.15563): the nuclear
      up-scattering cross section.
    * O. G. Miranda, D. K. Papoulias, O. Sanders, M. Tortola, J. W. F. Valle, JHEP 12 (2021) 191
      (arXiv:2109.09545): sensitivities of CEvNS and electron-scattering experiments.
    * G. Magill, R. Plestid, M. Pospelov, Y.-D. Tsai, PRD 98 (2018) 115015: the dipole portal.
    * P. Vogel, J. Engel, PRD 39 (1989) 3378: the m_4 -> 0 (magnetic-moment) limit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.bsm.family import Family, HypothesisError, LinearPOI, Parameter, Polynomial
from cevns_hf.physics.cevns import nuclear_form_factors
from cevns_hf.physics.constants import ALPHA_EM, HBARC2_MEV2_CM2, MU_B_MEV_INV
from cevns_hf.physics.flavours import lepton_flavour
from cevns_hf.physics.model import StandardModel
from cevns_hf.physics.nuclei import Nucleus

__all__ = [
    "FAMILY",
    "DipolePortalModel",
    "dipole_dxs_dt",
    "min_neutrino_energy",
    "recoil_range",
    "threshold_energy",
]


def __dir__() -> list[str]:
    return __all__


def threshold_energy(m4_mev: npt.ArrayLike, mass: float) -> Any:
    r"""Smallest neutrino energy producing :math:`N_4` on a nucleus at rest: :math:`m_4 + m_4^2/(2M)` [MeV]."""
    m4 = np.asarray(m4_mev, dtype=float)
    return m4 + m4 * m4 / (2.0 * mass)


def recoil_range(e_nu: npt.ArrayLike, m4_mev: npt.ArrayLike, mass: float) -> tuple[Any, Any]:
    r"""Kinematic recoil range :math:`(T_-, T_+)` [MeV] of :math:`\nu N \to N_4 N` (broadcasts).

    Below threshold (:math:`E < m_4 + m_4^2/2M`) both are NaN. For :math:`m_4 = 0` it is the elastic
    range :math:`(0, 2E^2/(M + 2E))`.
    """
    e = np.asarray(e_nu, dtype=float)
    m4 = np.asarray(m4_mev, dtype=float)
    m4_sq = m4 * m4
    disc = (2.0 * e * mass - m4_sq) ** 2 - (2.0 * m4 * mass) ** 2
    above = disc >= 0.0
    root = e * np.sqrt(np.where(above, disc, 0.0))
    denom = 2.0 * mass * (mass + 2.0 * e)
    t_plus = (2.0 * e * e * mass - m4_sq * (e + mass) + root) / denom
    with np.errstate(divide="ignore", invalid="ignore"):
        t_minus = np.where(t_plus > 0.0, m4_sq * m4_sq / (2.0 * denom * t_plus), 0.0)
    return np.where(above, t_minus, np.nan), np.where(above, t_plus, np.nan)


def min_neutrino_energy(t_recoil: npt.ArrayLike, m4_mev: npt.ArrayLike, mass: float) -> Any:
    r"""Smallest neutrino energy giving a recoil T: :math:`(m_4^2 + 2MT)(\sqrt{T^2+2MT} + T)/(4MT)` [MeV].

    Infinite at T = 0 for :math:`m_4 > 0`.
    """
    t = np.asarray(t_recoil, dtype=float)
    m4 = np.asarray(m4_mev, dtype=float)
    p = np.sqrt(t * t + 2.0 * mass * t)
    with np.errstate(divide="ignore", invalid="ignore"):
        e_min = (m4 * m4 + 2.0 * mass * t) * (p + t) / (4.0 * mass * t)
    return np.where(t > 0.0, e_min, np.where(m4 > 0.0, np.inf, 0.0))


def dipole_dxs_dt(
    e_nu: npt.ArrayLike,
    t_recoil: npt.ArrayLike,
    nucleus: Nucleus,
    *,
    m4_mev: npt.ArrayLike,
    d_mu_b: npt.ArrayLike,
    form_factor: str = "helm",
) -> FloatArray:
    r"""Dipole-portal up-scattering cross section :math:`d\sigma/dT` [cm^2/MeV] (see the module docstring).

    Args:
        e_nu: neutrino energy E [MeV].
        t_recoil: nuclear recoil kinetic energy T [MeV] (broadcast against ``e_nu``).
        nucleus: target nucleus (Z, mass and proton radius).
        m4_mev: sterile-lepton mass [MeV] (> 0; arrays of shape (H, 1) broadcast to (H, n_points)).
        d_mu_b: transition magnetic moment in Bohr magnetons.
        form_factor: name of the proton form factor.

    Returns:
        Zero outside the kinematic range :math:`T_-(E, m_4) \le T \le T_+(E, m_4)` and below threshold.
    """
    e = np.asarray(e_nu, dtype=float)
    t = np.asarray(t_recoil, dtype=float)
    m4 = np.asarray(m4_mev, dtype=float)
    mass = nucleus.mass
    t_lo, t_hi = recoil_range(e, m4, mass)
    with np.errstate(invalid="ignore"):
        allowed = (e > 0.0) & (t > 0.0) & (t >= t_lo) & (t <= t_hi)
    ts = np.where(allowed, t, 1.0)
    es = np.where(allowed, e, 1.0)
    m4_sq = m4 * m4
    bracket = (
        1.0 / ts
        - 1.0 / es
        - m4_sq / (2.0 * es * ts * mass) * (1.0 - ts / (2.0 * es) + mass / (2.0 * es))
        + m4_sq * m4_sq * (ts - mass) / (8.0 * es * es * ts * ts * mass * mass)
    )
    f_z = nuclear_form_factors(ts, nucleus, form_factor=form_factor)[0]
    d_natural = np.asarray(d_mu_b, dtype=float) * MU_B_MEV_INV
    shape = np.where(allowed, np.maximum(bracket, 0.0) * (nucleus.z * f_z) ** 2, 0.0)
    return np.asarray(ALPHA_EM * d_natural**2 * HBARC2_MEV2_CM2 * shape, dtype=float)


@dataclass(frozen=True)
class DipolePortalModel:
    r"""SM plus dipole-portal up-scattering :math:`\nu_a N \to N_4 N` (added incoherently to CEvNS).

    Parameter values may be floats or numpy arrays of shape (H, 1); the CEvNS cross section then has
    shape (H, n_points).

    Attributes:
        m4_mev: mass of the sterile lepton N_4 [MeV].
        d_e: nu_e -> N_4 transition magnetic moment [mu_B].
        d_mu: nu_mu -> N_4 (and anti-nu_mu) transition magnetic moment [mu_B].
        sm: the Standard Model (its form factor is used for F_Z).
    """

    m4_mev: Any = 1.0
    d_e: Any = 0.0
    d_mu: Any = 0.0
    sm: StandardModel = field(default_factory=StandardModel)

    def coupling(self, flavour: str) -> Any:
        """The transition moment seen by a flavour (nu_e: d_e; nu_mu and anti-nu_mu: d_mu) [mu_B]."""
        return self.d_e if lepton_flavour(flavour) == "e" else self.d_mu

    def cevns(self, e_nu: FloatArray, t_recoil: FloatArray, nucleus: Nucleus, flavour: str) -> FloatArray:
        """SM CEvNS plus the up-scattering :math:`\\nu N \\to N_4 N` (same recoil observable)."""
        extra = dipole_dxs_dt(
            e_nu,
            t_recoil,
            nucleus,
            m4_mev=self.m4_mev,
            d_mu_b=self.coupling(flavour),
            form_factor=self.sm.form_factor,
        )
        return np.asarray(self.sm.cevns(e_nu, t_recoil, nucleus, flavour) + extra, dtype=float)

    def electron(self, e_nu: FloatArray, t_e: FloatArray, element: str, flavour: str) -> FloatArray:
        """SM neutrino-electron scattering (up-scattering on electrons is neglected, see the module)."""
        return self.sm.electron(e_nu, t_e, element, flavour)

    def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
        """No oscillation."""
        return self.sm.flux_factor(flavour, e_nu, baseline_m)


def _model(values: Mapping[str, Any]) -> DipolePortalModel:
    return DipolePortalModel(m4_mev=values["m4_mev"], d_e=values["d_e"], d_mu=values["d_mu"])


def _square(v: float) -> float:
    return v * v


def _sqrt(x: float) -> float:
    """The non-negative transition moment [mu_B] of a squared one (the sign of d is unobservable)."""
    if not x >= 0.0:
        msg = f"a squared transition moment must be >= 0, got {x!r} mu_B^2"
        raise HypothesisError(msg)
    return math.sqrt(x)


FAMILY = Family(
    name="dipole_portal",
    description="active-sterile transition magnetic moments nu_a N -> N_4 N (heavy sterile lepton N_4)",
    parameters=(
        Parameter("m4_mev", "MeV", "sterile lepton mass m_4", sm=1.0, lo=0.0, hi=1e4, lo_open=True),
        Parameter("d_e", "mu_B", "nu_e -> N_4 transition magnetic moment", sm=0.0, lo=-1.0, hi=1.0),
        Parameter("d_mu", "mu_B", "nu_mu / anti-nu_mu -> N_4 transition magnetic moment", sm=0.0, lo=-1.0, hi=1.0),
    ),
    make_model=_model,
    polynomial=Polynomial(("d_e", "d_mu"), 2),
    references=(
        "V. Brdar, A. Greljo, J. Kopp, T. Opferkuch, JCAP 01 (2021) 039 (arXiv:2007.15563)",
        "O. G. Miranda, D. K. Papoulias, O. Sanders, M. Tortola, J. W. F. Valle, JHEP 12 (2021) 191",
        "G. Magill, R. Plestid, M. Pospelov, Y.-D. Tsai, PRD 98 (2018) 115015",
    ),
    linear_pois=(
        LinearPOI("d_e_sq", "mu_B^2", "d_e", to_poi=_square, from_poi=_sqrt, fixed=("m4_mev",), scale=1e-18),
        LinearPOI("d_mu_sq", "mu_B^2", "d_mu", to_poi=_square, from_poi=_sqrt, fixed=("m4_mev",), scale=1e-18),
    ),
)
