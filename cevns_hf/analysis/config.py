"""Run configurations of the main job: the JSON Schema (experiments from the detector registry), loading and
validation before anything is written: the file (size, UTF-8, YAML shape: depth, aliases, duplicate keys),
JSON types, the schema, then every experiment, family and parameter name, unique names, every grid's cost
(before allocation), axes (log axes positive, distinct values) and every grid point against the family's
checks (ranges, and cross-parameter checks such as sterile unitarity on the product of the axes)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cevns_hf import detectors
from cevns_hf.bsm.family import Family, get_family
from cevns_hf.bsm.grid import check_grid, check_grid_size, make_axis
from cevns_hf.exceptions import ConfigurationError

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_CONFIG_DEPTH",
    "MAX_CONFIG_NODES",
    "axis_values",
    "default_config",
    "load_config",
    "schema",
    "validate_config",
]


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


def _where(path: Any) -> str:
    return "/".join(str(p) for p in path) or "(top level)"


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _check_json_like(value: Any, source: str, path: tuple[Any, ...] = ()) -> None:
    """Refuse what JSON cannot hold (dates, sets, binary, non-string keys, non-finite numbers)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                msg = (
                    f"invalid run configuration {source} at {_where(path)}: key {key!r} is a "
                    f"{type(key).__name__}; keys must be text (quote it)"
                )
                raise ConfigurationError(_short(msg))
            _check_json_like(item, source, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json_like(item, source, (*path, i))
    elif isinstance(value, bool) or value is None or isinstance(value, str):
        return
    elif isinstance(value, int):
        if abs(value) > 2**63:
            msg = f"invalid run configuration {source} at {_where(path)}: a whole number beyond 2**63 is too large"
            raise ConfigurationError(msg)
    elif isinstance(value, float):
        if not math.isfinite(value):
            msg = f"invalid run configuration {source} at {_where(path)}: {value!r} is not a finite number"
            raise ConfigurationError(msg)
    else:
        msg = (
            f"invalid run configuration {source} at {_where(path)}: a {type(value).__name__} "
            f"({_short(repr(value), 60)}) is not allowed; expected text, numbers, booleans, lists and mappings"
        )
        raise ConfigurationError(msg)


def _unique(names: list[str], what: str, source: str) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            msg = f"invalid run configuration {source}: {what} {name!r} appears twice (names must be unique)"
            raise ConfigurationError(msg)
        seen.add(name)


def _validate(config: Any, source: str) -> dict[str, Any]:
    """Check a whole configuration: JSON types, the schema, then every name, axis, grid point and output."""
    import jsonschema

    _check_json_like(config, source)
    try:
        jsonschema.validate(config, schema())
    except jsonschema.ValidationError as err:
        msg = f"invalid run configuration {source} at {_where(err.absolute_path)}: {err.message}"
        raise ConfigurationError(_short(msg)) from None
    assert isinstance(config, dict)
    for name in [*config.get("sm_fits", []), *config.get("predictions", [])]:
        detectors.resolve(name)
    _unique(list(config.get("sm_fits", [])), "sm_fits entry", source)
    _unique([s["name"] for s in config.get("scans", [])], "scan name", source)
    _unique([s["name"] for s in config.get("patchsets", [])], "patchset name", source)
    for kind in ("scans", "patchsets"):
        for scan in config.get(kind, []):
            where = f"run configuration {source}, {kind} {scan['name']}"
            try:
                detectors.resolve(scan["experiment"])
                family = get_family(scan["family"])
                if kind == "patchsets" and scan.get("profile"):
                    msg = f"a patchset has no profiled parameters (profile: {scan['profile']}); remove profile"
                    raise ConfigurationError(msg)
                # the cost first (no allocation), then every axis, every grid point and the family's checks
                for name in scan["grid"]:
                    family.parameter(name)
                check_grid_size({name: int(axis["n"]) for name, axis in scan["grid"].items()})
                axes = {name: axis_values(axis, name) for name, axis in scan["grid"].items()}
                check_grid(family, axes, fixed=scan.get("fixed", {}), profile=scan.get("profile", []))
                if "feldman_cousins" in scan:
                    _check_fc(kind, family, scan)
            except ConfigurationError as err:
                raise type(err)(f"{where}: {err}") from None
    return config


def _check_fc(kind: str, family: Family, scan: Mapping[str, Any]) -> None:
    """A Feldman-Cousins construction needs a 1D scan, no profiled parameter and a polynomial rate."""
    if kind != "scans":
        msg = "feldman_cousins is for scans, not patchsets; remove it"
        raise ConfigurationError(msg)
    names = list(scan["grid"])
    if len(names) != 1 or scan.get("profile"):
        msg = f"feldman_cousins needs a 1D scan without profiled parameters; got the grid {names}"
        if scan.get("profile"):
            msg += f" and profile {list(scan['profile'])}"
        raise ConfigurationError(msg)
    lo, hi = scan["feldman_cousins"].get("range", (0.0, 1.0))
    if not lo < hi:
        msg = f"feldman_cousins range must be [lo, hi] with lo < hi, got {[lo, hi]}"
        raise ConfigurationError(msg)
    if "range" in scan["feldman_cousins"]:
        family.parameter(names[0]).check([lo, hi])
    poly = family.polynomial
    if poly is None or names[0] not in poly.variables:
        valid = ", ".join(poly.variables) if poly is not None else "none"
        msg = (
            f"feldman_cousins needs a parameter in which the rate of {family.name} is a polynomial; got {names[0]}, "
            f"valid: {valid}"
        )
        raise ConfigurationError(msg)


def validate_config(config: Any, source: str = "(given as a mapping)") -> dict[str, Any]:
    """Validate a configuration mapping (as :func:`load_config` does for a file); return it as a dict.

    Raises:
        ConfigurationError: the first problem found, naming where it is and what is expected.
    """
    return _validate(config, source)


def default_config() -> dict[str, Any]:
    """The embedded COHERENT configuration (``cevns_hf/analysis/configs/coherent.yaml``)."""
    text = resources.files("cevns_hf.analysis.configs").joinpath("coherent.yaml").read_text()
    return _validate(yaml.safe_load(text), "coherent.yaml (embedded)")


#: Largest configuration file read (bytes); a run configuration is a few kilobytes.
MAX_CONFIG_BYTES = 1_000_000
#: Deepest nesting of lists and mappings accepted (a run configuration needs 5).
MAX_CONFIG_DEPTH = 32
#: Most values a configuration may expand to, aliases counted at their expanded size (YAML bombs).
MAX_CONFIG_NODES = 100_000


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing a mapping key given twice (YAML would keep the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[tuple[str, str]] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                key = (key_node.tag, key_node.value)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping",
                        node.start_mark,
                        f"found the key {key_node.value!r} twice",
                        key_node.start_mark,
                    )
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_shape(text: str, source: str) -> None:
    """Walk the YAML events (no recursion, no expansion): refuse deep nesting, recursive aliases and
    documents that expand to more than :data:`MAX_CONFIG_NODES` values."""
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]
    open_anchors: set[str] = set()
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.ScalarEvent):
            if event.anchor is not None:
                sizes[event.anchor] = 1
            stack[-1][1] += 1
        elif isinstance(event, yaml.AliasEvent):
            if event.anchor in open_anchors:
                msg = f"run configuration {source} has a recursive alias *{event.anchor}"
                raise ConfigurationError(msg)
            stack[-1][1] += sizes.get(event.anchor or "", 1)
        elif isinstance(event, yaml.CollectionStartEvent):
            if len(stack) > MAX_CONFIG_DEPTH:
                msg = f"run configuration {source} nests lists/mappings deeper than {MAX_CONFIG_DEPTH} levels"
                raise ConfigurationError(msg)
            if event.anchor is not None:
                open_anchors.add(event.anchor)
            stack.append([event.anchor, 1])
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
                open_anchors.discard(anchor)
            stack[-1][1] += size
        if stack[0][1] + sum(f[1] for f in stack[1:]) > MAX_CONFIG_NODES:
            msg = (
                f"run configuration {source} expands to more than {MAX_CONFIG_NODES:,} values "
                "(aliases counted at their expanded size)"
            )
            raise ConfigurationError(msg)


def load_config(path: str | Path) -> dict[str, Any]:
    """Read and validate a YAML run configuration (JSON Schema :func:`schema`, then :func:`validate_config`).

    Every problem is a :class:`~cevns_hf.exceptions.ConfigurationError` naming the file: missing or
    unreadable, larger than :data:`MAX_CONFIG_BYTES`, not UTF-8, not YAML, nested deeper than
    :data:`MAX_CONFIG_DEPTH`, expanding (aliases) to more than :data:`MAX_CONFIG_NODES` values, a key given
    twice, a value JSON cannot hold, or a configuration the schema and the checks refuse.
    """
    p = Path(path)
    source = repr(str(p))
    try:
        with open(p, "rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        msg = f"run configuration {source} not found"
        raise ConfigurationError(msg) from None
    except OSError as err:
        msg = f"run configuration {source} cannot be read: {err.strerror or type(err).__name__}"
        raise ConfigurationError(msg) from None
    if len(raw) > MAX_CONFIG_BYTES:
        msg = f"run configuration {source} is larger than {MAX_CONFIG_BYTES:,} bytes; a run configuration is a few kB"
        raise ConfigurationError(msg)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        msg = f"run configuration {source} is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})"
        raise ConfigurationError(msg) from None
    try:
        _check_shape(text, source)
        config = yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        problem = getattr(err, "problem", None) or str(err)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        msg = f"run configuration {source} is not valid YAML: {_short(str(problem))}{where}"
        raise ConfigurationError(msg) from None
    except (RecursionError, MemoryError, OverflowError, ValueError, TypeError) as err:
        if isinstance(err, ConfigurationError):
            raise
        msg = f"run configuration {source} cannot be read as YAML: {type(err).__name__}: {_short(str(err), 120)}"
        raise ConfigurationError(msg) from None
    return _validate(config, source)


def axis_values(spec: Mapping[str, Any], name: str = "axis") -> list[float]:
    """The values of a grid axis ``{lo, hi, n, log}`` of a run configuration (:func:`make_axis`)."""
    return make_axis(name, float(spec["lo"]), float(spec["hi"]), int(spec["n"]), log=bool(spec.get("log")))
