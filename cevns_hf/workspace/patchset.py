"""PatchSets: a grid of one family's hypotheses as a background-only workspace plus one patch per point.

The HEPData layout (``BkgOnly.json`` + ``patchset.json``, pyhf PatchSet schema 1.0.0): the background-only
workspace carries every BSM sample any point needs with zero content, and each patch replaces them with
the point's BSM change (POI ``mu_bsm``, 1 = the hypothesis). ``pyhf patchset verify`` and
``pyhf cls -p <(pyhf patchset extract ...)`` work on the result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyhf

from cevns_hf import detectors
from cevns_hf.bsm.family import Family, Hypothesis, resolve_family
from cevns_hf.bsm.grid import check_grid
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.templates.histograms import Sample
from cevns_hf.workspace.build import build_workspace, sample_spec
from cevns_hf.workspace.hypothesis import (
    BSM_POI,
    BSM_SOURCES,
    Experiments,
    bsm_samples,
    mu_bsm_upper_bound,
    templates_of,
    with_samples,
)

__all__ = ["HEPDATA_PLACEHOLDER", "build_patchset", "grid_points", "patch_name", "patch_names"]


def __dir__() -> list[str]:
    return __all__


#: The PatchSet schema requires an INSPIRE id of the form ins + 7 digits; these grids have no HEPData
#: record, so the all-zero id marks that (documented in the patchset description).
HEPDATA_PLACEHOLDER = "ins0000000"


def grid_points(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """All combinations of the grid axes (last axis fastest)."""
    names = list(grid)
    mesh = np.meshgrid(*[np.asarray(grid[n], dtype=float) for n in names], indexing="ij")
    flat = [m.ravel() for m in mesh]
    return [{n: float(f[i]) for n, f in zip(names, flat, strict=True)} for i in range(flat[0].size if flat else 0)]


def patch_name(point: Mapping[str, float], *, digits: int = 6) -> str:
    """A patch name matching ``^[a-zA-Z0-9_]+$``: ``name_value`` pairs, '.' -> 'p', '-' -> 'm'.

    Values are written with ``digits`` significant digits (17 distinguishes every pair of doubles); see
    :func:`patch_names` for the names of a whole grid, unique by construction.
    """
    parts = []
    for name, value in point.items():
        text = f"{float(value):.{digits}g}".replace("+", "").replace("-", "m").replace(".", "p")
        parts.append(f"{name}_{text}")
    return re.sub(r"[^a-zA-Z0-9_]", "_", "_".join(parts))


def patch_names(points: Sequence[Mapping[str, float]]) -> list[str]:
    """Unique patch names for the points of a grid: the fewest significant digits (6 to 17) that tell every
    point apart, then an index suffix for points that are equal (a grid with repeated values).

    Example:
        >>> patch_names([{"x": 1.0}, {"x": 1.0000001}])
        ['x_1', 'x_1p0000001']
    """
    names: list[str] = []
    for digits in range(6, 18):
        names = [patch_name(p, digits=digits) for p in points]
        if len(set(names)) == len(names):
            return names
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        seen[name] = count + 1
        out.append(name if count == 0 else f"{name}_{count}")
    while len(set(out)) != len(out):  # pragma: no cover - a suffixed name equal to another point's name
        out = [f"{n}_i{i}" for i, n in enumerate(names)]
    return out


def build_patchset(
    experiments: Experiments,
    family: str | Family,
    grid: Mapping[str, Sequence[float]],
    *,
    fixed: Mapping[str, float] | None = None,
    without_es: bool = False,
    hepdata_record: str | None = None,
    linear_norms: bool = False,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Background-only workspace and PatchSet for a grid of one family's hypotheses.

    Args:
        experiments: channels (names or :class:`~cevns_hf.detectors.base.Detector` objects).
        family: the BSM family (object or registered name).
        grid: parameter name -> values; every combination is a patch.
        fixed: other parameters held at given values at every point.
        without_es: leave neutrino-electron scattering out (background-only workspace and every patch).
        hepdata_record: the INSPIRE id of the HEPData record the patchset belongs to (``ins`` + 7 digits);
            None writes the placeholder :data:`HEPDATA_PLACEHOLDER` and says so in the description.
        linear_norms: normalisations as the exact linear mirror (symmetric histosys with bounds) instead of
            normsys (:mod:`cevns_hf.workspace.modifiers`).

    Returns:
        (background-only workspace, patchset) as dicts; the patchset verifies against the workspace.
    """
    record = HEPDATA_PLACEHOLDER if hepdata_record is None else str(hepdata_record)
    if not re.fullmatch(r"ins[0-9]{7}", record):
        msg = f"a HEPData record is 'ins' followed by 7 digits (INSPIRE id), e.g. ins2107613; got {record!r}"
        raise ConfigurationError(msg)
    dets = detectors.resolve(experiments)
    family = resolve_family(family)
    check_grid(family, grid, fixed=fixed)
    points = grid_points(grid)
    sm = templates_of(dets, None, without_es=without_es)
    per_point: list[list[list[Sample]]] = []
    for point in points:
        hypothesis = Hypothesis.from_mapping(family, {**(fixed or {}), **point})
        hyp = templates_of(dets, hypothesis.model(), without_es=without_es)
        per_point.append([bsm_samples(a, b) for a, b in zip(sm, hyp, strict=True)])
    # the background-only workspace has every BSM sample any point needs, with zero content
    present = [
        [n for n in BSM_SOURCES if any(f"bsm_{n}" in {s.name for s in pp[c]} for pp in per_point)]
        for c in range(len(dets))
    ]
    for c, names in enumerate(present):
        if not names and "cevns" in sm[c].sample_names:
            present[c] = ["cevns"]
    zero: list[list[Sample]] = []
    for c, tmpl in enumerate(sm):
        zero.append(
            [
                Sample(
                    f"bsm_{n}",
                    np.zeros_like(tmpl.sample(n).nominal),
                    tmpl.sample(n).norms,
                    {k: (np.zeros_like(u), np.zeros_like(u)) for k, (u, _) in tmpl.sample(n).shapes.items()},
                )
                for n in present[c]
            ]
        )
    upper = min(mu_bsm_upper_bound(sm, pp) for pp in per_point)
    full = [with_samples(t, z) for t, z in zip(sm, zero, strict=True)]
    factors = {f"bsm_{n}": BSM_POI for n in BSM_SOURCES}
    bkg = build_workspace(
        full,
        measurement="bsm_" + "+".join(d.name for d in dets),
        poi=BSM_POI,
        normfactors=factors,
        poi_bounds=(0.0, upper),
        linear_norms=linear_norms,
    )
    patches = []
    for point, pp, name in zip(points, per_point, patch_names(points), strict=True):
        ops = []
        for c, tmpl in enumerate(full):
            by_name = {s.name: s for s in pp[c]}
            for j, sample in enumerate(tmpl.samples):
                if sample.name in by_name:
                    value = sample_spec(by_name[sample.name], BSM_POI, linear_norms=linear_norms)
                    ops.append({"op": "replace", "path": f"/channels/{c}/samples/{j}", "value": value})
        patches.append({"metadata": {"name": name, "values": list(point.values())}, "patch": ops})
    patchset = {
        "metadata": {
            "description": (
                f"cevns_hf {family.name} grid over {', '.join(grid)} for {'+'.join(d.name for d in dets)}; POI mu_bsm "
                "(1 = the hypothesis). "
                + (
                    f"HEPData record {record}."
                    if hepdata_record
                    else f"No HEPData record: references.hepdata is the placeholder {HEPDATA_PLACEHOLDER}."
                )
            ),
            "digests": {"sha256": pyhf.utils.digest(bkg, algorithm="sha256")},
            "labels": list(grid),
            "references": {"hepdata": record},
            "family": family.name,
            "fixed": dict(fixed or {}),
            "without_es": without_es,
            "linear_norms": linear_norms,
        },
        "patches": patches,
        "version": "1.0.0",
    }
    ps = pyhf.PatchSet(patchset)
    ps.verify(pyhf.Workspace(bkg))
    return bkg, patchset
