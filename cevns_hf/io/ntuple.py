"""Events from a user's ROOT TTree, binned like a channel (uproot + awkward, filled with hist).

:func:`histogram_events` reads an energy and a time branch (and optionally a weight branch) of a TTree and
fills a histogram with the channel's bin edges: observed counts for ``--template CHANNEL/data=...``, or a
template for any sample. Events outside the channel's range are not counted (they are reported).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError, DataError
from cevns_hf.templates.histograms import Axis

__all__ = ["histogram_events"]


def __dir__() -> list[str]:
    return __all__


log = logging.getLogger(__name__)

#: Event containers read: TTree, and RNTuple (what uproot 5.7 writes for a dict of arrays).
_TREE_CLASSES = ("TTree", "ROOT::RNTuple")


def histogram_events(
    path: str | os.PathLike[str],
    tree: str,
    branches: Sequence[str],
    axes: Sequence[Axis],
    *,
    weight: str | None = None,
) -> FloatArray:
    """Bin the events of ``tree`` in the channel's ``axes``.

    Args:
        path: the ROOT file.
        tree: the TTree's name (path) in the file.
        branches: one branch per axis, in the axes' order (e.g. ``("pe", "t_us")`` for energy, time).
        axes: the channel's axes (their edges define the histogram).
        weight: optional branch of per-event weights (unweighted counts otherwise).

    Returns:
        The binned counts, shaped as the channel's histograms.

    Raises:
        DataError: unreadable file, missing tree or branch.
        ConfigurationError: as many branches as axes are needed.
    """
    if len(branches) != len(axes):
        msg = f"give one branch per axis ({[a.name for a in axes]}), got {list(branches)}"
        raise ConfigurationError(msg)
    try:
        import awkward as ak
        import hist
        import uproot
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "ntuples need uproot, awkward and hist: pip install 'cevns_hf[root]'"
        raise ConfigurationError(msg) from err
    names = [*branches, *([weight] if weight else [])]
    try:
        with uproot.open(path) as f:
            kinds = f.classnames(cycle=False)
            if tree not in f or not kinds.get(tree, "").startswith(_TREE_CLASSES):
                trees = sorted(k for k, c in kinds.items() if c.startswith(_TREE_CLASSES))
                msg = f"{str(path)!r} has no TTree {tree!r}; trees in the file: {trees}"
                raise DataError(msg)
            ttree = f[tree]
            missing = [b for b in names if b not in ttree]
            if missing:
                msg = f"{path!s}:{tree} has no branch {missing}; branches: {sorted(ttree.keys())}"
                raise DataError(msg)
            events = ttree.arrays(names, library="ak")
    except (OSError, ValueError) as err:
        msg = f"cannot read {tree!r} from {str(path)!r}: {err}"
        raise DataError(msg) from err
    columns = [np.asarray(ak.to_numpy(events[b]), dtype=float) for b in branches]
    histogram = hist.Hist(
        *[hist.axis.Variable(list(a.edges), name=a.name, label=a.unit) for a in axes], storage=hist.storage.Weight()
    )
    w = np.asarray(ak.to_numpy(events[weight]), dtype=float) if weight else None
    histogram.fill(*columns, weight=w)
    counts = np.asarray(histogram.values(), dtype=float)
    outside = len(columns[0]) - round(float(counts.sum())) if w is None else None
    if outside:
        log.info("%s:%s: %d events outside the channel's range were not counted", path, tree, outside)
    return counts
