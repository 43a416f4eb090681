"""Assembling the arrays of the likelihood engine (:mod:`cevns_hf.inference.likelihood`).

* :func:`from_templates` and :func:`hypothesis_batch`: from the templates (scans: the fixed samples once,
  the hypothesis-dependent samples of H hypotheses per batch, ``mu_bsm = 1`` folded in), the nuisances turned
  into modifiers by the one rule of :mod:`cevns_hf.workspace.modifiers`;
* :func:`from_workspace`: from a pyhf workspace spec as the project writes it (:mod:`cevns_hf.workspace.build`,
  :mod:`cevns_hf.workspace.hypothesis`): normsys (code4), histosys (code4p) and the normfactor of the POI. Any
  other modifier (shapesys, staterror, lumi, shapefactor, a normfactor that is not the POI) or parameter
  setting (``fixed``, ``auxdata``, ``sigmas``) is refused with a :class:`ConfigurationError`, so that the
  engine never silently computes a different likelihood than pyhf.

Samples are summed per *group*: the samples of all channels with the same normsys factors (and POI flag)
(:mod:`cevns_hf.inference.groups`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference.groups import GroupKey, Groups
from cevns_hf.inference.interpolation import Code4
from cevns_hf.inference.likelihood import DEFAULT_BOUNDS, Batch, Likelihood
from cevns_hf.templates.histograms import Sample, Templates
from cevns_hf.workspace.modifiers import nuisance_bounds, variations

__all__ = ["SUPPORTED_MODIFIERS", "from_templates", "from_workspace", "hypothesis_batch"]


def __dir__() -> list[str]:
    return __all__


#: Modifier types the engine reproduces exactly (the normfactor only as the POI).
SUPPORTED_MODIFIERS = ("histosys", "normsys", "normfactor")
#: Measurement parameter settings the engine honours.
_PARAMETER_KEYS = {"name", "bounds", "inits"}
#: pyhf's default bounds of a normfactor.
_NORMFACTOR_BOUNDS = (0.0, 10.0)


class _Sums:
    """Samples summed per group: nominal (rows, B), up and down deltas (rows, K, B) for each key."""

    def __init__(self, index: Mapping[str, int], n_bins: int, rows: int = 1) -> None:
        self.index, self.n_bins, self.rows = index, n_bins, rows
        self.arrays: dict[GroupKey, tuple[FloatArray, FloatArray, FloatArray]] = {}

    def add(self, key: GroupKey, cut: slice, nominal: FloatArray, up: FloatArray, down: FloatArray) -> None:
        """Add a sample (nominal (rows, b), deltas (rows, K, b)) on the bins ``cut`` of the group of normsys ``key``."""
        if key not in self.arrays:
            n_k = len(self.index)
            self.arrays[key] = (
                np.zeros((self.rows, self.n_bins)),
                np.zeros((self.rows, n_k, self.n_bins)),
                np.zeros((self.rows, n_k, self.n_bins)),
            )
        nom, u, d = self.arrays[key]
        nom[:, cut] += nominal
        u[:, :, cut] += up
        d[:, :, cut] += down

    def groups(self, poi: bool = False) -> Groups:
        """The groups (in the order they were first added), all carrying the POI or none."""
        keys = list(self.arrays)
        n_k = len(self.index)
        hi, lo = np.ones((len(keys), n_k)), np.ones((len(keys), n_k))
        for g, key in enumerate(keys):
            for name, kh, kl in key:
                hi[g, self.index[name]], lo[g, self.index[name]] = kh, kl
        nominal: FloatArray = np.zeros((self.rows, 0, self.n_bins))
        up: FloatArray = np.zeros((self.rows, 0, n_k, self.n_bins))
        down: FloatArray = up
        if keys:
            nominal, up, down = (np.stack([self.arrays[k][j] for k in keys], axis=1) for j in range(3))
        active = np.flatnonzero(np.any(up != 0, axis=(0, 1, 3)) | np.any(down != 0, axis=(0, 1, 3)))
        up, down = up[:, :, active], down[:, :, active]  # only the nuisances with a histosys here
        return Groups(
            nominal,
            0.5 * (up + down),
            0.0625 * (up - down),
            Code4.of(hi, lo),
            np.full((len(keys), 1), int(poi), dtype=np.int64),
            active=active,
        )


def _deltas(
    sample: Sample, index: Mapping[str, int], shape: tuple[int, ...], linear_norms: bool
) -> tuple[GroupKey, FloatArray, FloatArray, FloatArray]:
    """(normsys key, nominal, delta_up, delta_down) of one sample, flattened: (rows, b) and (rows, K, b)."""
    nominal = np.asarray(sample.nominal, dtype=float)
    lead = nominal.shape[: nominal.ndim - len(shape)]
    flat = nominal.reshape((-1, math.prod(shape)))
    up = np.zeros((flat.shape[0], len(index), flat.shape[1]))
    down = np.zeros_like(up)
    normsys = []
    for v in variations(sample, linear_norms=linear_norms):  # the one rule (cevns_hf.workspace.modifiers)
        if v.kind == "normsys":
            normsys.append((v.name, float(v.hi), float(v.lo)))
            continue
        up[:, index[v.name], :] += np.broadcast_to(v.hi, (*lead, *shape)).reshape(flat.shape) - flat
        down[:, index[v.name], :] += flat - np.broadcast_to(v.lo, (*lead, *shape)).reshape(flat.shape)
    return tuple(sorted(normsys)), flat, up, down


def from_templates(
    templates: Sequence[Templates], *, dynamic: Sequence[str], drop: Sequence[str] = (), linear_norms: bool = False
) -> Likelihood:
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
    bounds = nuisance_bounds(kept, linear_norms=linear_norms)
    lower = np.array([bounds.get(n, DEFAULT_BOUNDS)[0] for n in nuisances], dtype=float)
    upper = np.array([bounds.get(n, DEFAULT_BOUNDS)[1] for n in nuisances], dtype=float)
    shapes = [tuple(np.shape(t.observed)) for t in kept]
    sums = _Sums(index, sum(math.prod(sh) for sh in shapes))
    start = 0
    for tmpl, shape in zip(kept, shapes, strict=True):
        cut = slice(start, start + math.prod(shape))
        for sample in tmpl.samples:
            if sample.name not in dynamic:
                key, f, u, d = _deltas(sample, index, shape, linear_norms)
                sums.add(key, cut, f, u, d)
        start = cut.stop
    obs = np.concatenate([np.asarray(t.observed, dtype=float).ravel() for t in kept])
    constant = 2.0 * float(np.sum(special.gammaln(obs + 1.0))) + len(nuisances) * math.log(2.0 * math.pi)
    return Likelihood(
        channels=tuple(t.experiment for t in kept),
        shapes=tuple(shapes),
        nuisances=nuisances,
        lower=lower,
        upper=upper,
        observed=obs,
        fixed=sums.groups(),
        keys=tuple(sums.arrays),
        dynamic=tuple(tuple(s.name for s in t.samples if s.name in dynamic) for t in kept),
        constant=constant,
        linear_norms=linear_norms,
    )


def hypothesis_batch(lik: Likelihood, samples: Sequence[Sequence[Sample]], size: int | None = None) -> Batch:
    """The grouped model of H hypotheses (see :meth:`Likelihood.batch`): the fixed groups and those of the
    hypothesis-dependent samples (H rows)."""
    if len(samples) != len(lik.channels):
        msg = f"expected samples for {len(lik.channels)} channels {list(lik.channels)}, got {len(samples)}"
        raise ConfigurationError(msg)
    index = {n: k for k, n in enumerate(lik.nuisances)}
    h = size
    found: list[tuple[slice, str, str, tuple[GroupKey, FloatArray, FloatArray, FloatArray]]] = []
    start = 0
    for channel, shape, wanted, given in zip(lik.channels, lik.shapes, lik.dynamic, samples, strict=True):
        by_name = {s.name: s for s in given}
        missing = [n for n in wanted if n not in by_name]
        if missing:
            msg = f"channel {channel} needs the hypothesis-dependent samples {missing}"
            raise ConfigurationError(msg)
        n_bins = math.prod(shape)
        cut = slice(start, start + n_bins)
        start += n_bins
        for name in wanted:
            sample = by_name[name]
            unknown = sorted((set(sample.norms) | set(sample.shapes)) - set(index))
            if unknown:
                msg = f"sample {name} of {channel} has nuisances {unknown} unknown to the likelihood"
                raise ConfigurationError(msg)
            if sample.nominal.ndim != len(shape) + 1 or tuple(sample.nominal.shape[1:]) != shape:
                msg = f"sample {name} of {channel} must have shape (H, *{shape}), got {sample.nominal.shape}"
                raise ConfigurationError(msg)
            rows = int(sample.nominal.shape[0])
            if h is None:
                h = rows
            elif rows != h:
                msg = f"all samples need the same number of hypotheses, got {rows} and {h}"
                raise ConfigurationError(msg)
            found.append((cut, channel, name, _deltas(sample, index, shape, lik.linear_norms)))
    if h is None:
        msg = "no hypothesis-dependent sample given: pass size="
        raise ConfigurationError(msg)
    sums = _Sums(index, lik.n_bins, h)
    for cut, _, _, (key, f, u, d) in found:
        sums.add(key, cut, f, u, d)
    return Batch((lik.fixed, sums.groups()))


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
    """The engine's likelihood of a pyhf workspace: the samples without the POI in the :class:`Likelihood`, and a
    one-row :class:`Batch` of them and of the groups carrying the POI normfactor.

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
                if kind in ("histosys", "normsys"):
                    names.add(name)
    nuisances = tuple(sorted(names))
    index = {n: k for k, n in enumerate(nuisances)}
    n_k = len(nuisances)
    observed = []
    for channel in spec["channels"]:
        if channel["name"] not in observations:
            msg = f"the workspace has no observation for channel {channel['name']!r}"
            raise ConfigurationError(msg)
        observed.append(observations[channel["name"]])
    data = np.concatenate(observed) if observed else np.zeros(0)
    sums = {flag: _Sums(index, data.size) for flag in (False, True)}  # without / with the POI
    start = 0
    for channel, obs in zip(spec["channels"], observed, strict=True):
        n_bins = obs.size
        cut = slice(start, start + n_bins)
        start += n_bins
        for sample in channel["samples"]:
            nominal = np.asarray(sample["data"], dtype=float)
            if nominal.size != n_bins:
                msg = f"sample {sample['name']!r} of {channel['name']!r} has {nominal.size} bins, the data {n_bins}"
                raise ConfigurationError(msg)
            flag = any(m["type"] == "normfactor" for m in sample["modifiers"])
            up, down = np.zeros((1, n_k, n_bins)), np.zeros((1, n_k, n_bins))
            normsys = []
            for mod in sample["modifiers"]:
                if mod["type"] == "histosys":
                    k = index[mod["name"]]
                    up[0, k] += np.asarray(mod["data"]["hi_data"], dtype=float) - nominal
                    down[0, k] += nominal - np.asarray(mod["data"]["lo_data"], dtype=float)
                elif mod["type"] == "normsys":
                    normsys.append((str(mod["name"]), float(mod["data"]["hi"]), float(mod["data"]["lo"])))
            key = tuple(sorted(normsys))
            sums[flag].add(key, cut, nominal[None], up, down)
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
        fixed=sums[False].groups(),
        keys=tuple(sums[False].arrays),
        dynamic=tuple(() for _ in spec["channels"]),
        constant=2.0 * float(np.sum(special.gammaln(data + 1.0))) + n_k * math.log(2.0 * math.pi),
        poi=poi,
        poi_bounds=poi_bounds,
        poi_init=1.0 if inits is None else float(inits[0]),
    )
    batch = Batch((lik.fixed, sums[True].groups(poi=True)))
    return lik, batch
