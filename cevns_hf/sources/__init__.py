"""Neutrino sources, one module each, and their registry.

Adding a source (e.g. reactor antineutrinos): write ``cevns_hf/sources/<source>.py`` with a ``SOURCE``
object implementing :class:`~cevns_hf.sources.base.Source`, and add its module name to :data:`_MODULES`.
Sources defined outside the package can be added at run time with :func:`register`.
"""

from __future__ import annotations

import importlib

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.sources.base import Source

__all__ = ["SOURCES", "Source", "get_source", "register"]


def __dir__() -> list[str]:
    return __all__


def _as_object(value: object) -> object:
    """``value`` typed as ``object``, for run-time checks of arguments that callers may get wrong."""
    return value


#: One line per source module.
_MODULES = ("sns_pidar",)


def _load() -> dict[str, Source]:
    out: dict[str, Source] = {}
    for module in _MODULES:
        source: Source = importlib.import_module(f"{__name__}.{module}").SOURCE
        out[source.name] = source
    return out


#: source name -> :class:`~cevns_hf.sources.base.Source`
SOURCES: dict[str, Source] = _load()


def get_source(name: str) -> Source:
    """The registered source called ``name``."""
    try:
        return SOURCES[name]
    except KeyError:
        msg = f"unknown neutrino source {name!r}; valid choices: {sorted(SOURCES)}"
        raise ConfigurationError(msg) from None


def register(source: Source, *, replace: bool = False) -> Source:
    """Register a source defined outside the package (a plugin, a test) under ``source.name``."""
    if not isinstance(_as_object(source), Source):
        msg = f"expected an object implementing cevns_hf.sources.Source, got {type(source).__name__}"
        raise ConfigurationError(msg)
    if source.name in SOURCES and not replace:
        msg = f"a source called {source.name!r} is already registered; registered: {sorted(SOURCES)}"
        raise ConfigurationError(msg)
    SOURCES[source.name] = source
    return source
