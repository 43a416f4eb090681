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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray
from cevns_hf.inference.interpolation import Code4

__all__ = ["GroupKey", "Groups", "Jacobians", "State", "jacobians", "rates"]


def __dir__() -> list[str]:
    return __all__


#: The normsys factors shared by a group's samples: sorted (name, kappa_hi, kappa_lo).
GroupKey = tuple[tuple[str, float, float], ...]


@dataclass(frozen=True, eq=False)
class Groups:
    """Samples summed per normsys group, flattened over channels and bins (leading row axis 1: broadcast).

    Attributes:
        nominal: (H, G, B) summed nominal counts :math:`N^0_g`.
        s: (H, G, K, B) summed symmetric parts :math:`S_g` of the code4p deltas.
        a: (H, G, K, B) summed antisymmetric parts :math:`A_g`.
        code4: the normsys factors of the groups, arrays of shape (G, K).
        poi: (G,) which groups carry the POI normfactor.
    """

    nominal: FloatArray
    s: FloatArray
    a: FloatArray
    code4: Code4
    poi: npt.NDArray[np.bool_]

    @property
    def rows(self) -> int:
        """Rows H of the arrays (1: broadcast)."""
        return int(self.nominal.shape[0])

    def take(self, index: npt.NDArray[np.integer[Any]] | slice) -> Groups:
        """The rows ``index`` (a part with one row is kept: it is broadcast)."""
        if self.rows == 1:
            return self
        return replace(self, nominal=self.nominal[index], s=self.s[index], a=self.a[index])

    def fold(self, mu: FloatArray) -> Groups:
        """The groups with the POI fixed at ``mu`` (H,) or (1,): its groups scaled, no POI left."""
        if not np.any(self.poi):
            return self
        w = np.where(self.poi[None, :], np.asarray(mu, dtype=float).reshape(-1)[:, None], 1.0)  # (H, G)
        return replace(
            self,
            nominal=self.nominal * w[:, :, None],
            s=self.s * w[:, :, None, None],
            a=self.a * w[:, :, None, None],
            poi=np.zeros_like(self.poi),
        )


@dataclass(frozen=True, eq=False)
class State:
    """One part's groups at nuisances theta (H rows): factors, log-derivatives and histosys sums."""

    groups: Groups
    factor: FloatArray  # (H, G): F_g
    weight: FloatArray  # (H, G): w_g F_g
    u: FloatArray  # (H, G, K)
    v: FloatArray  # (H, G, K)
    body: FloatArray  # (H, G, B): L_g


@dataclass(frozen=True, eq=False)
class Jacobians:
    """Derivatives of lambda at H rows (see the module docstring).

    Attributes:
        jac: (H, K, B) d(lambda)/d(theta).
        curvature: (H, K, K) sum_b r_b d2(lambda_b)/d(theta)^2.
        signal: (H, B) d(lambda)/d(mu) (None without the POI).
        cross: (H, K, B) d2(lambda)/d(theta)d(mu) (None without the POI).
    """

    jac: FloatArray
    curvature: FloatArray
    signal: FloatArray | None = None
    cross: FloatArray | None = None


def rates(
    parts: Sequence[Groups], theta: FloatArray, c2: FloatArray, mu: FloatArray | None = None
) -> tuple[FloatArray, list[State]]:
    """lambda (H, B) at nuisances ``theta`` (H, K) (``c2``: its code4p coefficients) and POI ``mu`` (H,).

    ``mu`` scales the POI groups (None: a part may not have any).
    """
    h = theta.shape[0]
    lam: FloatArray | None = None
    states = []
    for part in parts:
        f, f1, f2 = part.code4.factor(theta[:, None, :])  # (H, G, K)
        factor = np.prod(f, axis=2)
        weight = factor if mu is None else np.where(part.poi[None, :], mu[:, None], 1.0) * factor
        body = part.nominal + np.matmul(theta[:, None, None, :], part.s)[:, :, 0, :]
        body = body + np.matmul(c2[:, None, None, :], part.a)[:, :, 0, :]
        states.append(State(part, factor, weight, f1 / f, f2 / f, body))
        term = np.matmul(weight[:, None, :], body)[:, 0, :]
        lam = term if lam is None else lam + term
    if lam is None:
        msg = "the batch has no samples"
        raise ValueError(msg)
    return np.broadcast_to(lam, (h, lam.shape[-1])), states


def _flat_sum(weight: FloatArray, arr: FloatArray) -> FloatArray:
    """sum_g weight_g arr_g: (H, G) x (H|1, G, K, B) -> (H, K, B)."""
    rows, g, k, b = arr.shape
    return np.matmul(weight[:, None, :], arr.reshape(rows, g, k * b)).reshape(weight.shape[0], k, b)


def _jac(state: State, weight: FloatArray, d1: FloatArray) -> FloatArray:
    """sum_g weight_g [u_gk L_gb + S_gkb + c2'(theta_k) A_gkb]: (H, K, B)."""
    wu = weight[:, :, None] * state.u
    out = np.matmul(np.swapaxes(wu, 1, 2), state.body)
    return out + _flat_sum(weight, state.groups.s) + d1[:, :, None] * _flat_sum(weight, state.groups.a)


def jacobians(
    states: Sequence[State], d1: FloatArray, d2: FloatArray, resid: FloatArray, *, with_poi: bool = False
) -> Jacobians:
    """The Jacobian of lambda and its curvature contracted with ``resid`` (H, B) (module docstring).

    Args:
        states: the parts at theta (from :func:`rates`).
        d1: (H, K) c2'(theta).
        d2: (H, K) c2''(theta).
        resid: (H, B) bin weights r_b of the curvature.
        with_poi: also the derivatives in mu of the POI groups (:func:`rates` called with ``mu``).
    """
    h, k = d1.shape
    jac = np.zeros((h, k, resid.shape[1]))
    curv = np.zeros((h, k, k))
    diag = np.zeros((h, k))
    signal = np.zeros_like(resid) if with_poi else None
    cross = np.zeros_like(jac) if with_poi else None
    r = resid[:, :, None]
    for st in states:
        grp, w = st.groups, st.weight
        jac += _jac(st, w, d1)
        n_g = grp.s.shape[1]
        sr = np.matmul(grp.s.reshape(grp.s.shape[0], n_g * k, grp.s.shape[-1]), r).reshape(h, n_g, k)
        ar = np.matmul(grp.a.reshape(grp.a.shape[0], n_g * k, grp.a.shape[-1]), r).reshape(h, n_g, k)
        big_r = np.matmul(st.body, r)[:, :, 0]  # (H, G)
        q = sr + d1[:, None, :] * ar
        wu = w[:, :, None] * st.u
        curv += np.matmul(np.swapaxes(wu * big_r[:, :, None], 1, 2), st.u)
        mixed = np.matmul(np.swapaxes(wu, 1, 2), q)
        curv += mixed + np.swapaxes(mixed, 1, 2)
        diag += np.sum((w * big_r)[:, :, None] * (st.v - st.u * st.u), axis=1)
        diag += d2 * np.matmul(w[:, None, :], ar)[:, 0, :]
        if signal is not None and cross is not None and np.any(grp.poi):
            base = np.where(grp.poi[None, :], st.factor, 0.0)
            signal += np.matmul(base[:, None, :], st.body)[:, 0, :]
            cross += _jac(st, base, d1)
    idx = np.arange(k)
    curv[:, idx, idx] += diag
    return Jacobians(jac, curv, signal, cross)
