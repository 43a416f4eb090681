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

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis, LinearPOI
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.templates.histograms import Sample, Templates
from cevns_hf.workspace.build import build_workspace

__all__ = [
    "BSM_POI",
    "BSM_SOURCES",
    "MIN_SIGNAL_EVENTS",
    "Experiments",
    "LinearWorkspace",
    "UninformativeHypothesisError",
    "bsm_samples",
    "check_informative",
    "hypothesis_workspace",
    "linear_workspace",
    "mu_bsm_upper_bound",
    "templates_of",
    "with_samples",
]


def __dir__() -> list[str]:
    return __all__


#: Name of the POI scaling the BSM change.
BSM_POI = "mu_bsm"
#: The hypothesis-dependent samples whose change a BSM workspace carries.
BSM_SOURCES = ("cevns", "es")


def bsm_samples(sm: Templates, hypothesis: Templates) -> list[Sample]:
    """The BSM change of the neutrino samples (``bsm_cevns``, ``bsm_es``); identically zero ones dropped."""
    out = []
    for name in BSM_SOURCES:
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


def with_samples(tmpl: Templates, extra: Sequence[Sample]) -> Templates:
    """``tmpl`` with ``extra`` samples appended."""
    return replace(tmpl, samples=(*tmpl.samples, *extra))


def templates_of(
    experiments: Sequence[Detector], model: PhysicsModel | None, *, without_es: bool = False
) -> list[Templates]:
    """Templates of each detector at a hypothesis (the SM for ``None``), without the ES sample if asked."""
    drop = ("es",) if without_es else ()
    return [d.templates(model).without(drop) for d in experiments]


#: A BSM workspace whose BSM change is below this many events in every channel tests nothing.
MIN_SIGNAL_EVENTS = 1e-3


def check_informative(hypothesis: Hypothesis, deltas: Sequence[Sequence[Sample]], names: Sequence[str]) -> None:
    """Refuse a BSM change too small to test: sum_bins |Delta| below :data:`MIN_SIGNAL_EVENTS` everywhere.

    pyhf's CLs of such a workspace is 1 whatever the data: it would look like a test and mean nothing.
    """
    largest = max((float(np.sum(np.abs(s.nominal))) for ch in deltas for s in ch), default=0.0)
    if largest < MIN_SIGNAL_EVENTS:
        msg = (
            f"{hypothesis} changes the predicted events of {'+'.join(names)} by {largest:.3g} at most "
            f"(sum over bins of |BSM - SM|), below {MIN_SIGNAL_EVENTS:g} event: a workspace testing it would be "
            "uninformative (CLs = 1 whatever the data); choose a hypothesis farther from the Standard Model"
        )
        raise UninformativeHypothesisError(msg)


class UninformativeHypothesisError(ConfigurationError):
    """A hypothesis whose BSM change is too small for a workspace to test it."""


#: Experiments as the public functions accept them: ``"csi2021+lar2020"``, a Detector, or a sequence of those.
Experiments = str | Detector | Sequence[str | Detector]


def hypothesis_workspace(
    experiments: Experiments, hypothesis: Hypothesis, *, without_es: bool = False, linear_norms: bool = False
) -> dict[str, Any]:
    """Workspace testing ``hypothesis``: SM background plus the BSM change with POI ``mu_bsm``.

    Args:
        experiments: the channels (names or detectors).
        hypothesis: the BSM hypothesis (not the SM).
        without_es: leave neutrino-electron scattering out of every channel (background and BSM change).
        linear_norms: normalisations as the exact linear mirror (symmetric histosys with bounds) instead of
            normsys (:mod:`cevns_hf.workspace.modifiers`).

    Raises:
        UninformativeHypothesisError: the BSM change is below :data:`MIN_SIGNAL_EVENTS` events.
    """
    dets = detectors.resolve(experiments)
    if hypothesis.is_sm:
        msg = f"{hypothesis} is the Standard Model: there is no BSM change to test; give a non-zero coupling"
        raise ConfigurationError(msg)
    sm = templates_of(dets, None, without_es=without_es)
    hyp = templates_of(dets, hypothesis.model(), without_es=without_es)
    deltas = [bsm_samples(a, b) for a, b in zip(sm, hyp, strict=True)]
    check_informative(hypothesis, deltas, [d.name for d in dets])
    upper = mu_bsm_upper_bound(sm, deltas)
    full = [with_samples(t, d) for t, d in zip(sm, deltas, strict=True)]
    factors = {f"bsm_{n}": BSM_POI for n in BSM_SOURCES}
    name = "bsm_" + "+".join(d.name for d in dets)
    return build_workspace(
        full, measurement=name, poi=BSM_POI, normfactors=factors, poi_bounds=(0.0, upper), linear_norms=linear_norms
    )


@dataclass(frozen=True)
class LinearWorkspace:
    """A linear-POI workspace and the meaning of its POI: X = poi_value * scale [unit]."""

    spec: dict[str, Any]
    poi: str
    unit: str
    scale: float
    reference: Hypothesis


def linear_workspace(
    experiments: Experiments, hypothesis: Hypothesis, poi: str, *, without_es: bool = False, linear_norms: bool = False
) -> LinearWorkspace:
    """Workspace whose POI is the quantity X of the family's :class:`LinearPOI` named ``poi``.

    The reference hypothesis gives Delta(X_ref); the BSM samples carry Delta / (X_ref / scale) and the POI
    is X / scale, with the scale the quantity declares (:attr:`LinearPOI.scale`: one POI unit per quantity).
    ``linear_norms`` as in :func:`hypothesis_workspace`.
    """
    dets = detectors.resolve(experiments)
    family = hypothesis.family
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
    scale = linear.scale  # one POI unit per quantity, whatever the reference point
    sm = templates_of(dets, None, without_es=without_es)
    hyp = templates_of(dets, hypothesis.model(), without_es=without_es)
    check_informative(hypothesis, [bsm_samples(a, b) for a, b in zip(sm, hyp, strict=True)], [d.name for d in dets])
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
    full = [with_samples(t, d) for t, d in zip(sm, deltas, strict=True)]
    factors = {f"bsm_{n}": poi for n in BSM_SOURCES}
    spec = build_workspace(
        full,
        measurement=f"{poi}_" + "+".join(d.name for d in dets),
        poi=poi,
        normfactors=factors,
        poi_bounds=(0.0, upper),
        linear_norms=linear_norms,
    )
    return LinearWorkspace(spec, poi, linear.poi_unit, scale, hypothesis)
