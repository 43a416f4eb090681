"""HistFactory JSON workspaces (pyhf schema 1.0.0) from templates.

Modelling choices (see ``docs/model.md`` for the full mapping table):
    * The POI ``mu_cevns`` is a normfactor on every CEvNS sample (shared across channels).
    * The nuisances become modifiers by the one rule of :mod:`cevns_hf.workspace.modifiers`: a normalisation
      (1 + sigma theta) of the reference chi-squares is a normsys with factors 1 +- sigma (HistFactory's
      OverallSys, pyhf's code4) by default; with ``linear_norms=True`` it is the exact linear mirror, a
      *symmetric* histosys with hi/lo = nominal (1 +- sigma) (code4p, exactly linear, ``pyhf-notes.md``).
    * Shape systematics are histosys with the +-1 sigma templates (code4p: piecewise linear beyond
      |theta| = 1, smoothed inside).
    * pyhf adds all histosys deltas of a sample and multiplies by the normsys factors and the normfactor:
      mu prod_k f_k(theta_k) (N0 + sum_j Delta_j(theta_j)); the reference chi-square multiplies a linear
      normalisation and the shapes, (1 + a0 + a5) N(a4, a6, a7). The linear mirror is compared with it in
      ``tests/reference/test_reference_chi2.py``; normsys and the mirror are compared in ``docs/model.md``.
    * Default workspaces need no parameter bounds beyond pyhf's defaults (normsys factors are positive);
      the linear mirror bounds linearly normalised nuisances so that every yield stays non-negative,
      theta >= -1/sigma (bounds that ``pyhf json2xml`` does not keep).
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


def sample_spec(sample: Sample, normfactor: str | None = None, *, linear_norms: bool = False) -> dict[str, Any]:
    """The pyhf JSON of one sample, its nuisances turned into modifiers by :mod:`cevns_hf.workspace.modifiers`.

    Args:
        sample: the sample.
        normfactor: name of the normfactor scaling it (None: none).
        linear_norms: normalisations as symmetric histosys (the linear mirror) instead of normsys.
    """
    nominal = np.asarray(sample.nominal, dtype=float)
    modifiers: list[dict[str, Any]] = []
    if normfactor is not None:
        modifiers.append({"name": normfactor, "type": "normfactor", "data": None})
    modifiers += [modifier_spec(v) for v in variations(sample, linear_norms=linear_norms)]
    return {"name": sample.name, "data": _values(nominal), "modifiers": modifiers}


def build_workspace(
    templates: Sequence[Templates],
    *,
    measurement: str | None = None,
    poi: str = POI,
    normfactors: Mapping[str, str] | None = None,
    poi_bounds: tuple[float, float] = (0.0, 10.0),
    poi_init: float = 1.0,
    linear_norms: bool = False,
) -> dict[str, Any]:
    """A pyhf workspace specification with one channel per experiment.

    Args:
        templates: one :class:`Templates` per experiment (channel names are the experiment names).
        measurement: name of the measurement (default ``"cevns_" + "+".join(experiments)``).
        poi: name of the parameter of interest.
        normfactors: sample name -> normfactor name (default: ``{"cevns": "mu_cevns"}``).
        poi_bounds: bounds of the POI.
        poi_init: initial value of the POI.
        linear_norms: normalisations as symmetric histosys with bounds (the exact linear mirror of the reference
            chi-squares) instead of normsys (the default).

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
        samples = [sample_spec(s, factors.get(s.name), linear_norms=linear_norms) for s in tmpl.samples]
        channels.append({"name": tmpl.experiment, "samples": samples})
        observations.append({"name": tmpl.experiment, "data": _values(tmpl.observed)})
    parameters: list[dict[str, Any]] = [{"name": poi, "bounds": [list(poi_bounds)], "inits": [poi_init]}]
    for name, (lo, hi) in sorted(nuisance_bounds(templates, linear_norms=linear_norms).items()):
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
