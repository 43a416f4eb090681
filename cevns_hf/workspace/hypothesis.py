"""Workspaces for BSM hypotheses, linear-POI workspaces and PatchSets for hypothesis grids.

* Hypothesis workspace: the SM model of each experiment is the background; the BSM change of the CEvNS
  (and ES) templates, Delta = T(hypothesis) - T(SM), is a sample ``bsm_cevns`` (``bsm_es``) carrying the
  SM sample's normalisation nuisances and its shape systematics re-derived for the hypothesis
  (Delta_up = T_up(hyp) - T_up(SM)). POI ``mu_bsm`` scales Delta: mu_bsm = 1 is the hypothesis, 0 the SM.
  Its upper bound keeps every bin's total non-negative: mu_max = min over bins with Delta < 0 of
  B / |Delta| (B: the other samples), which is >= 1 because B + Delta >= 0 there.
* Linear-POI workspace: where the rate change is linear in a quantity X (|mu_nu|^2, |eps_ab|^2,
  sin^2(2 theta) at fixed dm41^2 ...), Delta(X_ref) / X_ref * X, with X the POI in units of ``scale``.
* PatchSet (the HEPData convention): a background-only workspace with a zero-valued BSM sample (so that
  ``pyhf cls`` / ``pyhf fit`` work on it) and one JSONPatch per grid point replacing that sample.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyhf

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis, LinearPOI, get_family
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.templates.histograms import Sample, Templates
from cevns_hf.workspace.build import build_workspace, sample_spec

__all__ = [
    "BSM_POI",
    "HEPDATA_PLACEHOLDER",
    "LinearWorkspace",
    "bsm_samples",
    "build_patchset",
    "grid_points",
    "hypothesis_workspace",
    "linear_workspace",
    "mu_bsm_upper_bound",
    "patch_name",
]


def __dir__() -> list[str]:
    return __all__


#: Name of the POI scaling the BSM change.
BSM_POI = "mu_bsm"
#: The PatchSet schema requires an INSPIRE id of the form ins + 7 digits; these grids have no HEPData
#: record, so the all-zero id marks that (documented in the patchset description).
HEPDATA_PLACEHOLDER = "ins0000000"
_BSM_SOURCES = ("cevns", "es")


def bsm_samples(sm: Templates, hypothesis: Templates) -> list[Sample]:
    """The BSM change of the neutrino samples (``bsm_cevns``, ``bsm_es``); identically zero ones dropped."""
    out = []
    for name in _BSM_SOURCES:
        if name not in sm.sample_names:
            continue
        s0, s1 = sm.sample(name), hypothesis.sample(name)
        delta = s1.nominal - s0.nominal
        if not np.any(delta):
            continue
        shapes = {k: (s1.shapes[k][0] - up, s1.shapes[k][1] - down) for k, (up, down) in s0.shapes.items()}
        out.append(Sample(f"bsm_{name}", delta, dict(s0.norms), shapes))
    return out


def mu_bsm_upper_bound(templates: Sequence[Templates], deltas: Sequence[Sequence[Sample]], cap: float = 10.0) -> float:
    """Largest mu_bsm keeping every bin's nominal total >= 0 (at most ``cap``)."""
    bound = cap
    for tmpl, samples in zip(templates, deltas, strict=True):
        if not samples:
            continue
        background = np.sum([s.nominal for s in tmpl.samples if not s.name.startswith("bsm_")], axis=0)
        delta = np.sum([s.nominal for s in samples], axis=0)
        negative = delta < 0
        if np.any(negative):
            bound = min(bound, float(np.min(background[negative] / -delta[negative])))
    return bound


def _with_samples(tmpl: Templates, extra: Sequence[Sample]) -> Templates:
    return replace(tmpl, samples=(*tmpl.samples, *extra))


def _templates(experiments: Sequence[str], model: PhysicsModel | None) -> list[Templates]:
    return [detectors.templates(e, model) for e in experiments]


def hypothesis_workspace(experiments: Sequence[str], hypothesis: Hypothesis) -> dict[str, Any]:
    """Workspace testing ``hypothesis``: SM background plus the BSM change with POI ``mu_bsm``."""
    if hypothesis.is_sm:
        msg = f"{hypothesis} is the Standard Model: there is no BSM change to test; give a non-zero coupling"
        raise ConfigurationError(msg)
    sm = _templates(experiments, None)
    hyp = _templates(experiments, hypothesis.model())
    deltas = [bsm_samples(a, b) for a, b in zip(sm, hyp, strict=True)]
    if not any(deltas):
        msg = f"{hypothesis} does not change any template of {list(experiments)}"
        raise ConfigurationError(msg)
    upper = mu_bsm_upper_bound(sm, deltas)
    full = [_with_samples(t, d) for t, d in zip(sm, deltas, strict=True)]
    factors = {f"bsm_{n}": BSM_POI for n in _BSM_SOURCES}
    name = "bsm_" + "+".join(experiments)
    return build_workspace(full, measurement=name, poi=BSM_POI, normfactors=factors, poi_bounds=(0.0, upper))


@dataclass(frozen=True)
class LinearWorkspace:
    """A linear-POI workspace and the meaning of its POI: X = poi_value * scale [unit]."""

    spec: dict[str, Any]
    poi: str
    unit: str
    scale: float
    reference: Hypothesis


def linear_workspace(experiments: Sequence[str], hypothesis: Hypothesis, poi: str) -> LinearWorkspace:
    """Workspace whose POI is the quantity X of the family's :class:`LinearPOI` named ``poi``.

    The reference hypothesis gives Delta(X_ref); the BSM samples carry Delta / (X_ref / scale) and the POI
    is X / scale, with scale the power of ten nearest to X_ref (so the POI is of order one).
    """
    family = get_family(hypothesis.family)
    linear: LinearPOI | None = next((lp for lp in family.linear_pois if lp.name == poi), None)
    if linear is None:
        valid = [lp.name for lp in family.linear_pois] or "none"
        msg = f"family {family.name!r} has no linear POI {poi!r}; valid choices: {valid}"
        raise ConfigurationError(msg)
    params = hypothesis.parameters
    x_ref = float(linear.to_poi(params[linear.parameter]))
    if not x_ref > 0:
        msg = f"the reference hypothesis must set {linear.parameter} != SM so that {poi} > 0, got {hypothesis}"
        raise ConfigurationError(msg)
    others = {k: v for k, v in hypothesis.values if k != linear.parameter and k not in linear.fixed}
    if any(v != family.parameter(k).sm for k, v in others.items()):
        msg = f"{poi} is linear only with the other couplings at their SM values; got {hypothesis}"
        raise ConfigurationError(msg)
    scale = 10.0 ** math.floor(math.log10(x_ref))
    sm = _templates(experiments, None)
    hyp = _templates(experiments, hypothesis.model())
    factor = scale / x_ref
    deltas = [
        [
            Sample(
                s.name,
                s.nominal * factor,
                s.norms,
                {k: (u * factor, d * factor) for k, (u, d) in s.shapes.items()},
            )
            for s in bsm_samples(a, b)
        ]
        for a, b in zip(sm, hyp, strict=True)
    ]
    upper = mu_bsm_upper_bound(sm, deltas, cap=100.0 * x_ref / scale)
    full = [_with_samples(t, d) for t, d in zip(sm, deltas, strict=True)]
    factors = {f"bsm_{n}": poi for n in _BSM_SOURCES}
    spec = build_workspace(
        full, measurement=f"{poi}_" + "+".join(experiments), poi=poi, normfactors=factors, poi_bounds=(0.0, upper)
    )
    return LinearWorkspace(spec, poi, f"{scale:g} {linear.unit}".strip(), scale, hypothesis)


def grid_points(grid: Mapping[str, Sequence[float]]) -> list[dict[str, float]]:
    """All combinations of the grid axes (last axis fastest)."""
    names = list(grid)
    mesh = np.meshgrid(*[np.asarray(grid[n], dtype=float) for n in names], indexing="ij")
    flat = [m.ravel() for m in mesh]
    return [{n: float(f[i]) for n, f in zip(names, flat, strict=True)} for i in range(flat[0].size if flat else 0)]


def patch_name(point: Mapping[str, float]) -> str:
    """A patch name matching ``^[a-zA-Z0-9_]+$``: ``name_value`` pairs, '.' -> 'p', '-' -> 'm'."""
    parts = []
    for name, value in point.items():
        text = f"{value:.6g}".replace("+", "").replace("-", "m").replace(".", "p")
        parts.append(f"{name}_{text}")
    return re.sub(r"[^a-zA-Z0-9_]", "_", "_".join(parts))


def build_patchset(
    experiments: Sequence[str],
    family_name: str,
    grid: Mapping[str, Sequence[float]],
    *,
    fixed: Mapping[str, float] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Background-only workspace and PatchSet for a grid of one family's hypotheses.

    Args:
        experiments: channels.
        family_name: the BSM family.
        grid: parameter name -> values; every combination is a patch.
        fixed: other parameters held at given values at every point.

    Returns:
        (background-only workspace, patchset) as dicts; the patchset verifies against the workspace.
    """
    family = get_family(family_name)
    if not grid:
        msg = "the grid needs at least one parameter (--grid name=lo:hi:n)"
        raise ConfigurationError(msg)
    points = grid_points(grid)
    sm = _templates(experiments, None)
    per_point: list[list[list[Sample]]] = []
    for point in points:
        hypothesis = Hypothesis.from_mapping(family.name, {**(fixed or {}), **point})
        hyp = _templates(experiments, hypothesis.model())
        per_point.append([bsm_samples(a, b) for a, b in zip(sm, hyp, strict=True)])
    # the background-only workspace has every BSM sample any point needs, with zero content
    present = [
        [n for n in _BSM_SOURCES if any(f"bsm_{n}" in {s.name for s in pp[c]} for pp in per_point)]
        for c in range(len(experiments))
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
    full = [_with_samples(t, z) for t, z in zip(sm, zero, strict=True)]
    factors = {f"bsm_{n}": BSM_POI for n in _BSM_SOURCES}
    bkg = build_workspace(
        full, measurement="bsm_" + "+".join(experiments), poi=BSM_POI, normfactors=factors, poi_bounds=(0.0, upper)
    )
    patches = []
    for point, pp in zip(points, per_point, strict=True):
        ops = []
        for c, tmpl in enumerate(full):
            by_name = {s.name: s for s in pp[c]}
            for j, sample in enumerate(tmpl.samples):
                if sample.name in by_name:
                    value = sample_spec(by_name[sample.name], BSM_POI)
                    ops.append({"op": "replace", "path": f"/channels/{c}/samples/{j}", "value": value})
        patches.append({"metadata": {"name": patch_name(point), "values": list(point.values())}, "patch": ops})
    patchset = {
        "metadata": {
            "description": (
                f"cevns_hf {family.name} grid over {', '.join(grid)} for {'+'.join(experiments)}; POI mu_bsm "
                f"(1 = the hypothesis). No HEPData record: references.hepdata is the placeholder {HEPDATA_PLACEHOLDER}."
            ),
            "digests": {"sha256": pyhf.utils.digest(bkg, algorithm="sha256")},
            "labels": list(grid),
            "references": {"hepdata": HEPDATA_PLACEHOLDER},
            "family": family.name,
            "fixed": dict(fixed or {}),
        },
        "patches": patches,
        "version": "1.0.0",
    }
    ps = pyhf.PatchSet(patchset)
    ps.verify(pyhf.Workspace(bkg))
    return bkg, patchset
