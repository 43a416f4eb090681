"""Assembling the arrays of the likelihood engine (:mod:`cevns_hf.inference.likelihood`).

* :func:`from_templates` and :func:`hypothesis_batch`: from the templates (scans: the fixed samples once,
  the hypothesis-dependent samples of H hypotheses per batch, ``mu_bsm = 1`` folded in);
* :func:`from_workspace`: from a pyhf workspace spec as the project writes it (:mod:`cevns_hf.workspace.build`,
  :mod:`cevns_hf.workspace.hypothesis`): histosys modifiers (code4p) and the normfactor of the POI. Any
  other modifier (normsys, shapesys, staterror, lumi, shapefactor, a normfactor that is not the POI) or
  parameter setting (``fixed``, ``auxdata``, ``sigmas``) is refused with a :class:`ConfigurationError`,
  so that the engine never silently computes a different likelihood than pyhf.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.likelihood import DEFAULT_BOUNDS, Batch, Likelihood
from cevns_hf.templates.histograms import Sample, Templates
from cevns_hf.workspace.modifiers import nuisance_bounds, variations

__all__ = ["SUPPORTED_MODIFIERS", "from_templates", "from_workspace", "hypothesis_batch"]


def __dir__() -> list[str]:
    return __all__


#: Modifier types the engine reproduces exactly (the normfactor only as the POI).
SUPPORTED_MODIFIERS = ("histosys", "normfactor")
#: Measurement parameter settings the engine honours.
_PARAMETER_KEYS = {"name", "bounds", "inits"}
#: pyhf's default bounds of a normfactor.
_NORMFACTOR_BOUNDS = (0.0, 10.0)


def _deltas(sample: Sample, index: Mapping[str, int], n_k: int, shape: tuple[int, ...]) -> tuple[FloatArray, ...]:
    """(nominal, delta_up, delta_down) of one sample, flattened: (..., B) and (..., K, B)."""
    nominal = np.asarray(sample.nominal, dtype=float)
    lead = nominal.shape[: nominal.ndim - len(shape)]
    flat = nominal.reshape((*lead, -1))
    up = np.zeros((*lead, n_k, flat.shape[-1]))
    down = np.zeros_like(up)
    for v in variations(sample):  # the one nuisance -> histosys rule (cevns_hf.workspace.modifiers)
        up[..., index[v.name], :] += v.hi.reshape((*lead, -1)) - flat
        down[..., index[v.name], :] += flat - v.lo.reshape((*lead, -1))
    return flat, up, down


def from_templates(templates: Sequence[Templates], *, dynamic: Sequence[str], drop: Sequence[str] = ()) -> Likelihood:
    """The fixed part of the likelihood of the templates' channels (see :meth:`Likelihood.from_templates`)."""
    if not templates:
        msg = "the likelihood needs at least one channel"
        raise ConfigurationError(msg)
    kept = [
        Templates(t.experiment, t.axes, tuple(s for s in t.samples if s.name not in drop), t.observed)
        for t in templates
    ]
    names: set[str] = set()
    for tmpl in kept:
        for sample in tmpl.samples:
            names.update(sample.norms)
            names.update(sample.shapes)
    nuisances = tuple(sorted(names))
    index = {n: k for k, n in enumerate(nuisances)}
    bounds = nuisance_bounds(kept)
    lower = np.array([bounds.get(n, DEFAULT_BOUNDS)[0] for n in nuisances], dtype=float)
    upper = np.array([bounds.get(n, DEFAULT_BOUNDS)[1] for n in nuisances], dtype=float)
    observed, nominal, s, a = [], [], [], []
    for tmpl in kept:
        shape = tuple(np.shape(tmpl.observed))
        n_bins = math.prod(shape)
        nom = np.zeros(n_bins)
        up = np.zeros((len(nuisances), n_bins))
        down = np.zeros_like(up)
        for sample in tmpl.samples:
            if sample.name in dynamic:
                continue
            f, u, d = _deltas(sample, index, len(nuisances), shape)
            nom += f
            up += u
            down += d
        observed.append(np.asarray(tmpl.observed, dtype=float).ravel())
        nominal.append(nom)
        s.append(0.5 * (up + down))
        a.append(0.0625 * (up - down))
    obs = np.concatenate(observed)
    constant = 2.0 * float(np.sum(special.gammaln(obs + 1.0))) + len(nuisances) * math.log(2.0 * math.pi)
    return Likelihood(
        channels=tuple(t.experiment for t in kept),
        shapes=tuple(tuple(np.shape(t.observed)) for t in kept),
        nuisances=nuisances,
        lower=lower,
        upper=upper,
        observed=obs,
        nominal=np.concatenate(nominal),
        s=np.concatenate(s, axis=1),
        a=np.concatenate(a, axis=1),
        dynamic=tuple(tuple(s.name for s in t.samples if s.name in dynamic) for t in kept),
        constant=constant,
    )


def hypothesis_batch(lik: Likelihood, samples: Sequence[Sequence[Sample]], size: int | None = None) -> Batch:
    """The summed model of H hypotheses (see :meth:`Likelihood.batch`)."""
    if len(samples) != len(lik.channels):
        msg = f"expected samples for {len(lik.channels)} channels {list(lik.channels)}, got {len(samples)}"
        raise ConfigurationError(msg)
    index = {n: k for k, n in enumerate(lik.nuisances)}
    n_k = len(lik.nuisances)
    parts_nom, parts_up, parts_down = [], [], []
    h = size
    for channel, shape, wanted, given in zip(lik.channels, lik.shapes, lik.dynamic, samples, strict=True):
        by_name = {s.name: s for s in given}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            msg = f"channel {channel} needs the hypothesis-dependent samples {missing}"
            raise ConfigurationError(msg)
        n_bins = math.prod(shape)
        nom: FloatArray | None = None
        up: FloatArray | None = None
        down: FloatArray | None = None
        for name in wanted:
            unknown = sorted((set(by_name[name].norms) | set(by_name[name].shapes)) - set(index))
            if unknown:
                msg = f"sample {name} of {channel} has nuisances {unknown} unknown to the likelihood"
                raise ConfigurationError(msg)
            f, u, d = _deltas(by_name[name], index, n_k, shape)
            if f.ndim != 2 or f.shape[1] != n_bins:
                msg = f"sample {name} of {channel} must have shape (H, *{shape}), got {by_name[name].nominal.shape}"
                raise ConfigurationError(msg)
            nom = f if nom is None else nom + f
            up = u if up is None else up + u
            down = d if down is None else down + d
        if nom is not None:
            if h is None:
                h = nom.shape[0]
            elif nom.shape[0] != h:
                msg = f"all samples need the same number of hypotheses, got {nom.shape[0]} and {h}"
                raise ConfigurationError(msg)
        parts_nom.append((nom, n_bins))
        parts_up.append(up)
        parts_down.append(down)
    if h is None:
        msg = "no hypothesis-dependent sample given: pass size="
        raise ConfigurationError(msg)
    nominal = np.empty((h, lik.n_bins))
    up_all = np.empty((h, n_k, lik.n_bins))
    down_all = np.empty_like(up_all)
    start = 0
    for (nom, n_bins), up, down in zip(parts_nom, parts_up, parts_down, strict=True):
        cut = slice(start, start + n_bins)
        nominal[:, cut] = lik.nominal[cut] if nom is None else lik.nominal[cut] + nom
        fixed_up = lik.s[:, cut] + 8.0 * lik.a[:, cut]
        fixed_down = lik.s[:, cut] - 8.0 * lik.a[:, cut]
        up_all[:, :, cut] = fixed_up if up is None else fixed_up + up
        down_all[:, :, cut] = fixed_down if down is None else fixed_down + down
        start += n_bins
    return Batch(nominal, 0.5 * (up_all + down_all), 0.0625 * (up_all - down_all))


def _measurement(spec: Mapping[str, Any], name: str | None) -> Mapping[str, Any]:
    measurements = list(spec.get("measurements", []))
    if not measurements:
        msg = "the workspace has no measurement"
        raise ConfigurationError(msg)
    if name is None:
        return measurements[0]  # pyhf's default: the first measurement
    for meas in measurements:
        if meas["name"] == name:
            return meas
    msg = f"no measurement {name!r} in the workspace; valid choices: {[m['name'] for m in measurements]}"
    raise ConfigurationError(msg)


def _parameter_config(measurement: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    config: dict[str, Mapping[str, Any]] = {}
    for par in measurement["config"].get("parameters", []):
        extra = sorted(set(par) - _PARAMETER_KEYS)
        if extra:
            msg = (
                f"parameter {par['name']!r} of measurement {measurement['name']!r} sets {extra}, which the likelihood "
                f"engine does not support (supported settings: {sorted(_PARAMETER_KEYS - {'name'})})"
            )
            raise ConfigurationError(msg)
        config[par["name"]] = par
    return config


def _bounds(config: Mapping[str, Mapping[str, Any]], name: str, default: tuple[float, float]) -> tuple[float, float]:
    bounds = config.get(name, {}).get("bounds")
    return default if bounds is None else (float(bounds[0][0]), float(bounds[0][1]))


def from_workspace(spec: Mapping[str, Any], measurement: str | None = None) -> tuple[Likelihood, Batch]:
    """The engine's likelihood of a pyhf workspace: the samples without the POI in the :class:`Likelihood`, those
    carrying the POI normfactor in a one-row :class:`Batch` (its ``poi_*`` arrays).

    The observed data and bounds are the workspace's: pyhf's ``model.logpdf(pars, ws.data(model))`` equals
    ``-0.5 * likelihood.twice_nll(batch, theta, mu)`` with the nuisances in the order of
    :attr:`Likelihood.nuisances` (sorted, as pyhf orders them).

    Args:
        spec: a pyhf workspace dict.
        measurement: the measurement (default: the first one, as pyhf).

    Returns:
        (likelihood, batch).

    Raises:
        ConfigurationError: a modifier type or parameter setting the engine does not reproduce.
    """
    meas = _measurement(spec, measurement)
    poi = str(meas["config"]["poi"])
    config = _parameter_config(meas)
    observations = {o["name"]: np.asarray(o["data"], dtype=float) for o in spec.get("observations", [])}
    names: set[str] = set()
    for channel in spec["channels"]:
        for sample in channel["samples"]:
            for mod in sample["modifiers"]:
                kind, name = mod["type"], mod["name"]
                if kind not in SUPPORTED_MODIFIERS:
                    msg = (
                        f"modifier {name!r} of type {kind!r} (sample {sample['name']!r}, channel {channel['name']!r}) "
                        f"is not supported by the likelihood engine; supported modifier types: "
                        f"{', '.join(SUPPORTED_MODIFIERS)} (the normfactor only as the POI)"
                    )
                    raise ConfigurationError(msg)
                if kind == "normfactor" and name != poi:
                    msg = (
                        f"normfactor {name!r} (sample {sample['name']!r}, channel {channel['name']!r}) is not the POI "
                        f"{poi!r}: the likelihood engine supports the modifier types {', '.join(SUPPORTED_MODIFIERS)} "
                        "with the POI as the only normfactor"
                    )
                    raise ConfigurationError(msg)
                if kind == "histosys":
                    names.add(name)
    nuisances = tuple(sorted(names))
    index = {n: k for k, n in enumerate(nuisances)}
    n_k = len(nuisances)
    parts: dict[bool, list[list[FloatArray]]] = {False: [], True: []}  # with POI -> [nominal, up, down] per channel
    observed = []
    for channel in spec["channels"]:
        if channel["name"] not in observations:
            msg = f"the workspace has no observation for channel {channel['name']!r}"
            raise ConfigurationError(msg)
        obs = observations[channel["name"]]
        n_bins = obs.size
        sums: dict[bool, list[FloatArray]] = {
            flag: [np.zeros(n_bins), np.zeros((n_k, n_bins)), np.zeros((n_k, n_bins))] for flag in (False, True)
        }
        for sample in channel["samples"]:
            nominal = np.asarray(sample["data"], dtype=float)
            if nominal.size != n_bins:
                msg = f"sample {sample['name']!r} of {channel['name']!r} has {nominal.size} bins, the data {n_bins}"
                raise ConfigurationError(msg)
            flag = any(m["type"] == "normfactor" for m in sample["modifiers"])
            total = sums[flag]
            total[0] += nominal
            for mod in sample["modifiers"]:
                if mod["type"] == "histosys":
                    k = index[mod["name"]]
                    total[1][k] += np.asarray(mod["data"]["hi_data"], dtype=float) - nominal
                    total[2][k] += nominal - np.asarray(mod["data"]["lo_data"], dtype=float)
        for flag in (False, True):
            parts[flag].append(sums[flag])
        observed.append(obs)
    data = np.concatenate(observed)
    arrays = {}
    for flag in (False, True):
        nom = np.concatenate([p[0] for p in parts[flag]])
        up = np.concatenate([p[1] for p in parts[flag]], axis=1)
        down = np.concatenate([p[2] for p in parts[flag]], axis=1)
        arrays[flag] = (nom, 0.5 * (up + down), 0.0625 * (up - down))
    bounds = [_bounds(config, n, DEFAULT_BOUNDS) for n in nuisances]
    poi_bounds = _bounds(config, poi, _NORMFACTOR_BOUNDS)
    inits = config.get(poi, {}).get("inits")
    lik = Likelihood(
        channels=tuple(str(c["name"]) for c in spec["channels"]),
        shapes=tuple((int(o.size),) for o in observed),
        nuisances=nuisances,
        lower=np.array([b[0] for b in bounds], dtype=float),
        upper=np.array([b[1] for b in bounds], dtype=float),
        observed=data,
        nominal=arrays[False][0],
        s=arrays[False][1],
        a=arrays[False][2],
        dynamic=tuple(() for _ in spec["channels"]),
        constant=2.0 * float(np.sum(special.gammaln(data + 1.0))) + n_k * math.log(2.0 * math.pi),
        poi=poi,
        poi_bounds=poi_bounds,
        poi_init=1.0 if inits is None else float(inits[0]),
    )
    fixed, signal = arrays[False], arrays[True]
    batch = Batch(*(x[None] for x in fixed), *(x[None] for x in signal))
    return lik, batch
