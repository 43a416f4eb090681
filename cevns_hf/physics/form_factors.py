r"""Nuclear form factors as pure functions of the momentum transfer and the rms radius.

All functions take ``q`` in fm^-1 and a point-nucleon rms radius ``r_rms`` in fm, broadcast over numpy
arrays, and return F(q) with F(0) = 1.

References:
    * Helm: R. H. Helm, Phys. Rev. 104 (1956) 1466; parametrisation of J. D. Lewin & P. F. Smith,
      Astropart. Phys. 6 (1996) 87 (skin thickness s = 0.9 fm).
    * Klein-Nystrand: S. Klein & J. Nystrand, Phys. Rev. C 60 (1999) 014903 (a_k = 0.7 fm).
    * Symmetrized Fermi: J. Piekarewicz, A. R. Linero, P. Giuliani, E. Chicken, PRC 94 (2016) 034316
      (diffuseness a = 0.52 fm).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.constants import HBARC_MEV_FM

__all__ = [
    "FORM_FACTORS",
    "HELM_SKIN_FM",
    "KN_RANGE_FM",
    "SF_DIFFUSENESS_FM",
    "get_form_factor",
    "helm",
    "klein_nystrand",
    "momentum_transfer",
    "symmetrized_fermi",
]


def __dir__() -> list[str]:
    return __all__


ArrayLike = npt.ArrayLike

#: Helm surface thickness [fm]; Lewin & Smith (1996).
HELM_SKIN_FM = 0.9
#: Range of the Yukawa potential folded in the Klein-Nystrand form factor [fm]; Klein & Nystrand (1999).
KN_RANGE_FM = 0.7
#: Diffuseness of the symmetrized Fermi distribution [fm]; Piekarewicz et al. (2016).
SF_DIFFUSENESS_FM = 0.52


def momentum_transfer(t_recoil_mev: ArrayLike, mass_mev: float) -> FloatArray:
    """|q| [fm^-1] for a nuclear recoil of kinetic energy T: q = sqrt(2 M T + T^2) / (hbar c)."""
    t = np.asarray(t_recoil_mev, dtype=float)
    return np.sqrt(2.0 * mass_mev * t + t * t) / HBARC_MEV_FM


def _three_j1_over_x(x: FloatArray) -> FloatArray:
    """3 j_1(x) / x, with its Taylor series near x = 0 (1 - x^2/10 + x^4/280) to avoid cancellation."""
    small = np.abs(x) < 1e-3
    xs = np.where(small, 1.0, x)
    exact = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3
    series = 1.0 - x * x / 10.0 + x**4 / 280.0
    return np.where(small, series, exact)


def helm(q: ArrayLike, r_rms: float, *, skin: float = HELM_SKIN_FM) -> FloatArray:
    r"""Helm form factor.

    .. math:: F(q) = \frac{3 j_1(q R_0)}{q R_0} e^{-q^2 s^2 / 2},\quad R^2_{rms} = \tfrac{3}{5} R_0^2 + 3 s^2

    Args:
        q: momentum transfer [fm^-1].
        r_rms: rms radius of the nucleon distribution [fm]; must exceed sqrt(3) s.
        skin: surface thickness s [fm].
    """
    r0_sq = 5.0 / 3.0 * (r_rms**2 - 3.0 * skin**2)
    if r0_sq <= 0:
        msg = f"Helm form factor needs r_rms > sqrt(3) * s = {np.sqrt(3) * skin:.3f} fm, got {r_rms!r}"
        raise ConfigurationError(msg)
    qa = np.asarray(q, dtype=float)
    return _three_j1_over_x(qa * np.sqrt(r0_sq)) * np.exp(-0.5 * (qa * skin) ** 2)


def klein_nystrand(q: ArrayLike, r_rms: float, *, a_k: float = KN_RANGE_FM) -> FloatArray:
    r"""Klein-Nystrand form factor (hard sphere folded with a Yukawa potential).

    .. math:: F(q) = \frac{3 j_1(q R_A)}{q R_A} \frac{1}{1 + q^2 a_k^2},\quad
              R^2_{rms} = \tfrac{3}{5} R_A^2 + 6 a_k^2
    """
    ra_sq = 5.0 / 3.0 * (r_rms**2 - 6.0 * a_k**2)
    if ra_sq <= 0:
        msg = f"Klein-Nystrand form factor needs r_rms > sqrt(6) a_k = {np.sqrt(6) * a_k:.3f} fm, got {r_rms!r}"
        raise ConfigurationError(msg)
    qa = np.asarray(q, dtype=float)
    return _three_j1_over_x(qa * np.sqrt(ra_sq)) / (1.0 + (qa * a_k) ** 2)


def symmetrized_fermi(q: ArrayLike, r_rms: float, *, a: float = SF_DIFFUSENESS_FM) -> FloatArray:
    r"""Symmetrized Fermi form factor (analytic Fourier transform).

    .. math:: F(q) = \frac{3}{q c [(q c)^2 + (\pi q a)^2]}
        \frac{\pi q a}{\sinh \pi q a}\left[\frac{\pi q a}{\tanh \pi q a}\sin q c - q c \cos q c\right],
        \quad R^2_{rms} = \tfrac{3}{5} c^2 + \tfrac{7}{5}\pi^2 a^2
    """
    c_sq = 5.0 / 3.0 * (r_rms**2 - 7.0 / 5.0 * (np.pi * a) ** 2)
    if c_sq <= 0:
        msg = f"symmetrized Fermi form factor needs a larger radius than {r_rms!r} fm for a = {a} fm"
        raise ConfigurationError(msg)
    c = np.sqrt(c_sq)
    qa = np.asarray(q, dtype=float)
    small = qa < 1e-4
    qs = np.where(small, 1e-4, qa)
    x = np.pi * qs * a
    qc = qs * c
    value = 3.0 / (qc * (qc**2 + x**2)) * (x / np.sinh(x)) * (x / np.tanh(x) * np.sin(qc) - qc * np.cos(qc))
    return np.where(small, 1.0 - qa**2 * r_rms**2 / 6.0, value)


FormFactor = Callable[[FloatArray, float], FloatArray]

#: Registry of the available form factors by name.
FORM_FACTORS: dict[str, FormFactor] = {
    "helm": helm,
    "klein_nystrand": klein_nystrand,
    "symmetrized_fermi": symmetrized_fermi,
}


def get_form_factor(name: str) -> FormFactor:
    """Look up a form factor by name; valid names are the keys of :data:`FORM_FACTORS`."""
    try:
        return FORM_FACTORS[name]
    except KeyError:
        msg = f"unknown form factor {name!r}; valid choices: {sorted(FORM_FACTORS)}"
        raise ConfigurationError(msg) from None
