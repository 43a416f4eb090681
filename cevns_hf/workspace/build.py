"""HistFactory JSON workspaces (pyhf schema 1.0.0) from templates.

Modelling choices (see ``docs/model.md`` for the full mapping table):
    * The POI ``mu_cevns`` is a normfactor on every CEvNS sample (shared across channels).
    * A linear normalisation (1 + sigma theta) of the reference chi-squares is a *symmetric* histosys
      with hi/lo = nominal (1 +- sigma): pyhf's default code4p interpolation is then exactly linear
      (``pyhf-notes.md``), unlike normsys (exponential extrapolation).
    * Shape systematics are histosys with the +-1 sigma templates (code4p: piecewise linear beyond
      |theta| = 1, smoothed inside).
    * pyhf adds all histosys deltas of a sample and multiplies by the normfactor:
      mu (N0 + sum_k Delta_k(theta_k)); the reference chi-square multiplies normalisations and shapes,
      (1 + a0 + a5) N(a4, a6, a7), which differs at second order (a0 x Delta_4 ...). The difference is
      measured in ``tests/reference/test_reference_chi2.py``.
    * Lower bounds of linearly normalised nuisances keep every yield non-negative: theta >= -1/sigma.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyhf

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.templates.histograms import Sample, Templates
from cevns_hf.workspace.modifiers import modifier_spec, nuisance_bounds, variations

__all__ = ["POI", "build_workspace", "dumps", "nuisance_bounds", "sample_spec", "validate"]


def __dir__() -> list[str]:
    return __all__


#: Name of the parameter of interest: the common scale of all CEvNS samples.
POI = "mu_cevns"
_SIGNIFICANT = 12


def _values(hist: FloatArray) -> list[float]:
    """Flatten a histogram (C order) to JSON floats rounded to 12 significant digits (deterministic)."""
    return [float(f"{x:.{_SIGNIFICANT}g}") for x in np.asarray(hist, dtype=float).ravel()]


def sample_spec(sample: Sample, normfactor: str | None = None) -> dict[str, Any]:
    """The pyhf JSON of one sample, its nuisances turned into modifiers by :mod:`cevns_hf.workspace.modifiers`."""
    nominal = np.asarray(sample.nominal, dtype=float)
    modifiers: list[dict[str, Any]] = []
    if normfactor is not None:
        modifiers.append({"name": normfactor, "type": "normfactor", "data": None})
    modifiers += [modifier_spec(v) for v in variations(sample)]
    return {"name": sample.name, "data": _values(nominal), "modifiers": modifiers}


def build_workspace(
    templates: Sequence[Templates],
    *,
    measurement: str | None = None,
    poi: str = POI,
    normfactors: Mapping[str, str] | None = None,
    poi_bounds: tuple[float, float] = (0.0, 10.0),
    poi_init: float = 1.0,
) -> dict[str, Any]:
    """A pyhf workspace specification with one channel per experiment.

    Args:
        templates: one :class:`Templates` per experiment (channel names are the experiment names).
        measurement: name of the measurement (default ``"cevns_" + "+".join(experiments)``).
        poi: name of the parameter of interest.
        normfactors: sample name -> normfactor name (default: ``{"cevns": "mu_cevns"}``).
        poi_bounds: bounds of the POI.
        poi_init: initial value of the POI.

    Returns:
        The workspace as a plain dict, validated against the pyhf schema.
    """
    if not templates:
        msg = "build_workspace needs at least one experiment's templates"
        raise ConfigurationError(msg)
    names = [t.experiment for t in templates]
    if len(set(names)) != len(names):
        msg = f"each experiment may appear once, got {names}"
        raise ConfigurationError(msg)
    factors = dict(normfactors) if normfactors is not None else {"cevns": POI}
    channels, observations = [], []
    for tmpl in templates:
        samples = [sample_spec(s, factors.get(s.name)) for s in tmpl.samples]
        channels.append({"name": tmpl.experiment, "samples": samples})
        observations.append({"name": tmpl.experiment, "data": _values(tmpl.observed)})
    parameters: list[dict[str, Any]] = [{"name": poi, "bounds": [list(poi_bounds)], "inits": [poi_init]}]
    for name, (lo, hi) in sorted(nuisance_bounds(templates).items()):
        parameters.append({"name": name, "bounds": [[lo, hi]]})
    spec = {
        "channels": channels,
        "observations": observations,
        "measurements": [
            {"name": measurement or "cevns_" + "+".join(names), "config": {"poi": poi, "parameters": parameters}}
        ],
        "version": "1.0.0",
    }
    validate(spec)
    return spec


def validate(spec: dict[str, Any]) -> pyhf.Workspace:
    """Validate a workspace dict with pyhf (schema and model construction); return the Workspace."""
    try:
        ws = pyhf.Workspace(spec)
        ws.model()
    except pyhf.exceptions.InvalidSpecification as err:
        msg = f"invalid workspace: {err}"
        raise ConfigurationError(msg) from err
    return ws


def dumps(spec: dict[str, Any]) -> str:
    """Deterministic JSON text of a workspace (sorted keys, indent 4, trailing newline)."""
    return json.dumps(spec, sort_keys=True, indent=4) + "\n"
