r"""pyhf's interpolation kernels as scalar coefficients, with analytic first and second derivatives.

* histosys, code4p (pyhf 0.7.6 ``interpolators/code4p.py``): the change of a sample is
  :math:`\Delta(\theta) = \theta S + c_2(\theta) A` with :math:`S = (\delta^+ + \delta^-)/2`,
  :math:`A = (\delta^+ - \delta^-)/16`, :math:`\delta^+ = N^{hi} - N^0`, :math:`\delta^- = N^0 - N^{lo}` and

  .. math::
      c_2(\theta) = \begin{cases} \theta^2 (3\theta^4 - 10\theta^2 + 15) & |\theta| \le 1 \\
                                  8\,|\theta| & |\theta| > 1 \end{cases}

  (linear extrapolation :math:`\theta\delta^\pm` outside, a 6th-order polynomial matching value, slope and
  curvature at :math:`|\theta| = 1` inside; Cranmer et al., CERN-OPEN-2012-016).
* normsys, code4 (pyhf ``interpolators/code4.py``): a factor :math:`f(\alpha)` on the sample,
  :math:`f = \kappa_{hi}^{\alpha}` for :math:`\alpha > 1`, :math:`\kappa_{lo}^{-\alpha}` for
  :math:`\alpha < -1`, and inside :math:`1 + \sum_{i=1}^{6} a_i \alpha^i`, whose coefficients make value,
  first and second derivative continuous at :math:`\alpha = \pm 1` (same reference). Implemented from the
  formulas, not from pyhf's code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray

__all__ = ["Code4", "code4_factor", "code4p_coefficients"]


def __dir__() -> list[str]:
    return __all__


def code4p_coefficients(theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Coefficient of A in pyhf's code4p delta, :math:`\Delta = \theta S + c_2(\theta) A`, and its derivatives.

    Args:
        theta: nuisance values (any shape).

    Returns:
        (c2, dc2/dtheta, d2c2/dtheta2), each of the shape of ``theta``.
    """
    t = np.asarray(theta, dtype=float)
    t2 = t * t
    inside = np.abs(t) <= 1.0
    sign = np.where(t > 0, 8.0, -8.0)
    c2 = np.where(inside, t2 * (t2 * (3.0 * t2 - 10.0) + 15.0), sign * t)
    d1 = np.where(inside, t * (t2 * (18.0 * t2 - 40.0) + 30.0), sign)
    d2 = np.where(inside, t2 * (90.0 * t2 - 120.0) + 30.0, 0.0)
    return c2, d1, d2


#: The 6x6 system fixing a_1..a_6 from (value, slope, curvature) at alpha = +1 and -1.
_CODE4_SYSTEM = np.array(
    [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        [-1.0, 1.0, -1.0, 1.0, -1.0, 1.0],
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        [1.0, -2.0, 3.0, -4.0, 5.0, -6.0],
        [0.0, 2.0, 6.0, 12.0, 20.0, 30.0],
        [0.0, 2.0, -6.0, 12.0, -20.0, 30.0],
    ]
)


@dataclass(frozen=True, eq=False)
class Code4:
    r"""pyhf's code4 normsys interpolation of fixed factors :math:`\kappa_{hi}, \kappa_{lo}` (any shape S).

    Build it once with :meth:`of` (it solves for the polynomial coefficients), evaluate it many times with
    :meth:`factor`. :math:`\kappa_{hi} = \kappa_{lo} = 1` gives :math:`f \equiv 1` (no normsys).

    Attributes:
        log_hi: :math:`\ln\kappa_{hi}`, shape S.
        log_lo: :math:`\ln\kappa_{lo}`, shape S.
        coef: the coefficients :math:`a_1 \dots a_6` of the polynomial inside :math:`|\alpha| \le 1`, shape (*S, 6).
    """

    log_hi: FloatArray
    log_lo: FloatArray
    coef: FloatArray

    @classmethod
    def of(cls, hi: FloatArray, lo: FloatArray) -> Code4:
        """The interpolation of the factors ``hi`` (at alpha = +1) and ``lo`` (at alpha = -1), both > 0."""
        kh, kl = np.broadcast_arrays(np.asarray(hi, dtype=float), np.asarray(lo, dtype=float))
        if np.any(kh <= 0) or np.any(kl <= 0):
            msg = "code4 needs positive normsys factors"
            raise ValueError(msg)
        lh, ll = np.log(kh), np.log(kl)
        # f, f', f'' at +1 (kh^a) and -1 (kl^-a) minus the constant term 1, solved for a_1..a_6
        rhs = np.stack([kh - 1.0, kl - 1.0, kh * lh, -kl * ll, kh * lh * lh, kl * ll * ll], axis=-1)
        coef = np.linalg.solve(_CODE4_SYSTEM, rhs.reshape(-1, 6).T).T.reshape(rhs.shape)
        return cls(lh, ll, coef)

    @functools.cached_property
    def pairs(self) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], Code4]:
        """For factors of shape (G, K): the (g, k) entries that are not identically 1, and their :class:`Code4`."""
        g, k = np.nonzero((self.log_hi != 0) | (self.log_lo != 0))
        return g, k, Code4(self.log_hi[g, k], self.log_lo[g, k], self.coef[g, k])

    def factor(self, alpha: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        r"""(f, df/dalpha, d2f/dalpha2) at ``alpha`` (broadcast against the factors' shape S)."""
        a = np.asarray(alpha, dtype=float)
        c = self.coef
        # Horner: 1 + a (c1 + a (c2 + ... a c6))
        poly = c[..., 5]
        d1 = 6.0 * c[..., 5]
        d2 = 30.0 * c[..., 5]
        for i in (4, 3, 2, 1, 0):
            poly = c[..., i] + a * poly
        for i in (4, 3, 2, 1, 0):
            d1 = (i + 1) * c[..., i] + a * d1
        for i in (4, 3, 2, 1):
            d2 = (i + 1) * i * c[..., i] + a * d2
        inside_f = 1.0 + a * poly
        up, down = a > 1.0, a < -1.0
        e_up = np.exp(np.where(up, a, 1.0) * self.log_hi)
        e_down = np.exp(-np.where(down, a, -1.0) * self.log_lo)
        f = np.where(up, e_up, np.where(down, e_down, inside_f))
        f1 = np.where(up, e_up * self.log_hi, np.where(down, -e_down * self.log_lo, d1))
        f2 = np.where(up, e_up * self.log_hi**2, np.where(down, e_down * self.log_lo**2, d2))
        return f, f1, f2


def code4_factor(alpha: FloatArray, hi: FloatArray, lo: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""pyhf's code4 normsys factor :math:`f(\alpha)` and its first and second derivatives.

    Args:
        alpha: nuisance values (broadcast against ``hi`` and ``lo``).
        hi: :math:`\kappa_{hi}` (> 0), the factor at :math:`\alpha = +1`.
        lo: :math:`\kappa_{lo}` (> 0), the factor at :math:`\alpha = -1`.

    Returns:
        (f, df/dalpha, d2f/dalpha2), broadcast shape.

    Example:
        >>> f, _, _ = code4_factor(np.array([-2.0, 0.0, 1.0, 2.0]), 1.25, 0.75)
        >>> [round(float(x), 6) for x in f]
        [0.5625, 1.0, 1.25, 1.5625]
    """
    return Code4.of(hi, lo).factor(alpha)
