"""Templates to and from ROOT files through uproot (optional dependency: ``pip install cevns_hf[root]``).

Each sample is written as a histogram named ``<sample>`` (and ``<sample>__<nuisance>_up`` /
``_down`` for its shape systematics) over the experiment's first two axes (energy x time); the 3D
LAr layout (energy x F90 x time) is written flattened along F90 x time with a note in the title.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.io.atomic import atomic_output
from cevns_hf.templates.histograms import Templates

__all__ = ["read_histograms", "write_templates"]


def __dir__() -> list[str]:
    return __all__


def _uproot() -> Any:
    try:
        import uproot
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "writing ROOT files needs uproot: pip install 'cevns_hf[root]'"
        raise ConfigurationError(msg) from err
    return uproot


def write_templates(templates: Templates, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
    """Write every template of ``templates`` (nominal and shape variations) and the data to a ROOT file."""
    uproot = _uproot()
    x_edges = np.asarray(templates.axes[0].edges)
    if len(templates.axes) == 2:
        y_edges = np.asarray(templates.axes[1].edges)
    else:
        n_y = int(np.prod([a.n_bins for a in templates.axes[1:]]))
        y_edges = np.arange(n_y + 1, dtype=float)

    def as2d(h: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return (np.asarray(h, dtype=float).reshape(len(x_edges) - 1, -1), x_edges, y_edges)

    with atomic_output(path, overwrite=overwrite) as tmp, uproot.recreate(tmp) as out:
        out["data"] = as2d(templates.observed)
        for sample in templates.samples:
            out[sample.name] = as2d(sample.nominal)
            for nuisance, (up, down) in sample.shapes.items():
                out[f"{sample.name}__{nuisance}_up"] = as2d(up)
                out[f"{sample.name}__{nuisance}_down"] = as2d(down)
    return Path(path)


def read_histograms(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Read back every histogram of a ROOT file as a numpy array of bin contents."""
    uproot = _uproot()
    with uproot.open(path) as f:
        return {key.split(";")[0]: np.asarray(f[key].values()) for key in f.keys(cycle=False)}
