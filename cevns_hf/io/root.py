"""Templates to and from ROOT files through uproot (optional dependency: ``pip install cevns_hf[root]``).

Layout of a file written by :func:`write_templates` (HistFactory-style inputs, one directory per channel):

* ``<channel>/data``: the observed counts (variances = counts);
* ``<channel>/<sample>``: the nominal template (variances 0: templates are expectations, not samples);
* ``<channel>/<sample>_<nuisance>_up`` / ``_down``: the template at theta = +1 / -1 sigma, for every shape
  *and* every normalisation nuisance (from the one rule of :mod:`cevns_hf.workspace.modifiers`);
* ``manifest``: a JSON string (a ``TObjString``) listing the channels, axes (names, units, edges), samples,
  nuisances and the histogram names, with the writer's version.

Histograms are TH2D over (energy, time), or TH3D over (energy, F90, time) for the LAr 3D layout, with the
real bin edges, a title and axis titles with units.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf._version import __version__
from cevns_hf.exceptions import ConfigurationError, DataError
from cevns_hf.io.atomic import atomic_output
from cevns_hf.templates.histograms import Axis, Templates
from cevns_hf.workspace.modifiers import variations

__all__ = ["histogram_name", "read_histograms", "read_template", "write_histogram", "write_templates"]


def __dir__() -> list[str]:
    return __all__


def _uproot() -> Any:
    try:
        import uproot
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "ROOT files need uproot: pip install 'cevns_hf[root]'"
        raise ConfigurationError(msg) from err
    return uproot


def histogram_name(channel: str, sample: str, nuisance: str | None = None, direction: str | None = None) -> str:
    """Path of a histogram in the file: ``channel/sample`` or ``channel/sample_nuisance_up``."""
    if nuisance is None:
        return f"{channel}/{sample}"
    return f"{channel}/{sample}_{nuisance}_{direction}"


def _axis_title(axis: Axis) -> str:
    return f"{axis.name} [{axis.unit}]" if axis.unit else axis.name


def _th(uproot: Any, name: str, title: str, axes: Sequence[Axis], values: FloatArray, variances: FloatArray) -> Any:
    """A TH2D or TH3D with the real edges, titles and the given bin contents and variances (no flow)."""
    from uproot.writing import identify

    shape = tuple(a.n_bins for a in axes)
    content = np.asarray(values, dtype=float).reshape(shape)
    sumw2 = np.asarray(variances, dtype=float).reshape(shape)
    flow = np.zeros(tuple(n + 2 for n in shape))
    inner = tuple(slice(1, -1) for _ in shape)
    data, w2 = flow.copy(), flow.copy()
    data[inner], w2[inner] = content, sumw2
    # ROOT stores cells with x fastest: transpose to (z, y, x) before flattening
    flat, flat_w2 = np.ascontiguousarray(data.T).ravel(), np.ascontiguousarray(w2.T).ravel()
    taxes = [
        identify.to_TAxis(
            f"{'xyz'[k]}axis", _axis_title(a), a.n_bins, a.edges[0], a.edges[-1], np.asarray(a.edges, dtype=float)
        )
        for k, a in enumerate(axes)
    ]
    total = float(content.sum())
    sums = {"fEntries": total, "fTsumw": total, "fTsumw2": float(sumw2.sum())}
    centres = [0.5 * (np.asarray(a.edges[1:]) + np.asarray(a.edges[:-1])) for a in axes]
    mesh = np.meshgrid(*centres, indexing="ij")
    moments = {
        "fTsumwx": float((content * mesh[0]).sum()),
        "fTsumwx2": float((content * mesh[0] ** 2).sum()),
        "fTsumwy": float((content * mesh[1]).sum()),
        "fTsumwy2": float((content * mesh[1] ** 2).sum()),
        "fTsumwxy": float((content * mesh[0] * mesh[1]).sum()),
    }
    if len(axes) == 2:
        return identify.to_TH2x(name, title, flat, fSumw2=flat_w2, fXaxis=taxes[0], fYaxis=taxes[1], **sums, **moments)
    if len(axes) == 3:
        z = {
            "fTsumwz": float((content * mesh[2]).sum()),
            "fTsumwz2": float((content * mesh[2] ** 2).sum()),
            "fTsumwxz": float((content * mesh[0] * mesh[2]).sum()),
            "fTsumwyz": float((content * mesh[1] * mesh[2]).sum()),
        }
        return identify.to_TH3x(
            name, title, flat, fSumw2=flat_w2, fXaxis=taxes[0], fYaxis=taxes[1], fZaxis=taxes[2], **sums, **moments, **z
        )
    msg = f"ROOT templates need 2 or 3 axes, got {len(axes)} ({[a.name for a in axes]})"
    raise ConfigurationError(msg)


def write_templates(
    templates: Templates | Sequence[Templates],
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    hypothesis: str | None = None,
) -> Path:
    """Write every sample's nominal and +-1 sigma templates, and the data, of one or more channels to a ROOT file.

    Args:
        templates: one :class:`~cevns_hf.templates.histograms.Templates` per channel.
        path: the ROOT file (written through a temporary file and a rename: complete or absent).
        overwrite: replace an existing file (or symlink).
        hypothesis: the hypothesis of the templates, recorded in the titles and the manifest.

    Returns:
        The path written.
    """
    uproot = _uproot()
    channels = [templates] if isinstance(templates, Templates) else list(templates)
    label = hypothesis or "SM"
    manifest: dict[str, Any] = {"writer": f"cevns_hf {__version__}", "hypothesis": label, "channels": {}}
    with atomic_output(path, overwrite=overwrite) as tmp, uproot.recreate(tmp) as out:
        for tmpl in channels:
            ch = tmpl.experiment
            entry: dict[str, Any] = {
                "axes": [{"name": a.name, "unit": a.unit, "edges": list(a.edges)} for a in tmpl.axes],
                "data": histogram_name(ch, "data"),
                "samples": {},
            }
            observed = np.asarray(tmpl.observed, dtype=float)
            out[entry["data"]] = _th(uproot, "data", f"{ch}: observed counts", tmpl.axes, observed, observed)
            for sample in tmpl.samples:
                zero = np.zeros_like(np.asarray(sample.nominal, dtype=float))
                name = histogram_name(ch, sample.name)
                title = f"{ch}: {sample.name} expected events ({label}, nominal)"
                out[name] = _th(uproot, sample.name, title, tmpl.axes, sample.nominal, zero)
                systematics = {}
                nominal = np.asarray(sample.nominal, dtype=float)
                for v in variations(sample):
                    names: dict[str, Any] = {}
                    if v.kind == "normsys":  # OverallSys: the factors, and the histograms they give
                        names["factors"] = [float(v.hi), float(v.lo)]
                        pair = (nominal * v.hi, nominal * v.lo)
                    else:
                        pair = (v.hi, v.lo)
                    for direction, hist in zip(("up", "down"), pair, strict=True):
                        hname = histogram_name(ch, sample.name, v.name, direction)
                        sigma = "+1" if direction == "up" else "-1"
                        htitle = f"{ch}: {sample.name} at {v.name} = {sigma} sigma ({v.kind}; {label})"
                        out[hname] = _th(uproot, hname.split("/")[-1], htitle, tmpl.axes, hist, zero)
                        names[direction] = hname
                    systematics[v.name] = {"kind": v.kind, **names}
                entry["samples"][sample.name] = {"nominal": name, "systematics": systematics}
            manifest["channels"][ch] = entry
        out["manifest"] = json.dumps(manifest, sort_keys=True)
    return Path(path)


def read_histograms(path: str | os.PathLike[str]) -> dict[str, FloatArray]:
    """Every histogram of a ROOT file as its bin contents, keyed by path (``channel/sample``)."""
    uproot = _uproot()
    try:
        with uproot.open(path) as f:
            out: dict[str, FloatArray] = {}
            for key, classname in f.classnames(cycle=False).items():
                if classname.startswith("TH"):
                    out[key] = np.asarray(f[key].values(), dtype=float)
            return out
    except (OSError, ValueError, KeyError) as err:
        msg = f"cannot read histograms from {str(path)!r}: {err}"
        raise DataError(msg) from err


def read_template(path: str | os.PathLike[str], key: str, axes: Sequence[Axis]) -> FloatArray:
    """Bin contents of histogram ``key`` of a ROOT file, checked against a channel's binning.

    Args:
        path: the ROOT file.
        key: the histogram's path inside the file (e.g. ``csi2021/ssb`` or ``h_ssb``).
        axes: the channel's axes; the histogram must have as many axes, with the same edges (to 1e-9).

    Returns:
        The contents, shaped as the channel's histograms.

    Raises:
        DataError: unreadable file, missing or non-histogram key.
        ConfigurationError: different dimensions or bin edges (the message gives both).
    """
    uproot = _uproot()
    try:
        with uproot.open(path) as f:
            if key not in f:
                available = sorted(k for k, c in f.classnames(cycle=False).items() if c.startswith("TH"))
                msg = f"{str(path)!r} has no histogram {key!r}; histograms in the file: {available}"
                raise DataError(msg)
            hist = f[key]
            values = np.asarray(hist.values(), dtype=float)
            edges = [np.asarray(hist.axis(k).edges(), dtype=float) for k in range(values.ndim)]
    except (OSError, ValueError) as err:
        msg = f"cannot read {key!r} from {str(path)!r}: {err}"
        raise DataError(msg) from err
    want = [np.asarray(a.edges, dtype=float) for a in axes]
    same = len(edges) == len(want) and all(
        e.shape == w.shape and np.allclose(e, w, atol=1e-9) for e, w in zip(edges, want, strict=False)
    )
    if not same:
        got = [list(map(float, e)) for e in edges]
        expected = {a.name: list(a.edges) for a in axes}
        msg = f"{path!s}:{key} has bin edges {got}; the channel's are {expected}"
        raise ConfigurationError(msg)
    return values


def write_histogram(
    path: str | os.PathLike[str],
    key: str,
    title: str,
    axes: Sequence[Axis],
    values: FloatArray,
    variances: FloatArray,
    *,
    overwrite: bool = False,
) -> Path:
    """Write one histogram with the channel's axes to a new ROOT file (complete or absent; mode from the umask)."""
    uproot = _uproot()
    with atomic_output(path, overwrite=overwrite) as tmp, uproot.recreate(tmp) as out:
        out[key] = _th(uproot, key.rsplit("/", maxsplit=1)[-1], title, axes, values, variances)
    return Path(path)
