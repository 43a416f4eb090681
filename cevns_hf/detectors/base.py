"""The :class:`Detector` protocol: what the rest of the pipeline needs from a detector.

A detector turns a physics hypothesis into binned templates: its exposure to a neutrino source
(:class:`~cevns_hf.sources.base.Source`), targets, energy and time response, backgrounds and observed data.
Everything downstream (workspaces, scans, limits, the main job, the command line) sees detectors only
through this protocol, so a new detector is one module plus one line in
:data:`cevns_hf.detectors.DETECTORS` (or :func:`cevns_hf.detectors.register` at run time).

:class:`ConfiguredDetector` is a convenience base for detectors whose inputs are one frozen dataclass
``config``: it provides :meth:`~ConfiguredDetector.configure`.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol, TypeVar, runtime_checkable

from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.sources.base import Source
from cevns_hf.templates.histograms import Sample, Templates

__all__ = ["ConfiguredDetector", "Detector"]


def __dir__() -> list[str]:
    return __all__


@runtime_checkable
class Detector(Protocol):
    """A detector of the pipeline."""

    @property
    def name(self) -> str:
        """Registry name and workspace channel name (``"csi2021"``)."""
        ...

    @property
    def description(self) -> str:
        """One line for listings (``cevns-hf detectors``)."""
        ...

    @property
    def source(self) -> Source:
        """The neutrino source the detector sees."""
        ...

    @property
    def releases(self) -> tuple[str, ...]:
        """The data releases (:mod:`cevns_hf.data`) its model reads."""
        ...

    def templates(self, model: PhysicsModel | None = None) -> Templates:
        """Every sample's templates at a hypothesis (the Standard Model by default), with the observed data."""
        ...

    def neutrino_samples(self, model: PhysicsModel) -> tuple[Sample, ...]:
        """The hypothesis-dependent samples (``cevns``, and ``es`` where modelled) with their systematics.

        A model whose parameters are (H, 1) arrays (a grid of H hypotheses) may give histograms with a
        leading axis H; a detector that does not vectorise returns the samples of a single hypothesis and
        the caller loops.
        """
        ...

    def configure(self, **options: Any) -> Detector:
        """A copy with some inputs changed (e.g. ``use_f90=True``); unknown options raise."""
        ...


_D = TypeVar("_D", bound="ConfiguredDetector")


@dataclasses.dataclass(frozen=True)
class ConfiguredDetector:
    """Base of the detectors whose inputs are one frozen dataclass (``config``)."""

    config: Any

    def configure(self: _D, **options: Any) -> _D:
        """A copy with the named fields of ``config`` replaced.

        Raises:
            ConfigurationError: an option that is not a field of the configuration, or an invalid value.
        """
        valid = sorted(f.name for f in dataclasses.fields(self.config))
        unknown = sorted(set(options) - set(valid))
        if unknown:
            name = getattr(self, "name", type(self).__name__)
            msg = f"detector {name!r} has no option {unknown[0]!r}; valid options: {', '.join(valid)}"
            raise ConfigurationError(msg)
        replaced = getattr(self.config, "replaced", None)  # a config whose fields depend on each other
        config = replaced(**options) if callable(replaced) else dataclasses.replace(self.config, **options)
        return dataclasses.replace(self, config=config)
