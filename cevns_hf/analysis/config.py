"""Run configurations of the main job: the JSON Schema (experiments from the detector registry), loading and
validation (schema, then every experiment, family and parameter name) before anything is written."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from cevns_hf import detectors
from cevns_hf.bsm.family import get_family
from cevns_hf.exceptions import ConfigurationError

__all__ = ["axis_values", "default_config", "load_config", "schema"]


def __dir__() -> list[str]:
    return __all__


def schema() -> dict[str, Any]:
    """The JSON Schema of run configurations, with the experiments of the detector registry.

    ``run.schema.json`` leaves ``definitions.experiment`` open; it is filled here with a pattern accepting
    the registered detector names joined by '+', so a detector added to the registry is accepted by the run
    configuration without editing the schema.
    """
    text = resources.files("cevns_hf.analysis.configs").joinpath("run.schema.json").read_text()
    out: dict[str, Any] = json.loads(text)
    names = "|".join(re.escape(n) for n in sorted(detectors.DETECTORS))
    out["definitions"]["experiment"] = {
        "type": "string",
        "pattern": f"^({names})(\\+({names}))*$",
        "description": "registered detectors joined by '+': " + ", ".join(sorted(detectors.DETECTORS)),
    }
    return out


def _validate(config: Any, source: str) -> dict[str, Any]:
    import jsonschema

    try:
        jsonschema.validate(config, schema())
    except jsonschema.ValidationError as err:
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        msg = f"invalid run configuration {source} at {where}: {err.message}"
        raise ConfigurationError(msg) from None
    for name in [*config.get("sm_fits", []), *config.get("predictions", [])]:
        detectors.resolve(name)
    for scan in [*config.get("scans", []), *config.get("patchsets", [])]:
        detectors.resolve(scan["experiment"])
        family = get_family(scan["family"])
        for name in [*scan["grid"], *scan.get("fixed", {}), *scan.get("profile", [])]:
            family.parameter(name)
        where = f"run configuration {source}, {scan['name']}"
        try:  # every grid value against its parameter's range, before anything is written
            for name, axis in scan["grid"].items():
                family.parameter(name).check(axis_values(axis))
            for name, value in scan.get("fixed", {}).items():
                family.parameter(name).check(value)
        except ConfigurationError as err:
            raise ConfigurationError(f"{where}: {err}") from None
    assert isinstance(config, dict)
    return config


def default_config() -> dict[str, Any]:
    """The embedded COHERENT configuration (``cevns_hf/analysis/configs/coherent.yaml``)."""
    text = resources.files("cevns_hf.analysis.configs").joinpath("coherent.yaml").read_text()
    return _validate(yaml.safe_load(text), "coherent.yaml (embedded)")


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a YAML run configuration (JSON Schema :func:`schema`)."""
    p = Path(path)
    try:
        config = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        msg = f"run configuration {str(p)!r} not found"
        raise ConfigurationError(msg) from None
    except yaml.YAMLError as err:
        msg = f"run configuration {str(p)!r} is not valid YAML: {err}"
        raise ConfigurationError(msg) from None
    return _validate(config, repr(str(p)))


def axis_values(spec: Mapping[str, Any]) -> list[float]:
    """The values of a grid axis ``{lo, hi, n, log}`` of a run configuration."""
    lo, hi, n = float(spec["lo"]), float(spec["hi"]), int(spec["n"])
    if spec.get("log"):
        if lo <= 0 or hi <= 0:
            msg = f"a logarithmic axis needs positive bounds, got {lo}, {hi}"
            raise ConfigurationError(msg)
        return [float(v) for v in np.geomspace(lo, hi, n)]
    return [float(v) for v in np.linspace(lo, hi, n)]
