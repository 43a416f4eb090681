r"""-2 ln L of one row, its gradient and Hessian, compiled (:mod:`cevns_hf.inference.kernel`).

The expected counts are :math:`\lambda_b = \sum_g m_g(\mu) F_g(\theta) L_{gb}(\theta)` over the merged groups
(:mod:`cevns_hf.inference.kernel.layout`), with the code4 factors :math:`F_g` and code4p bodies :math:`L_g` of
:mod:`cevns_hf.inference.interpolation`; the derivatives are those of the module docstring of
:mod:`cevns_hf.inference.groups`, term by term.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cevns_hf.inference.kernel._jit import jit

__all__ = ["evaluate", "merge", "rates", "twice_nll"]


def __dir__() -> list[str]:
    return __all__


@jit
def _code4p(t: float) -> tuple[float, float, float]:  # pragma: no cover - compiled
    """pyhf's code4p coefficient c2(theta) and its two derivatives
    (:func:`~cevns_hf.inference.interpolation.code4p_coefficients`)."""
    if abs(t) <= 1.0:
        t2 = t * t
        return (
            t2 * (t2 * (3.0 * t2 - 10.0) + 15.0),
            t * (t2 * (18.0 * t2 - 40.0) + 30.0),
            t2 * (90.0 * t2 - 120.0) + 30.0,
        )
    s = 8.0 if t > 0 else -8.0
    return s * t, s, 0.0


@jit
def _code4(a: float, c: Any, lh: float, ll: float) -> tuple[float, float, float]:  # pragma: no cover
    """pyhf's code4 factor f(alpha) and its two derivatives (:meth:`~cevns_hf.inference.interpolation.Code4.factor`):
    exponential outside [-1, 1], the polynomial of coefficients ``c`` inside."""
    if a > 1.0:
        e = np.exp(a * lh)
        return e, e * lh, e * lh * lh
    if a < -1.0:
        e = np.exp(-a * ll)
        return e, -e * ll, e * ll * ll
    poly = c[5]
    d1 = 6.0 * c[5]
    d2 = 30.0 * c[5]
    for i in range(4, -1, -1):
        poly = c[i] + a * poly
    for i in range(4, -1, -1):
        d1 = (i + 1) * c[i] + a * d1
    for i in range(4, 0, -1):
        d2 = (i + 1) * i * c[i] + a * d2
    return 1.0 + a * poly, d1, d2


@jit
def _monomial(pw: Any, mu: Any, dm: Any, d2m: Any) -> float:  # pragma: no cover
    """m = prod_j mu_j^p_j; its gradient into dm (J,) and Hessian into d2m (J, J)."""
    n_j = mu.size
    val = 1.0
    for j in range(n_j):
        val *= mu[j] ** pw[j]
    for j in range(n_j):
        p = pw[j]
        d = p * mu[j] ** (p - 1.0) if p >= 1.0 else 0.0
        rest = 1.0
        for i in range(n_j):
            if i != j:
                rest *= mu[i] ** pw[i]
        dm[j] = d * rest
        d2m[j, j] = (p * (p - 1.0) * mu[j] ** (p - 2.0) if p >= 2.0 else 0.0) * rest
        for l in range(j + 1, n_j):  # noqa: E741
            q = pw[l]
            dl = q * mu[l] ** (q - 1.0) if q >= 1.0 else 0.0
            others = 1.0
            for i in range(n_j):
                if i not in (j, l):
                    others *= mu[i] ** pw[i]
            d2m[j, l] = d2m[l, j] = d * dl * others
    return val


@jit
def merge(h: int, src: Any, nom: Any, sm: Any, am: Any) -> None:  # pragma: no cover
    """Add a source part's row h, weighted by its row weights, to the merged histograms."""
    nominal, s, a, hstart, coef, gmap, qmap = src
    r = h if nominal.shape[0] > 1 else 0
    rc = h if coef.shape[0] > 1 else 0
    n_b = nominal.shape[2]
    for g in range(nominal.shape[1]):
        c = coef[rc, g]
        t = gmap[g]
        for b in range(n_b):
            nom[t, b] += c * nominal[r, g, b]
        for q in range(hstart[g], hstart[g + 1]):
            e = qmap[q]
            for b in range(n_b):
                sm[e, b] += c * s[r, q, b]
                am[e, b] += c * a[r, q, b]


@jit
def rates(x: Any, n_k: int, merged: Any, row: Any, sc: Any, derivs: bool) -> None:  # pragma: no cover
    """lambda (sc[1]) at x = (theta, mu); bodies L_g, factors F_g, weights F_g m_g and, with ``derivs``,
    u = f'/f, v = f''/f per normsys pair and c2', c2''."""
    hk, hstart, powers, pk, pc, plh, pll, pstart = merged
    nom, sm, am = row
    c2, lam, body, factor, weight, u, v, d1, d2 = sc[0], sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8]
    theta = x[:n_k]
    mu = x[n_k:]
    n_j = mu.size
    for k in range(n_k):
        c2[k], d1[k], d2[k] = _code4p(theta[k])
    n_b = lam.size
    lam[:] = 0.0
    dm = sc[9]
    d2m = sc[10]
    for g in range(nom.shape[0]):
        f = 1.0
        for p in range(pstart[g], pstart[g + 1]):
            fv, f1, f2 = _code4(theta[pk[p]], pc[p], plh[p], pll[p])
            f *= fv
            if derivs:
                u[p] = f1 / fv
                v[p] = f2 / fv
        factor[g] = f
        weight[g] = f * _monomial(powers[g], mu, dm, d2m) if n_j else f
        for b in range(n_b):
            body[g, b] = nom[g, b]
        for q in range(hstart[g], hstart[g + 1]):
            t = theta[hk[q]]
            cc = c2[hk[q]]
            for b in range(n_b):
                body[g, b] += t * sm[q, b] + cc * am[q, b]
        w = weight[g]
        for b in range(n_b):
            lam[b] += w * body[g, b]


@jit
def twice_nll(lam: Any, n: Any, theta: Any, aux: Any, const: float) -> float:  # pragma: no cover
    total = 0.0
    for b in range(lam.size):
        x = lam[b]
        if not np.isfinite(x):
            return np.inf
        if n[b] > 0:
            if x <= 0.0:
                return np.inf
            total += x - n[b] * np.log(x)
        else:
            total += x
    value = 2.0 * total
    for k in range(theta.size):
        d = theta[k] - aux[k]
        value += d * d
    return value + const


@jit
def evaluate(
    x: Any, n_k: int, merged: Any, row: Any, n: Any, aux: Any, const: float, sc: Any, grad: Any, hess: Any
) -> float:  # pragma: no cover
    """-2 ln L at x = (theta, mu); its gradient and Hessian into ``grad`` and ``hess`` (module docstring of
    :mod:`cevns_hf.inference.groups` for the derivatives of lambda)."""
    hk, hstart, powers, pk, pstart = merged[0], merged[1], merged[2], merged[3], merged[7]
    nom, sm, am = row
    rates(x, n_k, merged, row, sc, True)
    lam, body, factor, weight, u, v, d1, d2 = sc[1], sc[2], sc[3], sc[4], sc[5], sc[6], sc[7], sc[8]
    dm, d2m, resid, wgt, jac = sc[9], sc[10], sc[11], sc[12], sc[13]
    theta = x[:n_k]
    mu = x[n_k:]
    n_j = mu.size
    value = twice_nll(lam, n, theta, aux, const)
    n_b = lam.size
    for b in range(n_b):
        safe = lam[b] if lam[b] > 0 else 1.0
        ratio = n[b] / safe
        resid[b] = 2.0 * (1.0 - ratio)
        wgt[b] = 2.0 * ratio / safe
    n_p = x.size
    jac[:, :] = 0.0
    hess[:, :] = 0.0
    for g in range(nom.shape[0]):
        w = weight[g]
        if n_j:
            _monomial(powers[g], mu, dm, d2m)
        big_r = 0.0
        for b in range(n_b):
            big_r += resid[b] * body[g, b]
        for p in range(pstart[g], pstart[g + 1]):  # normsys factors
            k = pk[p]
            wu = w * u[p]
            for b in range(n_b):
                jac[k, b] += wu * body[g, b]
            hess[k, k] += w * big_r * v[p]
            for p2 in range(p + 1, pstart[g + 1]):
                c = w * big_r * u[p] * u[p2]
                hess[k, pk[p2]] += c
                hess[pk[p2], k] += c
        for q in range(hstart[g], hstart[g + 1]):  # histosys, and their mixed terms with the factors
            l = hk[q]  # noqa: E741
            dl = d1[l]
            qq = 0.0
            pp = 0.0
            for b in range(n_b):
                dv = sm[q, b] + dl * am[q, b]
                jac[l, b] += w * dv
                qq += resid[b] * dv
                pp += resid[b] * am[q, b]
            hess[l, l] += w * d2[l] * pp
            for p in range(pstart[g], pstart[g + 1]):
                c = w * u[p] * qq
                hess[pk[p], l] += c
                hess[l, pk[p]] += c
            for j in range(n_j):
                c = factor[g] * dm[j] * qq
                hess[n_k + j, l] += c
                hess[l, n_k + j] += c
        for j in range(n_j):  # the POIs
            base = factor[g] * dm[j]
            for i in range(n_j):
                hess[n_k + j, n_k + i] += factor[g] * d2m[j, i] * big_r
            if base == 0.0:
                continue
            for b in range(n_b):
                jac[n_k + j, b] += base * body[g, b]
            for p in range(pstart[g], pstart[g + 1]):
                c = base * u[p] * big_r
                hess[n_k + j, pk[p]] += c
                hess[pk[p], n_k + j] += c
    for i in range(n_p):
        gi = 0.0
        for b in range(n_b):
            gi += jac[i, b] * resid[b]
        grad[i] = gi
        for j in range(i + 1):
            c = 0.0
            for b in range(n_b):
                c += jac[i, b] * wgt[b] * jac[j, b]
            hess[i, j] += c
            if j != i:
                hess[j, i] += c
    for k in range(n_k):
        grad[k] += 2.0 * (theta[k] - aux[k])
        hess[k, k] += 2.0
    return value
