"""Detector models, one module per detector, and the registry that names them.

Each detector module exposes ``templates(model=None, *, config=None) -> Templates`` and a cached
``setup(config)``. Adding a detector means adding its module and one line to :data:`EXPERIMENTS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any, Protocol

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.templates.histograms import Templates

__all__ = ["COMBINED", "EXPERIMENTS", "detector_module", "experiment_names", "split_experiments", "templates"]


def __dir__() -> list[str]:
    return __all__


#: experiment name -> module implementing it
EXPERIMENTS: dict[str, str] = {
    "csi2021": "cevns_hf.detectors.csi2021",
    "lar2020": "cevns_hf.detectors.lar2020",
    "csi2017": "cevns_hf.detectors.csi2017",
}
#: combinations accepted where a fit is asked for (channels are fitted jointly, mu_cevns shared)
COMBINED: tuple[str, ...] = ("csi2021+lar2020",)


class _DetectorModule(Protocol):
    def templates(self, model: PhysicsModel | None = None, *, config: Any = None) -> Templates: ...


def detector_module(experiment: str) -> _DetectorModule:
    """The module implementing ``experiment``."""
    try:
        name = EXPERIMENTS[experiment]
    except KeyError:
        msg = f"unknown experiment {experiment!r}; valid choices: {sorted(EXPERIMENTS)}"
        raise ConfigurationError(msg) from None
    module: _DetectorModule = importlib.import_module(name)
    return module


def split_experiments(spec: str) -> list[str]:
    """``"csi2021+lar2020"`` -> ``["csi2021", "lar2020"]``, each name validated."""
    parts = [p.strip() for p in spec.split("+") if p.strip()]
    if not parts:
        msg = f"no experiment given in {spec!r}; valid choices: {sorted(EXPERIMENTS)} or {list(COMBINED)}"
        raise ConfigurationError(msg)
    for p in parts:
        if p not in EXPERIMENTS:
            msg = f"unknown experiment {p!r} in {spec!r}; valid choices: {sorted(EXPERIMENTS)} or {list(COMBINED)}"
            raise ConfigurationError(msg)
    return parts


def templates(experiment: str, model: PhysicsModel | None = None, *, config: Any = None) -> Templates:
    """Templates of ``experiment`` for a hypothesis (the SM by default)."""
    return detector_module(experiment).templates(model, config=config)


def experiment_names(experiments: str | Sequence[str]) -> tuple[str, ...]:
    """Validated experiment names of ``"a+b"`` or a sequence of such specs; each experiment at most once."""
    names: list[str] = []
    for item in [experiments] if isinstance(experiments, str) else experiments:
        names.extend(split_experiments(item))
    if not names:
        msg = f"no experiment given; valid choices: {sorted(EXPERIMENTS)}"
        raise ConfigurationError(msg)
    if len(set(names)) != len(names):
        msg = f"each experiment may appear once, got {names}"
        raise ConfigurationError(msg)
    return tuple(names)
