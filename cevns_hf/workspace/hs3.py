r"""HS3 (HEP Statistics Serialization Standard) export of the pyhf workspaces.

:func:`to_hs3` turns a pyhf workspace as this package writes it into an HS3 document that ``pyhs3`` and
ROOT's RooFit (6.30+, ``RooJSONFactoryWSTool``) read:

* every channel becomes a ``histfactory_dist`` named ``model_<channel>``, binned in the channel's real
  observables (``<channel>_energy``, ``<channel>_time`` ... with their bin edges) when the caller passes the
  templates' axes, else in one axis ``<channel>_bin`` of bin indices. Contents are flattened in C order
  (the first axis outermost), as pyhf's are;
* a ``normfactor`` stays a ``normfactor`` (the POI); a ``histosys`` keeps its absolute hi/lo histograms
  with interpolation ``code4p`` and a ``normsys`` its hi/lo factors with interpolation ``code4``: these are
  pyhf's defaults and the names ``pyhs3`` validates; ROOT builds every HistFactory interpolation with its
  interpolation code 4, the same functions (``PiecewiseInterpolation`` code 4 = polynomial inside
  :math:`|\alpha| \le 1`, linear outside; ``FlexibleInterpVar`` code 4 = polynomial inside, exponential
  outside). The standard's ``poly6`` is code4p too, but ``pyhs3`` 0.4.2 does not accept that name;
* every ``histosys``/``normsys`` nuisance carries a unit ``Gauss`` constraint (pyhf's auxiliary
  :math:`N(0 \mid \alpha, 1)`), counted once per parameter however many samples share it;
* the observed data of every channel is a ``binned`` datum ``obsData_<channel>``; one likelihood pairs
  the channels with their data; one analysis names the POI, the domain ``default_domain`` (every
  parameter's bounds, pyhf's suggested bounds) and the parameter point ``default_values`` (pyhf's
  suggested inits; pyhf's fixed parameters are ``const``);
* ``metadata`` gives ``hs3_version`` and the writing packages.

Modifiers with one parameter per bin (``shapesys``, ``staterror``, ``shapefactor``) and ``lumi`` are not
written by this package and are refused.

Example:
    >>> spec = {
    ...     "channels": [{"name": "c", "samples": [
    ...         {"name": "s", "data": [5.0, 3.0], "modifiers": [{"name": "mu", "type": "normfactor", "data": None}]},
    ...         {"name": "b", "data": [10.0, 8.0], "modifiers": [
    ...             {"name": "a", "type": "normsys", "data": {"hi": 1.1, "lo": 0.9}}]}]}],
    ...     "observations": [{"name": "c", "data": [14.0, 12.0]}],
    ...     "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
    ...     "version": "1.0.0",
    ... }
    >>> doc = to_hs3(spec)
    >>> [d["name"] for d in doc["distributions"]], doc["analyses"][0]["parameters_of_interest"]
    (['model_c'], ['mu'])
    >>> doc["distributions"][0]["axes"]
    [{'name': 'c_bin', 'min': 0.0, 'max': 2.0, 'nbins': 2}]
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyhf

from cevns_hf._version import __version__
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.templates.histograms import Axis

__all__ = [
    "DOMAIN",
    "HISTOSYS_INTERPOLATION",
    "HS3_VERSION",
    "NORMSYS_INTERPOLATION",
    "PARAMETER_POINT",
    "distribution_name",
    "dumps_hs3",
    "import_pyhs3",
    "to_hs3",
]


def __dir__() -> list[str]:
    return __all__


#: The HS3 version the documents follow.
HS3_VERSION = "0.2"
#: Interpolation of a histosys: pyhf's default code4p (ROOT's ``PiecewiseInterpolation`` code 4).
HISTOSYS_INTERPOLATION = "code4p"
#: Interpolation of a normsys: pyhf's default code4 (ROOT's ``FlexibleInterpVar`` code 4).
NORMSYS_INTERPOLATION = "code4"
#: Name of the domain holding every parameter's bounds.
DOMAIN = "default_domain"
#: Name of the parameter point holding every parameter's initial value.
PARAMETER_POINT = "default_values"
_CONSTRAINED = ("histosys", "normsys")


def distribution_name(channel: str) -> str:
    """The HS3 distribution of a pyhf channel (``csi2021`` -> ``model_csi2021``, ROOT's convention)."""
    return f"model_{channel}"


def _data_name(channel: str) -> str:
    return f"obsData_{channel}"


def _floats(values: Any) -> list[float]:
    return [float(x) for x in np.asarray(values, dtype=float).ravel()]


def _axes(channel: str, n_bins: int, axes: Sequence[Axis] | None) -> list[dict[str, Any]]:
    """The binned axes of a channel: the real observables (prefixed by the channel), else bin indices."""
    if axes is None:
        return [{"name": f"{channel}_bin", "min": 0.0, "max": float(n_bins), "nbins": n_bins}]
    total = int(np.prod([a.n_bins for a in axes])) if axes else 0
    if total != n_bins:
        shape = " x ".join(f"{a.name} {a.n_bins}" for a in axes)
        msg = f"channel {channel!r} has {n_bins} bins but its axes ({shape}) give {total}"
        raise ConfigurationError(msg)
    return [
        {"name": f"{channel}_{a.name}", "min": float(a.edges[0]), "max": float(a.edges[-1]), "edges": _floats(a.edges)}
        for a in axes
    ]


def _modifier(channel: str, sample: str, mod: Mapping[str, Any]) -> dict[str, Any]:
    """One pyhf modifier as an HS3 HistFactory modifier."""
    name, kind = str(mod["name"]), str(mod["type"])
    out: dict[str, Any] = {"name": name, "parameter": name, "type": kind}
    data: Any = mod.get("data")
    if kind == "normfactor":
        return out
    if kind == "histosys":
        out["constraint"] = "Gauss"
        out["data"] = {
            "hi": {"contents": _floats(data["hi_data"])},
            "lo": {"contents": _floats(data["lo_data"])},
            "interpolation": HISTOSYS_INTERPOLATION,
        }
        return out
    if kind == "normsys":
        out["constraint"] = "Gauss"
        out["data"] = {"hi": float(data["hi"]), "lo": float(data["lo"]), "interpolation": NORMSYS_INTERPOLATION}
        return out
    msg = (
        f"modifier {name!r} of sample {sample!r} in channel {channel!r} has type {kind!r}; "
        "the HS3 export supports normfactor, normsys and histosys"
    )
    raise ConfigurationError(msg)


def to_hs3(
    spec: Mapping[str, Any],
    *,
    axes: Mapping[str, Sequence[Axis]] | None = None,
    measurement: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """The HS3 document of a pyhf workspace (see the module docstring for the mapping).

    Args:
        spec: a pyhf workspace (schema 1.0.0) with normfactor, normsys and histosys modifiers.
        axes: channel name -> the binned observables of its templates (``Templates.axes``), in the order of
            the histogram axes; channels not listed are binned by bin index.
        measurement: the pyhf measurement to export (default: the workspace's first).
        description: ``metadata.description`` (default: says which measurement was converted).

    Returns:
        The HS3 document as a plain dict (``dumps_hs3`` gives its deterministic JSON).

    Raises:
        ConfigurationError: an invalid workspace, an unsupported modifier, or axes that do not match a channel.
    """
    try:
        ws = pyhf.Workspace(dict(spec))
        meas = ws.get_measurement(measurement_name=measurement)
        model = ws.model(measurement_name=meas["name"])
    except (
        pyhf.exceptions.InvalidSpecification,
        pyhf.exceptions.InvalidMeasurement,
        pyhf.exceptions.InvalidModel,
        pyhf.exceptions.InvalidModifier,
    ) as err:
        msg = f"invalid workspace for the HS3 export: {err}"
        raise ConfigurationError(msg) from err
    axes = dict(axes or {})
    observed = {obs["name"]: obs["data"] for obs in spec["observations"]}
    distributions, data = [], []
    for channel in spec["channels"]:
        ch = str(channel["name"])
        n_bins = len(channel["samples"][0]["data"])
        ch_axes = _axes(ch, n_bins, axes.get(ch))
        samples = [
            {
                "name": str(s["name"]),
                "data": {"contents": _floats(s["data"])},
                "modifiers": [_modifier(ch, str(s["name"]), m) for m in s["modifiers"]],
            }
            for s in channel["samples"]
        ]
        distributions.append(
            {"name": distribution_name(ch), "type": "histfactory_dist", "axes": ch_axes, "samples": samples}
        )
        data.append({"name": _data_name(ch), "type": "binned", "axes": ch_axes, "contents": _floats(observed[ch])})

    config = model.config
    domain_axes, points = [], []
    for par in config.par_order:
        paramset = config.param_set(par)
        if paramset.n_parameters != 1:
            msg = f"parameter {par!r} has {paramset.n_parameters} components; the HS3 export supports scalars only"
            raise ConfigurationError(msg)
        (lo, hi), init = paramset.suggested_bounds[0], paramset.suggested_init[0]
        domain_axes.append({"name": par, "min": float(lo), "max": float(hi)})
        point: dict[str, Any] = {"name": par, "value": float(init)}
        if paramset.suggested_fixed[0]:
            point["const"] = True
        points.append(point)

    likelihood = f"{meas['name']}_obsData"
    packages = [{"name": "cevns_hf", "version": __version__}, {"name": "pyhf", "version": pyhf.__version__}]
    return {
        "metadata": {
            "hs3_version": HS3_VERSION,
            "packages": packages,
            "description": description or f"pyhf measurement {meas['name']!r} (POI {config.poi_name}) in HS3",
        },
        "distributions": distributions,
        "data": data,
        "likelihoods": [
            {"name": likelihood, "distributions": [d["name"] for d in distributions], "data": [d["name"] for d in data]}
        ],
        "domains": [{"name": DOMAIN, "type": "product_domain", "axes": domain_axes}],
        "parameter_points": [{"name": PARAMETER_POINT, "parameters": points}],
        "analyses": [
            {
                "name": str(meas["name"]),
                "likelihood": likelihood,
                "parameters_of_interest": [config.poi_name],
                "domains": [DOMAIN],
                "init": PARAMETER_POINT,
            }
        ],
    }


def dumps_hs3(doc: Mapping[str, Any]) -> str:
    """Deterministic JSON text of an HS3 document (sorted keys, indent 4, trailing newline), as ``dumps``."""
    return json.dumps(doc, sort_keys=True, indent=4) + "\n"


def import_pyhs3() -> Any:
    """Import ``pyhs3`` without letting it reconfigure the application's logging.

    pyhs3 0.4.2 calls ``logging.config.dictConfig`` on import with ``disable_existing_loggers=True`` and a
    rich handler on the root logger: every logger created before (ours included) goes silent and log
    records reach stdout. The previous state is restored right after the import.
    """
    import logging

    manager = logging.Logger.manager
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    states = {
        n: (lg.disabled, lg.propagate, lg.level)
        for n, lg in manager.loggerDict.items()
        if isinstance(lg, logging.Logger)
    }
    try:
        import pyhs3
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "validating HS3 needs pyhs3: pip install 'cevns_hf[hs3]'"
        raise ConfigurationError(msg) from err
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, logger in manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                disabled, propagate, lvl = states.get(name, (False, True, logging.NOTSET))
                logger.disabled, logger.propagate = disabled, propagate
                logger.setLevel(lvl)
    return pyhs3
