r"""The likelihood factorises over channels that share no nuisance: profile each block on its own.

With the POIs fixed, -2 ln L is a sum over bins and constraints; when the channels split into blocks whose
nuisances act on no other block's bins (CsI 2021 has the alphas, LAr 2020 the betas),

.. math::
    -2\ln L(\theta) = \sum_{c} \big[-2\ln L_c(\theta_c)\big], \qquad
    \min_\theta (-2\ln L) = \sum_c \min_{\theta_c} (-2\ln L_c),

so each block is profiled separately, with its own bins, nuisances and constants: its Jacobians are
(K_c, B_c) instead of (K, B) and its Hessians K_c x K_c. The result equals the joint profile (the rows' blocks
converge independently). :meth:`cevns_hf.inference.likelihood.Likelihood.profile` uses it for fits at fixed
POIs; free POIs couple the blocks.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from scipy import special

from cevns_hf._identity_cache import IdentityCache
from cevns_hf._typing import FloatArray
from cevns_hf.inference.groups import Groups
from cevns_hf.inference.interpolation import Code4

if TYPE_CHECKING:
    from cevns_hf.inference.likelihood import Batch, Likelihood

__all__ = ["Block", "block_problems", "blocks", "data_constant", "restrict", "structure_key"]


def __dir__() -> list[str]:
    return __all__


IntArray = npt.NDArray[np.intp]


@dataclass(frozen=True)
class Block:
    """A set of channels profiled together: their bins and nuisances (indices into the full likelihood)."""

    bins: IntArray
    nuisances: IntArray
    channels: tuple[int, ...]


#: Per-part structures of one-row parts (their support, their restriction to a block), by array identity.
_STRUCTURES: IdentityCache[Any] = IdentityCache(size=64)


def structure_key(part: Groups) -> tuple[tuple[object, ...], tuple[int, ...]]:
    """The objects (by identity) and shapes (by value) that fix a part's structure: everything but its row
    weights (empty POI exponents, which folding makes anew, count by their shape)."""
    objects = (part.nominal, part.s, part.a, part.code4, part.active)
    return ((*objects, part.powers), ()) if part.powers.size else (objects, part.powers.shape)


def _support(part: Groups, cuts: Sequence[slice], n_k: int) -> npt.NDArray[np.bool_]:
    """(C, K): whether nuisance k acts on a bin of channel c through this part (cached for one-row parts)."""
    if part.nominal.shape[0] == 1:
        objects, shape = structure_key(part)
        extra = ("support", shape, tuple((c.start, c.stop) for c in cuts), n_k)
        return _STRUCTURES.get(objects, extra, lambda: _find_support(part, cuts, n_k))
    return _find_support(part, cuts, n_k)


def _find_support(part: Groups, cuts: Sequence[slice], n_k: int) -> npt.NDArray[np.bool_]:
    out = np.zeros((len(cuts), n_k), dtype=bool)
    idx = np.arange(n_k)[part.nuisance_index()]
    gi, ki, _ = part.code4.pairs
    for c, cut in enumerate(cuts):
        shapes = np.any(part.s[..., cut] != 0, axis=(0, 1, 3)) | np.any(part.a[..., cut] != 0, axis=(0, 1, 3))
        out[c, idx[shapes]] = True
        filled = np.any(part.nominal[..., cut] != 0, axis=(0, 2))  # (G,)
        out[c, ki[filled[gi]]] = True
    return out


def blocks(parts: Sequence[Groups], shapes: Sequence[tuple[int, ...]], n_k: int) -> list[Block]:
    """The channels grouped into blocks that share no nuisance (connected components of channel-nuisance use).

    Nuisances that act on no bin join the first block (their profile is the constraint alone).
    """
    sizes = [math.prod(s) for s in shapes]
    edges = np.cumsum([0, *sizes])
    cuts = [slice(int(a), int(b)) for a, b in itertools.pairwise(edges.tolist())]
    use = np.zeros((len(cuts), n_k), dtype=bool)
    for part in parts:
        use |= _support(part, cuts, n_k)
    label = list(range(len(cuts)))

    def root(c: int) -> int:
        while label[c] != c:
            c = label[c]
        return c

    for k in range(n_k):
        chans = np.flatnonzero(use[:, k])
        for c in chans[1:]:
            label[root(int(c))] = root(int(chans[0]))
    groups: dict[int, list[int]] = {}
    for c in range(len(cuts)):
        groups.setdefault(root(c), []).append(c)
    out = []
    orphan = ~np.any(use, axis=0)
    for n, members in enumerate(groups.values()):
        chans = np.asarray(members, dtype=np.intp)
        bins = np.concatenate([np.arange(cuts[c].start, cuts[c].stop) for c in chans]).astype(np.intp)
        nuis = np.any(use[chans], axis=0) | (orphan if n == 0 else False)
        out.append(Block(bins, np.flatnonzero(nuis).astype(np.intp), tuple(int(c) for c in chans)))
    return out


def restrict(part: Groups, block: Block, n_k: int) -> Groups | None:
    """The part on a block's bins and nuisances (its groups without counts there dropped); None when empty."""
    if part.nominal.shape[0] > 1:
        found = _restrict(part, block, n_k)
        return None if found is None else found[0]
    objects, shape = structure_key(part)
    extra = ("restrict", shape, block.bins.tobytes(), block.nuisances.tobytes(), n_k)
    cached = _STRUCTURES.get(objects, extra, lambda: _restrict(replace(part, coef=None), block, n_k))
    if cached is None:
        return None
    sub, g = cached
    return sub if part.coef is None else replace(sub, coef=part.coef[:, g])


def _restrict(part: Groups, block: Block, n_k: int) -> tuple[Groups, IntArray] | None:
    """:func:`restrict`, and the groups kept."""
    bins, nuis = block.bins, block.nuisances
    where = np.full(n_k, -1, dtype=np.intp)
    where[nuis] = np.arange(nuis.size)
    full = np.arange(n_k)[part.nuisance_index()]
    keep_k = np.flatnonzero(where[full] >= 0)
    nominal = part.nominal[:, :, bins]
    s = part.s[:, :, keep_k][..., bins]
    a = part.a[:, :, keep_k][..., bins]
    filled = np.any(nominal != 0, axis=(0, 2)) | np.any(s != 0, axis=(0, 2, 3)) | np.any(a != 0, axis=(0, 2, 3))
    g = np.flatnonzero(filled)
    if g.size == 0:
        return None
    code4 = Code4(part.code4.log_hi[g][:, nuis], part.code4.log_lo[g][:, nuis], part.code4.coef[g][:, nuis])
    sub = replace(
        part,
        nominal=np.ascontiguousarray(nominal[:, g]),
        s=np.ascontiguousarray(s[:, g]),
        a=np.ascontiguousarray(a[:, g]),
        code4=code4,
        powers=part.powers[g],
        coef=None if part.coef is None else part.coef[:, g],
        active=where[full[keep_k]],
    )
    return sub, g


def block_problems(lik: Likelihood, work: Batch, split: Sequence[Block]) -> Iterator[tuple[Block, Likelihood, Batch]]:
    """Each block's likelihood (its channels, bins, nuisances, bounds and constant) and batch (its parts, data
    and auxiliary data), for a batch ``work`` without free POIs."""
    n_k = len(lik.nuisances)
    for blk in split:
        parts = tuple(p for p in (restrict(part, blk, n_k) for part in work.parts) if p is not None)
        data = None if work.data is None else work.data[:, blk.bins]
        aux = None if work.aux is None else work.aux[:, blk.nuisances]
        constant = None if data is None else data_constant(data, blk.nuisances.size)
        observed = lik.observed[blk.bins]
        sub = replace(
            lik,
            channels=tuple(lik.channels[c] for c in blk.channels),
            shapes=tuple(lik.shapes[c] for c in blk.channels),
            nuisances=tuple(lik.nuisances[k] for k in blk.nuisances),
            lower=lik.lower[blk.nuisances],
            upper=lik.upper[blk.nuisances],
            observed=observed,
            constant=float(data_constant(observed, blk.nuisances.size)),
        )
        yield blk, sub, replace(work, parts=parts, data=data, aux=aux, constant=constant)


def data_constant(data: FloatArray, n_k: int) -> FloatArray:
    r""":math:`2\sum_b \ln\Gamma(n_b + 1) + K\ln(2\pi)` per row of ``data`` (H, B)."""
    return 2.0 * np.sum(special.gammaln(data + 1.0), axis=-1) + n_k * math.log(2.0 * math.pi)
