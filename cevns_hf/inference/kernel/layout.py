"""The kernels' layout of a batch: its groups merged per row where they share normsys factors and POI powers."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from cevns_hf._identity_cache import IdentityCache
from cevns_hf._typing import FloatArray
from cevns_hf.inference.blocks import structure_key

if TYPE_CHECKING:
    from cevns_hf.inference.groups import Groups

__all__ = ["KernelParts", "pack"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True, eq=False)
class KernelParts:
    """The groups of a batch as the kernels take them.

    Groups with the same normsys factors and POI exponents have the same :math:`F_g m_g`, so per row they merge
    into one group whose histograms are the sums weighted by the row weights :math:`c_g`; the kernels do this
    once per row, and the Newton iterations then run over the few merged groups.

    Attributes:
        sources: the one-row parts (broadcast) and the H-row parts, each a tuple of arrays (:func:`_source`):
            nominal (R, G, B); histosys values S and A (R, Q, B) of the Q non-zero (group, nuisance) entries,
            sorted by group, with the start of each group's entries (G + 1,); row weights (R_c, G); the merged
            group of each group (G,) and the merged entry of each histosys entry (Q,).
        merged: the merged groups (:func:`_merged`): the nuisance of each merged histosys entry (Q_m,) and the
            start of each group's entries (M + 1,); POI exponents (M, J); normsys pairs (nuisance, the six code4
            coefficients, ln kappa_hi, ln kappa_lo) with the start of each group's pairs (M + 1,).
        n_pois: J.
    """

    sources: tuple[tuple[Any, ...], tuple[Any, ...]]
    merged: tuple[Any, ...]
    n_pois: int


def _source(parts: list[Groups], n_k: int, n_b: int, keys: dict[Any, int], entries: dict[tuple[int, int], int],
            n_j: int, code4: list[FloatArray]) -> tuple[Any, ...]:  # fmt: skip
    """Concatenate parts with the same number of rows; register their groups and entries in ``keys``/``entries``
    (and the code4 coefficients of each new merged group in ``code4``)."""
    if not parts:
        z = np.zeros((1, 0, n_b))
        zi = np.zeros(0, dtype=np.intp)
        return z, z, z, np.zeros(1, dtype=np.intp), np.ones((1, 0)), zi, zi
    rows = max(int(p.nominal.shape[0]) for p in parts)
    noms, ss, aas, counts, gmap, qmap = [], [], [], [], [], []
    for p in parts:
        g_n = int(p.s.shape[1])
        noms.append(np.broadcast_to(p.nominal, (rows, *p.nominal.shape[1:])))
        act = np.arange(n_k)[p.nuisance_index()]
        nonzero = np.any(p.s != 0, axis=(0, 3)) | np.any(p.a != 0, axis=(0, 3))  # (G, K_a)
        gi, ai = np.nonzero(nonzero)  # sorted by group
        ss.append(np.broadcast_to(p.s[:, gi, ai], (rows, gi.size, n_b)))
        aas.append(np.broadcast_to(p.a[:, gi, ai], (rows, gi.size, n_b)))
        counts.append(np.bincount(gi, minlength=g_n))
        gp, kp, _ = p.code4.pairs
        for g in range(g_n):
            sel = gp == g
            pw = tuple(float(p.powers[g, j]) if j < p.powers.shape[1] else 0.0 for j in range(n_j))
            key = (tuple(zip(kp[sel].tolist(), p.code4.log_hi[g, kp[sel]].tolist(), p.code4.log_lo[g, kp[sel]].tolist(),
                             strict=True)), pw)  # fmt: skip
            if key not in keys:
                keys[key] = len(keys)
                code4.append(p.code4.coef[g, kp[sel]].reshape(-1, 6))
            gmap.append(keys[key])
        for g, a in zip(gi.tolist(), ai.tolist(), strict=True):
            qmap.append(entries.setdefault((gmap[len(gmap) - g_n + g], int(act[a])), len(entries)))
    return (
        np.ascontiguousarray(np.concatenate(noms, axis=1), dtype=float),
        np.ascontiguousarray(np.concatenate(ss, axis=1), dtype=float),
        np.ascontiguousarray(np.concatenate(aas, axis=1), dtype=float),
        np.concatenate([[0], np.cumsum(np.concatenate(counts))]).astype(np.intp),
        _row_weights(parts),
        np.asarray(gmap, dtype=np.intp),
        np.asarray(qmap, dtype=np.intp),
    )


def _merged(
    keys: dict[Any, int], entries: dict[tuple[int, int], int], n_j: int, code4: list[FloatArray]
) -> tuple[tuple[Any, ...], npt.NDArray[np.intp]]:
    """The merged groups' arrays; their histosys entries renumbered in group order (returns the renumbering)."""
    n_m = len(keys)
    order = sorted(entries, key=lambda e: (e[0], entries[e]))
    renumber = np.empty(len(entries), dtype=np.intp)
    for new, e in enumerate(order):
        renumber[entries[e]] = new
    hk = np.asarray([e[1] for e in order], dtype=np.intp)
    hstart = np.searchsorted(np.asarray([e[0] for e in order], dtype=np.intp), np.arange(n_m + 1)).astype(np.intp)
    powers = np.zeros((n_m, n_j))
    pk, lh, ll, counts = [], [], [], []
    for (pairs, pw), m in sorted(keys.items(), key=lambda kv: kv[1]):
        powers[m, :] = pw
        counts.append(len(pairs))
        for k, hi, lo in pairs:
            pk.append(k)
            lh.append(hi)
            ll.append(lo)
    return (
        hk,
        hstart,
        powers,
        np.asarray(pk, dtype=np.intp),
        np.ascontiguousarray(np.concatenate(code4, axis=0) if code4 else np.zeros((0, 6))),
        np.asarray(lh, dtype=float),
        np.asarray(ll, dtype=float),
        np.concatenate([[0], np.cumsum(counts)]).astype(np.intp),
    ), renumber


#: Layouts of batches made of one-row parts, by the identity of their arrays (only the row weights change).
_LAYOUTS: IdentityCache[KernelParts] = IdentityCache(size=32)


def _row_weights(parts: list[Groups]) -> FloatArray:
    """The parts' row weights side by side, (R_c, G) (1 for a part without)."""
    crow = max(1 if p.coef is None else int(p.coef.shape[0]) for p in parts)
    return np.ascontiguousarray(
        np.concatenate(
            [np.broadcast_to(np.ones((1, p.s.shape[1])) if p.coef is None else p.coef, (crow, p.s.shape[1]))
             for p in parts],
            axis=1,
        ),
        dtype=float,
    )  # fmt: skip


def pack(parts: tuple[Groups, ...], n_k: int, n_j: int, n_b: int) -> KernelParts:
    """The batch's parts in the kernels' layout: the one-row parts, the H-row parts and their merged groups.

    A batch of one-row parts (a polynomial basis, folded at many points) keeps its layout between calls; only its
    row weights are new.
    """
    if parts and all(p.nominal.shape[0] == 1 for p in parts):
        keys = [structure_key(p) for p in parts]
        objects = [obj for key in keys for obj in key[0]]
        extra = (tuple(key[1] for key in keys), n_k, n_j, n_b)
        layout = _LAYOUTS.get(objects, extra, lambda: _pack(parts, n_k, n_j, n_b))
        one = layout.sources[0]
        return replace(layout, sources=((*one[:4], _row_weights(list(parts)), *one[5:]), layout.sources[1]))
    return _pack(parts, n_k, n_j, n_b)


def _pack(parts: tuple[Groups, ...], n_k: int, n_j: int, n_b: int) -> KernelParts:
    keys: dict[Any, int] = {}
    entries: dict[tuple[int, int], int] = {}
    code4: list[FloatArray] = []
    one = _source([p for p in parts if p.nominal.shape[0] == 1], n_k, n_b, keys, entries, n_j, code4)
    many = _source([p for p in parts if p.nominal.shape[0] > 1], n_k, n_b, keys, entries, n_j, code4)
    merged, renumber = _merged(keys, entries, n_j, code4)
    one = (*one[:6], renumber[one[6]])
    many = (*many[:6], renumber[many[6]])
    return KernelParts((one, many), merged, n_j)
