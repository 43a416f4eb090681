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

import numpy as np

from cevns_hf._typing import FloatArray

__all__ = ["code4_factor", "code4p_coefficients"]


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


#: Inverse of the 6x6 system fixing a_1..a_6 from (value, slope, curvature) at alpha = +1 and -1.
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


def code4_factor(alpha: FloatArray, hi: FloatArray, lo: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""pyhf's code4 normsys factor :math:`f(\alpha)` and its first and second derivatives.

    Args:
        alpha: nuisance values, shape (..., K) (broadcast against ``hi`` and ``lo``).
        hi: :math:`\kappa_{hi}` (> 0), the factor at :math:`\alpha = +1`, shape (K,) or broadcastable.
        lo: :math:`\kappa_{lo}` (> 0), the factor at :math:`\alpha = -1`.

    Returns:
        (f, df/dalpha, d2f/dalpha2), broadcast shape.
    """
    a = np.asarray(alpha, dtype=float)
    kh, kl = np.asarray(hi, dtype=float), np.asarray(lo, dtype=float)
    lh, ll = np.log(kh), np.log(kl)
    # f, f', f'' at +1 (kh^a) and -1 (kl^-a) minus the constant term 1, solved for a_1..a_6
    rhs = np.stack([kh - 1.0, kl - 1.0, kh * lh, -kl * ll, kh * lh * lh, kl * ll * ll], axis=-1)
    coef = np.linalg.solve(_CODE4_SYSTEM, rhs[..., None])[..., 0]  # (..., 6)
    powers = np.arange(1, 7)
    inside_f = 1.0 + np.sum(coef * a[..., None] ** powers, axis=-1)
    inside_d1 = np.sum(coef * powers * a[..., None] ** (powers - 1), axis=-1)
    inside_d2 = np.sum(coef[..., 1:] * (powers[1:] * (powers[1:] - 1)) * a[..., None] ** (powers[1:] - 2), axis=-1)
    up, down = a > 1.0, a < -1.0
    f = np.where(up, kh**a, np.where(down, kl ** (-a), inside_f))
    d1 = np.where(up, kh**a * lh, np.where(down, -(kl ** (-a)) * ll, inside_d1))
    d2 = np.where(up, kh**a * lh * lh, np.where(down, kl ** (-a) * ll * ll, inside_d2))
    return f, d1, d2
