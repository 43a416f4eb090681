r"""The expected counts of the likelihood engine and their derivatives: samples summed in normsys groups.

pyhf 0.7.6 computes a sample's expected counts as :math:`\nu_s = \mu^{p_s} F_s(\theta) L_s(\theta)`: the
histosys deltas are added to the nominal (code4p),
:math:`L_s = N^0_s + \sum_k [\theta_k S_{sk} + c_2(\theta_k) A_{sk}]`
(:mod:`cevns_hf.inference.interpolation`), and the sum is multiplied by the product of the sample's normsys
factors :math:`F_s = \prod_k f(\theta_k; \kappa^{hi}_{sk}, \kappa^{lo}_{sk})` (code4) and by the POI normfactor
(:math:`p_s = 1` for the samples carrying it). :math:`L_s` is linear in the histograms, so samples with the same
normsys factors and the same POI flag add up: a *group* :math:`g` holds their summed :math:`N^0_g, S_g, A_g` and
the factors :math:`\kappa_g` (1 for a nuisance without normsys on the group, so that :math:`f \equiv 1`), and

.. math::
    \lambda_b = \sum_g w_g F_g(\theta) L_{gb}(\theta), \qquad w_g = \mu \text{ (POI groups) or } 1 .

With :math:`u_{gk} = \partial_k \ln f_{gk}`, :math:`v_{gk} = \partial_k^2 f_{gk} / f_{gk}` the derivatives are
analytic:

.. math::
    \partial_k\lambda_b &= \sum_g w_g F_g \big[u_{gk} L_{gb} + S_{gkb} + c_2'(\theta_k) A_{gkb}\big], \\
    \sum_b r_b\,\partial_k\partial_l\lambda_b &= \sum_g w_g F_g \big[R_g (u_{gk}u_{gl} + \delta_{kl}(v_{gk} -
        u_{gk}^2)) + u_{gk} Q_{gl} + u_{gl} Q_{gk} + \delta_{kl} c_2''(\theta_k) P_{gk}\big]

with :math:`R_g = \sum_b r_b L_{gb}`, :math:`Q_{gk} = \sum_b r_b (S_{gkb} + c_2'(\theta_k) A_{gkb})`,
:math:`P_{gk} = \sum_b r_b A_{gkb}` for any bin weights :math:`r` (the Poisson residuals). Without normsys (the
linear mirror) there is one group and this is the additive model of code4p alone.

A batch of rows holds one or more :class:`Groups` (*parts*): e.g. the fixed backgrounds (one row, broadcast) and
the hypothesis-dependent samples (H rows), so that the fixed part is never copied per row.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.inference.interpolation import Code4

__all__ = ["GroupKey", "Groups", "Jacobians", "State", "as_poi_values", "expected_counts", "jacobians", "rates"]


def __dir__() -> list[str]:
    return __all__


#: The normsys factors shared by a group's samples: sorted (name, kappa_hi, kappa_lo).
GroupKey = tuple[tuple[str, float, float], ...]


def _monomials(powers: npt.NDArray[np.int64], mu: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    r"""Values (H, G), gradients (H, G, J) and Hessians (H, G, J, J) of :math:`m_g(\mu) = \prod_j \mu_j^{p_{gj}}`."""
    p = powers[None, :, :].astype(float)  # (1, G, J)
    x = mu[:, None, :]  # (H, 1, J)
    pw = x**p
    pw1 = np.where(p >= 1, p * x ** np.maximum(p - 1, 0), 0.0)
    pw2 = np.where(p >= 2, p * (p - 1) * x ** np.maximum(p - 2, 0), 0.0)
    h, g, j = pw.shape[0], powers.shape[0], powers.shape[1]
    value = np.prod(pw, axis=2)
    grad = np.empty((h, g, j))
    hess = np.empty((h, g, j, j))
    for a in range(j):
        rest = np.prod(np.delete(pw, a, axis=2), axis=2)
        grad[:, :, a] = pw1[:, :, a] * rest
        hess[:, :, a, a] = pw2[:, :, a] * rest
        for b in range(a + 1, j):
            others = np.prod(np.delete(pw, [a, b], axis=2), axis=2)
            hess[:, :, a, b] = hess[:, :, b, a] = pw1[:, :, a] * pw1[:, :, b] * others
    return value, grad, hess


def as_poi_values(mu: float | FloatArray, n_pois: int) -> FloatArray:
    """POI values as an (H, J) array: a scalar or (H,) for one POI, (J,) or (H, J) for J."""
    m = np.asarray(mu, dtype=float)
    if n_pois == 1:
        return m.reshape(-1, 1)
    return np.atleast_2d(m).reshape(-1, n_pois)


@dataclass(frozen=True, eq=False)
class Groups:
    r"""Samples summed per normsys group, flattened over channels and bins (leading row axis 1: broadcast).

    Attributes:
        nominal: (R, G, B) summed nominal counts :math:`N^0_g`.
        s: (R, G, K, B) summed symmetric parts :math:`S_g` of the code4p deltas.
        a: (R, G, K, B) summed antisymmetric parts :math:`A_g`.
        code4: the normsys factors of the groups, arrays of shape (G, K).
        powers: (G, J) exponents of the J POIs in each group's weight :math:`\prod_j \mu_j^{p_{gj}}` (a
            normfactor POI: 0 or 1; the monomials of a polynomial basis, :mod:`cevns_hf.templates.basis`).
        coef: (R, G) per-row weights of the groups (None: 1), e.g. monomial values of a folded basis.
        active: the nuisances the histosys arrays ``s`` and ``a`` hold, (K_a,) indices into the K nuisances
            (None: all K); the others have no histosys on these groups.
    """

    nominal: FloatArray
    s: FloatArray
    a: FloatArray
    code4: Code4
    powers: npt.NDArray[np.int64]
    coef: FloatArray | None = None
    active: npt.NDArray[np.intp] | None = None

    def nuisance_index(self) -> npt.NDArray[np.intp] | slice:
        """Index of the nuisances of ``s`` and ``a`` among the K (a slice for all)."""
        return slice(None) if self.active is None else self.active

    @property
    def poi(self) -> npt.NDArray[np.bool_]:
        """(G,) which groups depend on a POI."""
        return np.asarray(np.sum(self.powers, axis=1) > 0)

    @property
    def n_pois(self) -> int:
        """J, the number of POIs the groups depend on (0 when none does)."""
        return int(self.powers.shape[1]) if np.any(self.powers) else 0

    @property
    def rows(self) -> int:
        """Rows H of the arrays (1: broadcast)."""
        return max(int(self.nominal.shape[0]), 1 if self.coef is None else int(self.coef.shape[0]))

    @functools.cached_property
    def matrices(self) -> tuple[FloatArray, FloatArray]:
        """S and A of a one-row part as (K_a, G * B) matrices, for one matrix product over all rows."""
        _, g, k, b = self.s.shape
        return (
            np.ascontiguousarray(self.s[0].transpose(1, 0, 2).reshape(k, g * b)),
            np.ascontiguousarray(self.a[0].transpose(1, 0, 2).reshape(k, g * b)),
        )

    def take(self, index: npt.NDArray[np.integer[Any]] | slice) -> Groups:
        """The rows ``index`` (arrays with one row are kept: they are broadcast)."""
        if self.rows == 1:
            return self
        if self.nominal.shape[0] == 1:
            assert self.coef is not None
            return replace(self, coef=self.coef[index])
        coef = None if self.coef is None or self.coef.shape[0] == 1 else self.coef[index]
        return replace(self, nominal=self.nominal[index], s=self.s[index], a=self.a[index], coef=coef)

    def weights(self, mu: FloatArray | None) -> FloatArray:
        """(R or H, G) row weights times the POI monomials at ``mu`` (H, J) (None: the groups have no POI)."""
        base = np.ones((1, self.powers.shape[0])) if self.coef is None else self.coef
        if self.n_pois == 0:
            return base
        if mu is None:
            msg = "these groups depend on a POI: give its value"
            raise ValueError(msg)
        return base * np.prod(mu[:, None, :] ** self.powers[None, :, :].astype(float), axis=2)

    def fold(self, mu: FloatArray) -> Groups:
        """The groups with the POIs fixed at ``mu`` ((H, J) or (1, J)): the monomials move into :attr:`coef`."""
        if self.n_pois == 0:
            return self
        return replace(self, coef=self.weights(mu), powers=np.zeros((self.powers.shape[0], 0), dtype=np.int64))


@dataclass(frozen=True, eq=False)
class State:
    """One part's groups at nuisances theta (H rows): factors, log-derivatives and histosys sums."""

    groups: Groups
    factor: FloatArray  # (H, G): F_g times the row weights (without the POI monomials)
    weight: FloatArray  # (H, G): factor times the POI monomials
    u: FloatArray  # (H, G, K)
    v: FloatArray  # (H, G, K)
    body: FloatArray  # (H, G, B): L_g
    mu: FloatArray | None = None  # (H, J): the POI values


@dataclass(frozen=True, eq=False)
class Jacobians:
    """Derivatives of lambda at H rows (see the module docstring).

    Attributes:
        jac: (H, K, B) d(lambda)/d(theta).
        curvature: (H, K, K) sum_b r_b d2(lambda_b)/d(theta)^2.
        signal: (H, J, B) d(lambda)/d(mu_j) (None without POIs).
        cross: (H, J, K, B) d2(lambda)/d(mu_j)d(theta) (None without POIs).
        second: (H, J, J) sum_b r_b d2(lambda_b)/d(mu_j)d(mu_l) (None without POIs).
    """

    jac: FloatArray
    curvature: FloatArray
    signal: FloatArray | None = None
    cross: FloatArray | None = None
    second: FloatArray | None = None


def _body(part: Groups, theta: FloatArray, c2: FloatArray) -> FloatArray:
    """L_g = N0_g + theta . S_g + c2(theta) . A_g: (H, G, B)."""
    h = theta.shape[0]
    idx = part.nuisance_index()
    t, c = theta[:, idx], c2[:, idx]
    if part.nominal.shape[0] == 1 and h > 1:
        _, g, _, b = part.s.shape
        sm, am = part.matrices
        return part.nominal + (t @ sm + c @ am).reshape(h, g, b)
    body = part.nominal + np.matmul(t[:, None, None, :], part.s)[:, :, 0, :]
    return body + np.matmul(c[:, None, None, :], part.a)[:, :, 0, :]


def _factors(part: Groups, theta: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Product of the normsys factors (H, G), u = d ln f (H, G, K) and v = f''/f (H, G, K).

    Only the (group, nuisance) entries with a normsys are evaluated (:attr:`Code4.pairs`); the others are 1.
    """
    h = theta.shape[0]
    g_n, k_n = part.code4.log_hi.shape
    gi, ki, sub = part.code4.pairs
    f, f1, f2 = sub.factor(theta[:, ki])  # (H, P)
    factor = np.ones((h, g_n))
    for p in range(gi.size):
        factor[:, gi[p]] *= f[:, p]
    u = np.zeros((h, g_n, k_n))
    v = np.zeros((h, g_n, k_n))
    u[:, gi, ki] = f1 / f
    v[:, gi, ki] = f2 / f
    return factor, u, v


def rates(
    parts: Sequence[Groups], theta: FloatArray, c2: FloatArray, mu: FloatArray | None = None
) -> tuple[FloatArray, list[State]]:
    """lambda (H, B) at nuisances ``theta`` (H, K) (``c2``: its code4p coefficients) and POIs ``mu`` (H, J),
    and the parts' states for :func:`jacobians`.

    ``mu`` is needed where a part depends on POIs (None: no part may).
    """
    h = theta.shape[0]
    lam: FloatArray | None = None
    states = []
    for part in parts:
        normsys, u, v = _factors(part, theta)
        factor = normsys if part.coef is None else normsys * part.coef
        weight = factor if part.n_pois == 0 else part.weights(mu) * normsys
        body = _body(part, theta, c2)
        states.append(State(part, factor, weight, u, v, body, mu))
        term = np.einsum("hg,hgb->hb", weight, body)
        lam = term if lam is None else lam + term
    if lam is None:
        msg = "the batch has no samples"
        raise ValueError(msg)
    return np.broadcast_to(lam, (h, lam.shape[-1])), states


def expected_counts(
    parts: Sequence[Groups], theta: FloatArray, c2: FloatArray, mu: FloatArray | None = None
) -> FloatArray:
    """lambda (H, B) alone, as :func:`rates` (for line searches: no derivatives, no per-group bodies).

    A one-row part contracts the weights with its arrays directly,
    :math:`\\lambda = w N^0 + (w \\otimes \\theta) S + (w \\otimes c_2) A`, in three matrix products.
    """
    h = theta.shape[0]
    lam = np.zeros((h, parts[0].nominal.shape[-1])) if parts else None
    if lam is None:
        msg = "the batch has no samples"
        raise ValueError(msg)
    for part in parts:
        gi, ki, sub = part.code4.pairs
        f = sub.factor(theta[:, ki])[0]
        weight = np.ones((h, part.code4.log_hi.shape[0]))
        for p in range(gi.size):
            weight[:, gi[p]] *= f[:, p]
        weight = weight * part.weights(mu) if part.n_pois or part.coef is not None else weight
        if part.nominal.shape[0] == 1 and h > 1:
            _, g, k_a, b = part.s.shape
            idx = part.nuisance_index()
            lam += weight @ part.nominal[0]
            lam += (weight[:, :, None] * theta[:, None, idx]).reshape(h, g * k_a) @ part.s[0].reshape(g * k_a, b)
            lam += (weight[:, :, None] * c2[:, None, idx]).reshape(h, g * k_a) @ part.a[0].reshape(g * k_a, b)
        else:
            lam += np.einsum("hg,hgb->hb", weight, _body(part, theta, c2))
    return lam


def _flat_sum(weight: FloatArray, arr: FloatArray) -> FloatArray:
    """sum_g weight_g arr_g: (H, G) x (H|1, G, K, B) -> (H, K, B)."""
    rows, g, k, b = arr.shape
    if rows == 1:
        return (weight @ arr[0].reshape(g, k * b)).reshape(weight.shape[0], k, b)
    return np.matmul(weight[:, None, :], arr.reshape(rows, g, k * b)).reshape(weight.shape[0], k, b)


def _jac(state: State, weight: FloatArray, d1: FloatArray) -> FloatArray:
    """sum_g weight_g [u_gk L_gb + S_gkb + c2'(theta_k) A_gkb]: (H, K, B)."""
    grp = state.groups
    h, k = d1.shape
    out = np.zeros((h, k, state.body.shape[2]))
    _, ki, _ = grp.code4.pairs
    for kk in np.unique(ki):  # the nuisances with a normsys on some group: u_gk != 0
        out[:, kk] = np.matmul((weight * state.u[:, :, kk])[:, None, :], state.body)[:, 0, :]
    idx = grp.nuisance_index()
    out[:, idx] += _flat_sum(weight, grp.s) + d1[:, idx, None] * _flat_sum(weight, grp.a)
    return out


def _contract(arr: FloatArray, r: FloatArray) -> FloatArray:
    """sum_b arr_gkb r_b: (R, G, K, B) x (H, B) -> (H, G, K)."""
    rows, g, k, b = arr.shape
    if rows == 1:
        return (r @ arr[0].reshape(g * k, b).T).reshape(r.shape[0], g, k)
    return np.matmul(arr.reshape(rows, g * k, b), r[:, :, None]).reshape(r.shape[0], g, k)


def jacobians(
    states: Sequence[State], d1: FloatArray, d2: FloatArray, resid: FloatArray, *, with_poi: bool = False
) -> Jacobians:
    """The Jacobian of lambda and its curvature contracted with ``resid`` (H, B) (module docstring).

    Args:
        states: the parts at theta (from :func:`rates`).
        d1: (H, K) c2'(theta).
        d2: (H, K) c2''(theta).
        resid: (H, B) bin weights r_b of the curvature.
        with_poi: also the derivatives in the POIs (:func:`rates` called with ``mu``).
    """
    h, k = d1.shape
    jac = np.zeros((h, k, resid.shape[1]))
    curv = np.zeros((h, k, k))
    diag = np.zeros((h, k))
    n_j = max((st.groups.n_pois for st in states), default=0) if with_poi else 0
    signal = np.zeros((h, n_j, resid.shape[1])) if with_poi else None
    cross = np.zeros((h, n_j, k, resid.shape[1])) if with_poi else None
    second = np.zeros((h, n_j, n_j)) if with_poi else None
    for st in states:
        grp, w = st.groups, st.weight
        act = grp.nuisance_index()
        jac += _jac(st, w, d1)
        sr = _contract(grp.s, resid)  # (H, G, K_a)
        ar = _contract(grp.a, resid)
        big_r = np.einsum("hgb,hb->hg", st.body, resid)  # (H, G)
        q = sr + d1[:, None, act] * ar
        wu = w[:, :, None] * st.u
        curv += np.matmul(np.swapaxes(wu * big_r[:, :, None], 1, 2), st.u)
        mixed = np.matmul(np.swapaxes(wu, 1, 2), q)  # (H, K, K_a)
        curv[:, :, act] += mixed
        curv[:, act, :] += np.swapaxes(mixed, 1, 2)
        diag += np.sum((w * big_r)[:, :, None] * (st.v - st.u * st.u), axis=1)
        diag[:, act] += d2[:, act] * np.einsum("hg,hgk->hk", w, ar)
        if signal is not None and cross is not None and second is not None and grp.n_pois:
            assert st.mu is not None
            _, dm, d2m = _monomials(grp.powers, st.mu)
            for j in range(grp.n_pois):
                base = st.factor * dm[:, :, j]
                signal[:, j] += np.einsum("hg,hgb->hb", base, st.body)
                cross[:, j] += _jac(st, base, d1)
            second += np.einsum("hg,hgjl,hg->hjl", st.factor, d2m, big_r)
    idx = np.arange(k)
    curv[:, idx, idx] += diag
    return Jacobians(jac, curv, signal, cross, second)
