"""The projected Newton method of :func:`cevns_hf.inference.newton.minimise`, one row at a time, compiled."""

from __future__ import annotations

import functools
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.kernel._jit import available, jit
from cevns_hf.inference.kernel.layout import KernelParts
from cevns_hf.inference.kernel.model import evaluate, merge, rates, twice_nll
from cevns_hf.inference.newton import Minimum

__all__ = ["THREADS_ENV", "minimise_rows", "threads"]


def __dir__() -> list[str]:
    return __all__


_BOUND_TOL = 1e-12  # as cevns_hf.inference.newton
_MAX_HALVINGS = 40
#: Fewer rows per thread than this run on the calling thread (a thread hand-over costs ~0.1 ms).
_ROWS_PER_THREAD = 32
#: The environment variable that sets the number of threads of the compiled engine.
THREADS_ENV = "CEVNS_HF_THREADS"


def threads() -> int:
    """Threads the compiled engine runs rows on: ``$CEVNS_HF_THREADS``, else the CPUs this process may use.

    Inside a Dask worker the default is 1: the workers are the parallelism. Rows are independent and each is
    computed by one thread, so the results do not depend on this number.

    Raises:
        ConfigurationError: the variable is not a positive integer.
    """
    raw = os.environ.get(THREADS_ENV, "").strip()
    if raw:
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if value < 1:
            msg = f"{THREADS_ENV} must be a positive integer (threads of the profile engine), got {raw!r}"
            raise ConfigurationError(msg)
        return value
    if _in_dask_worker():
        return 1
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _in_dask_worker() -> bool:
    distributed = sys.modules.get("distributed")
    if distributed is None:
        return False
    try:
        distributed.get_worker()
    except ValueError:
        return False
    return True


@functools.cache
def _pool(n: int) -> ThreadPoolExecutor:
    """A pool of n threads, kept for the process (the kernels release the GIL)."""
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="cevns-hf-kernel")


@jit
def _factorise(m: Any, shift: float, work: Any) -> bool:  # pragma: no cover
    """Cholesky factor of m - shift I into the lower triangle of ``work`` (False: not positive definite)."""
    p = m.shape[0]
    for i in range(p):
        for j in range(i + 1):
            acc = m[i, j] - (shift if i == j else 0.0)
            for k in range(j):
                acc -= work[i, k] * work[j, k]
            if i == j:
                if not acc > 0.0:
                    return False
                work[i, i] = np.sqrt(acc)
            else:
                work[i, j] = acc / work[j, j]
    return True


@jit
def _newton_step(x: Any, grad: Any, hess: Any, lo: Any, hi: Any, step: Any, gfree: Any, hfree: Any,
                 work: Any, fixed: Any) -> float:  # pragma: no cover  # fmt: skip
    """The projected Newton step into ``step``; returns the Newton decrement g^T H^-1 g of the free gradient."""
    p = x.size
    for i in range(p):
        fixed[i] = (x[i] <= lo[i] + _BOUND_TOL and grad[i] > 0) or (x[i] >= hi[i] - _BOUND_TOL and grad[i] < 0)
        gfree[i] = 0.0 if fixed[i] else grad[i]
    scale = 0.0
    for i in range(p):
        for j in range(p):
            hfree[i, j] = (1.0 if i == j else 0.0) if fixed[i] or fixed[j] else hess[i, j]
        scale = max(scale, abs(hfree[i, i]))
    floor = 1e-10 * scale
    if not _factorise(hfree, floor, work):  # smallest eigenvalue below the floor: shifted up to it
        shift = max(0.0, floor - np.linalg.eigvalsh(hfree)[0])
        if not _factorise(hfree, -shift, work):
            return np.nan
    for i in range(p):  # solve L L^T s = -g
        acc = -gfree[i]
        for k in range(i):
            acc -= work[i, k] * step[k]
        step[i] = acc / work[i, i]
    for i in range(p - 1, -1, -1):
        acc = step[i]
        for k in range(i + 1, p):
            acc -= work[k, i] * step[k]
        step[i] = acc / work[i, i]
    decrement = 0.0
    for i in range(p):
        decrement -= gfree[i] * step[i]
    return decrement


@jit
def _minimise_row(
    h: int, xr: Any, lo: Any, hi: Any, restart: Any, n_k: int, sources: Any, merged: Any, n: Any, au: Any,
    cst: float, tol: float, max_iter: int, sc: Any, row: Any, vec: Any, mat: Any, fixed: Any
) -> tuple[float, bool, int]:  # pragma: no cover  # fmt: skip
    """Projected Newton minimisation of row h from ``xr`` (updated in place): (value, converged, iterations)."""
    nom, sm, am = row
    nom[:, :] = 0.0
    sm[:, :] = 0.0
    am[:, :] = 0.0
    merge(h, sources[0], nom, sm, am)
    merge(h, sources[1], nom, sm, am)
    grad, step, gfree, cand = vec[0], vec[1], vec[2], vec[3]
    hess, hfree, work = mat[0], mat[1], mat[2]
    p = xr.size
    for i in range(p):
        xr[i] = min(max(xr[i], lo[i]), hi[i])
    f = evaluate(xr, n_k, merged, row, n, au, cst, sc, grad, hess)
    if not np.isfinite(f) and restart.shape[0] > 0:
        for i in range(p):
            xr[i] = min(max(restart[h, i], lo[i]), hi[i])
        f = evaluate(xr, n_k, merged, row, n, au, cst, sc, grad, hess)
    for its in range(max_iter):
        dec = _newton_step(xr, grad, hess, lo, hi, step, gfree, hfree, work, fixed)
        if not np.isfinite(f) or dec < tol:
            return f, bool(np.isfinite(f)), its
        alpha = 1.0
        accepted = False
        for _ in range(_MAX_HALVINGS):  # Armijo backtracking along the projected path
            expect = 0.0
            for i in range(p):
                cand[i] = min(max(xr[i] + alpha * step[i], lo[i]), hi[i])
                expect += grad[i] * (cand[i] - xr[i])
            rates(cand, n_k, merged, row, sc, False)
            fc = twice_nll(sc[1], n, cand[:n_k], au, cst)
            if np.isfinite(fc) and fc <= f + 1e-4 * expect:
                accepted = True
                break
            alpha *= 0.5
        if not accepted:  # no decrease: at the minimum to within rounding, or stuck
            return f, bool(dec < 1e-6), its + 1
        for i in range(p):
            xr[i] = cand[i]
        f = evaluate(xr, n_k, merged, row, n, au, cst, sc, grad, hess)
    return f, False, max_iter


@jit
def _minimise_rows(
    x: Any, lower: Any, upper: Any, restart: Any, n_k: int, sources: Any, merged: Any, data: Any, aux: Any,
    const: Any, tol: float, max_iter: int, value_out: Any, converged: Any, iterations: Any, start: int, stop: int
) -> None:  # pragma: no cover  # fmt: skip
    """Minimise the rows start..stop-1 (the others untouched: threads share the arrays)."""
    p = x.shape[1]
    n_b = data.shape[1]
    n_m = merged[1].size - 1
    n_q = merged[0].size
    n_pairs = max(merged[3].size, 1)
    n_j = p - n_k
    sc = (
        np.empty(n_k), np.empty(n_b), np.empty((n_m, n_b)), np.empty(n_m), np.empty(n_m), np.empty(n_pairs),
        np.empty(n_pairs), np.empty(n_k), np.empty(n_k), np.empty(n_j), np.empty((n_j, n_j)), np.empty(n_b),
        np.empty(n_b), np.empty((p, n_b)),
    )  # fmt: skip
    row = (np.empty((n_m, n_b)), np.empty((n_q, n_b)), np.empty((n_q, n_b)))
    vec = (np.empty(p), np.empty(p), np.empty(p), np.empty(p))
    mat = (np.empty((p, p)), np.empty((p, p)), np.empty((p, p)))
    fixed = np.empty(p, dtype=np.bool_)
    for h in range(start, stop):
        f, conv, its = _minimise_row(
            h, x[h], lower[h if lower.shape[0] > 1 else 0], upper[h if upper.shape[0] > 1 else 0], restart, n_k,
            sources, merged, data[h if data.shape[0] > 1 else 0], aux[h if aux.shape[0] > 1 else 0],
            const[h if const.shape[0] > 1 else 0], tol, max_iter, sc, row, vec, mat, fixed,
        )  # fmt: skip
        value_out[h] = f
        converged[h] = conv
        iterations[h] = its


def minimise_rows(
    kparts: KernelParts,
    x0: FloatArray,
    lower: FloatArray,
    upper: FloatArray,
    *,
    n_k: int,
    data: FloatArray,
    aux: FloatArray | None,
    constant: float | FloatArray,
    tol: float = 1e-10,
    max_iter: int = 100,
    restart: FloatArray | None = None,
) -> Minimum:
    """Minimise -2 ln L of every row over its free parameters x = (theta (K), mu (J)) within the bounds.

    Args:
        kparts: the batch's groups (:func:`pack`).
        x0: (H, K + J) starting points.
        lower: (K + J,) or (H, K + J) lower bounds.
        upper: (K + J,) or (H, K + J) upper bounds.
        n_k: number of nuisances K.
        data: (B,) or (H, B) observed counts.
        aux: (H, K) or (K,) auxiliary data of the constraints (None: 0).
        constant: -2 ln L's constant, scalar or (H,).
        tol: convergence threshold on the Newton decrement.
        max_iter: Newton iterations at most.
        restart: (H, K + J) starts where -2 ln L is infinite at ``x0``.

    Returns:
        The minima, as :func:`cevns_hf.inference.newton.minimise` (whose algorithm this is).
    """
    if not available:  # pragma: no cover
        msg = "the compiled engine needs numba"
        raise RuntimeError(msg)
    x = np.array(x0, dtype=float, order="C")
    h, p = x.shape
    n_b = int(np.shape(data)[-1])
    value = np.empty(h)
    converged = np.zeros(h, dtype=np.bool_)
    iterations = np.zeros(h, dtype=np.int64)

    def rows2(arr: Any, width: int) -> FloatArray:
        return np.ascontiguousarray(np.asarray(arr, dtype=float).reshape(-1, width))

    args = (
        x,
        rows2(lower, p),
        rows2(upper, p),
        np.zeros((0, p)) if restart is None else rows2(restart, p),
        n_k,
        kparts.sources,
        kparts.merged,
        rows2(data, n_b),
        np.zeros((1, n_k)) if aux is None else rows2(aux, n_k),
        np.ascontiguousarray(np.atleast_1d(np.asarray(constant, dtype=float))),
        float(tol),
        int(max_iter),
        value,
        converged,
        iterations,
    )
    n_threads = min(threads(), h // _ROWS_PER_THREAD)
    if n_threads <= 1:
        _minimise_rows(*args, 0, h)
    else:  # contiguous ranges of rows, up to four per thread (rows differ in cost); each row is computed alone
        pieces = max(n_threads, min(4 * n_threads, h // _ROWS_PER_THREAD))
        edges = [int(e) for e in np.linspace(0, h, pieces + 1)]
        list(_pool(n_threads).map(lambda r: _minimise_rows(*args, edges[r], edges[r + 1]), range(len(edges) - 1)))
    return Minimum(value, x, converged, iterations)
