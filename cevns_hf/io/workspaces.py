"""Workspaces on disk: the pyhf JSON and, next to it, a sidecar with the meaning and unit of its POI.

``<name>.json`` is the workspace (deterministic JSON, validated by pyhf); ``<name>.poi.json`` says what the POI
is, so that other tools (and people) read one convention: ``{"poi", "unit", "scale", "meaning",
"hypothesis", "experiments", "without_es", "writer"}``, where a POI value ``v`` means the physical quantity
``v * scale`` in ``unit``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cevns_hf._version import __version__
from cevns_hf.io.atomic import atomic_write_text

__all__ = ["poi_sidecar_path", "write_workspace"]


def __dir__() -> list[str]:
    return __all__


def poi_sidecar_path(path: str | os.PathLike[str]) -> Path:
    """``ws.json`` -> ``ws.poi.json``."""
    p = Path(path)
    return p.with_name(p.name.removesuffix(".json") + ".poi.json")


def write_workspace(
    path: str | os.PathLike[str], spec: Mapping[str, Any], poi: Mapping[str, Any], *, overwrite: bool = False
) -> Path:
    """Write a workspace and its POI sidecar (each atomically; the sidecar first, so a workspace never lacks it).

    Args:
        path: the workspace file.
        spec: the workspace.
        poi: at least ``poi`` (its name), ``unit``, ``scale`` and ``meaning``.
        overwrite: replace existing files.
    """
    from cevns_hf.workspace.build import dumps

    target = Path(path)
    sidecar = poi_sidecar_path(target)
    info = {"writer": f"cevns_hf {__version__}", **poi}
    atomic_write_text(sidecar, json.dumps(info, indent=2, sort_keys=True) + "\n", overwrite=overwrite)
    return atomic_write_text(target, dumps(dict(spec)), overwrite=overwrite)
