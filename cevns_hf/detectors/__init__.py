"""Detectors: the :class:`~cevns_hf.detectors.base.Detector` protocol, the rate engine, the response helpers,
one module per detector and the registry that names them.

Adding a detector: write ``cevns_hf/detectors/<name>.py`` with a ``DETECTOR`` object implementing the
protocol and add the module name to :data:`_MODULES`; detectors defined outside the package (plugins,
tests) are added at run time with :func:`register`. The command line's ``--experiment`` choices and the run
configuration read this registry. Names are resolved to objects once, at the edge (:func:`resolve`).
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.templates.histograms import Templates

__all__ = ["DETECTORS", "Detector", "get_detector", "register", "resolve", "templates", "unregister"]


def __dir__() -> list[str]:
    return __all__


def _as_object(value: object) -> object:
    """``value`` typed as ``object``, for run-time checks of arguments that callers may get wrong."""
    return value


#: One line per detector module of the package.
_MODULES = ("csi2021", "lar2020", "csi2017")


def _load() -> dict[str, Detector]:
    out: dict[str, Detector] = {}
    for module in _MODULES:
        detector: Detector = importlib.import_module(f"{__name__}.{module}").DETECTOR
        out[detector.name] = detector
    return out


#: detector name -> :class:`~cevns_hf.detectors.base.Detector`
DETECTORS: dict[str, Detector] = _load()


def _choices() -> str:
    return ", ".join(sorted(DETECTORS)) + " (combine with +, e.g. csi2021+lar2020)"


def get_detector(name: str) -> Detector:
    """The registered detector called ``name``."""
    try:
        return DETECTORS[name]
    except KeyError:
        msg = f"unknown experiment {name!r}; valid choices: {_choices()}"
        raise ConfigurationError(msg) from None


def register(detector: Detector, *, replace: bool = False) -> Detector:
    """Register a detector defined outside the package under ``detector.name``; returns it."""
    if not isinstance(_as_object(detector), Detector):
        msg = f"expected an object implementing cevns_hf.detectors.Detector, got {type(detector).__name__}"
        raise ConfigurationError(msg)
    name = detector.name
    if not name or "+" in name or name != name.strip():
        msg = f"a detector name must be non-empty without '+' or surrounding spaces, got {name!r}"
        raise ConfigurationError(msg)
    if name in DETECTORS and not replace:
        msg = f"a detector called {name!r} is already registered; registered: {sorted(DETECTORS)}"
        raise ConfigurationError(msg)
    DETECTORS[name] = detector
    return detector


def unregister(name: str) -> None:
    """Remove a detector registered with :func:`register` (the package's own detectors stay)."""
    if name in _MODULES:
        msg = f"{name!r} is one of the package's detectors and cannot be removed"
        raise ConfigurationError(msg)
    DETECTORS.pop(name, None)


def resolve(experiments: str | Detector | Sequence[str | Detector]) -> tuple[Detector, ...]:
    """Detector objects of ``"a+b"``, a detector, or a sequence of names / detectors; each at most once.

    Example:
        >>> [d.name for d in resolve("csi2021+lar2020")]
        ['csi2021', 'lar2020']
    """
    items: Sequence[str | Detector] = [experiments] if isinstance(experiments, str | Detector) else experiments
    out: list[Detector] = []
    for item in items:
        if isinstance(item, str):
            parts = [p.strip() for p in item.split("+")]
            if not all(parts):
                msg = f"expected experiment names joined by '+', got {item!r}; valid choices: {_choices()}"
                raise ConfigurationError(msg)
            out.extend(get_detector(p) for p in parts)
        elif isinstance(_as_object(item), Detector):
            out.append(item)
        else:
            msg = f"expected an experiment name or a Detector, got {type(item).__name__}"
            raise ConfigurationError(msg)
    if not out:
        msg = f"no experiment given; valid choices: {_choices()}"
        raise ConfigurationError(msg)
    names = [d.name for d in out]
    if len(set(names)) != len(names):
        msg = f"each experiment may appear once, got {'+'.join(names)}"
        raise ConfigurationError(msg)
    return tuple(out)


def templates(experiment: str | Detector, model: PhysicsModel | None = None) -> Templates:
    """Templates of one detector (given by name or object) at a hypothesis (the SM by default)."""
    (detector,) = resolve(experiment)
    return detector.templates(model)
