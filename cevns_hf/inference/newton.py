r"""Batched projected Newton minimisation of H independent smooth functions with box bounds.

The likelihood engine (:mod:`cevns_hf.inference.likelihood`) minimises -2 ln L over the P free parameters
(nuisances, and the POI when it is free) of H rows at once. For each row: the active set are the
parameters on a bound whose gradient points outwards; on the others the Newton step
:math:`-H^{-1} g` (the Hessian shifted to positive definite where it is not, e.g. where the code4p
curvature makes it indefinite) is searched along the projected path by backtracking (Armijo condition);
a row stops when its Newton decrement :math:`g^T H^{-1} g` (about twice the distance of the function to
its minimum) is below the tolerance. Rows never interact, so the result of a row does not depend on the
batch it is computed in (Bertsekas, SIAM J. Control Optim. 20 (1982) 221, for the projected Newton method).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from cevns_hf._typing import FloatArray

__all__ = ["Minimum", "minimise"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: A parameter within this distance of a bound counts as on it (for the active set).
_BOUND_TOL = 1e-12
#: Largest number of step halvings in the line search.
_MAX_HALVINGS = 40
#: Step lengths of a row tried together (one function call) once the full Newton step failed.
_BATCHED_HALVINGS = 8

Rows = npt.NDArray[np.intp]
#: ``evaluate(rows, x)``: (value (n,), gradient (n, P), Hessian (n, P, P)) of the rows ``rows`` at ``x`` (n, P).
Evaluate = Callable[[Rows, FloatArray], tuple[FloatArray, FloatArray, FloatArray]]
#: ``value(rows, x)``: the function values (n,) only (+inf where undefined).
Value = Callable[[Rows, FloatArray], FloatArray]


@dataclass(frozen=True, eq=False)
class Minimum:
    """Result of :func:`minimise`.

    Attributes:
        value: (H,) function values at the minimum.
        x: (H, P) minimising parameters.
        converged: (H,) True where the Newton decrement fell below the tolerance.
        iterations: (H,) Newton iterations used.
    """

    value: FloatArray
    x: FloatArray
    converged: npt.NDArray[np.bool_]
    iterations: npt.NDArray[np.int64]


def minimise(
    evaluate: Evaluate,
    value: Value,
    x0: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    tol: float = 1e-10,
    max_iter: int = 100,
    restart: FloatArray | None = None,
) -> Minimum:
    """Minimise H functions of P bounded parameters by projected Newton steps.

    Args:
        evaluate: value, gradient and Hessian of selected rows.
        value: values only of selected rows (for the line search).
        x0: (H, P) starting points (clipped into the bounds).
        lower: (P,) or (H, P) lower bounds.
        upper: (P,) or (H, P) upper bounds.
        tol: convergence threshold on the Newton decrement.
        max_iter: iterations at most.
        restart: (H, P) points to restart from where the function is infinite at ``x0`` (optional).

    Returns:
        The minima.
    """
    h, p = x0.shape
    lo = np.broadcast_to(np.asarray(lower, dtype=float), (h, p))
    hi = np.broadcast_to(np.asarray(upper, dtype=float), (h, p))
    x = np.array(np.clip(x0, lo, hi), dtype=float)
    every = np.arange(h)
    f, grad, hess = evaluate(every, x)
    bad = np.flatnonzero(~np.isfinite(f))
    if bad.size and restart is not None:
        x[bad] = np.clip(restart[bad], lo[bad], hi[bad])
        f[bad], grad[bad], hess[bad] = evaluate(bad, x[bad])
    done = np.zeros(h, dtype=bool)
    converged = np.zeros(h, dtype=bool)
    iterations = np.zeros(h, dtype=np.int64)
    eye = np.eye(p)
    for _ in range(max_iter):
        idx = np.flatnonzero(~done)
        if idx.size == 0:
            break
        t, g, hs, fv = x[idx], grad[idx], hess[idx], f[idx]
        fixed = ((t <= lo[idx] + _BOUND_TOL) & (g > 0)) | ((t >= hi[idx] - _BOUND_TOL) & (g < 0))
        g_free = np.where(fixed, 0.0, g)
        pair = fixed[:, :, None] | fixed[:, None, :]
        h_free = np.where(pair, 0.0, hs) + fixed[:, :, None] * eye
        eig_min = np.linalg.eigvalsh(h_free)[:, 0]
        scale = np.max(np.abs(np.diagonal(h_free, axis1=1, axis2=2)), axis=1)
        shift = np.maximum(0.0, 1e-10 * scale - eig_min)
        h_free = h_free + shift[:, None, None] * eye
        step = -np.linalg.solve(h_free, g_free[:, :, None])[:, :, 0]
        decrement = -np.sum(g_free * step, axis=1)
        finished = ~np.isfinite(fv) | (decrement < tol)
        converged[idx[finished]] = np.isfinite(fv[finished])
        done[idx[finished]] = True
        keep = ~finished
        idx, t, g, fv, step = idx[keep], t[keep], g[keep], fv[keep], step[keep]
        if idx.size == 0:
            break
        iterations[idx] += 1
        alpha = np.ones(idx.size)
        accepted = np.zeros(idx.size, dtype=bool)
        trial = t.copy()
        tried = 0
        while tried < _MAX_HALVINGS:
            todo = np.flatnonzero(~accepted)
            if todo.size == 0:
                break
            # the full step first; then the next _BATCHED_HALVINGS step lengths of a row at once
            n_try = 1 if tried == 0 else min(_BATCHED_HALVINGS, _MAX_HALVINGS - tried)
            tried += n_try
            rows = idx[todo]
            lengths = alpha[todo, None] * 0.5 ** np.arange(n_try)[None, :]  # (n, n_try)
            cand = np.clip(
                t[todo, None, :] + lengths[:, :, None] * step[todo, None, :], lo[rows, None, :], hi[rows, None, :]
            )
            f_cand = value(np.repeat(rows, n_try), cand.reshape(-1, p)).reshape(todo.size, n_try)
            expect = np.sum(g[todo, None, :] * (cand - t[todo, None, :]), axis=2)
            ok = np.isfinite(f_cand) & (f_cand <= fv[todo, None] + 1e-4 * expect)
            found = np.any(ok, axis=1)
            first = np.argmax(ok, axis=1)  # the longest accepted step
            trial[todo[found]] = cand[found, first[found]]
            accepted[todo[found]] = True
            alpha[todo[~found]] *= 0.5**n_try
        stalled = ~accepted
        if np.any(stalled):
            # no decrease along the projected Newton path: at the minimum to within rounding, or stuck
            converged[idx[stalled]] = decrement[keep][stalled] < 1e-6
            done[idx[stalled]] = True
        moved = idx[accepted]
        x[moved] = trial[accepted]
        f[moved], grad[moved], hess[moved] = evaluate(moved, x[moved])
    if not np.all(done):
        log.debug("%d of %d rows reached max_iter=%d", int(np.sum(~done)), h, max_iter)
    return Minimum(f, x, converged, iterations)
