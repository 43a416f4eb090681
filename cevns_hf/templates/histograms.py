"""Binned templates: the interface between the physics/detector models and the workspace builder.

A :class:`Templates` holds, for one experiment, every sample's nominal histogram, its shape
systematics as absolute +-1 sigma histograms, its linear normalisation uncertainties, the observed data
and the binning. All histograms share the experiment's bin layout, e.g. (energy, time) or
(energy, F90, time).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from cevns_hf._typing import FloatArray
from cevns_hf.exceptions import ConfigurationError

__all__ = ["Axis", "Sample", "Templates"]


def __dir__() -> list[str]:
    return __all__


@dataclass(frozen=True)
class Axis:
    """A binned observable: name, unit and bin edges."""

    name: str
    unit: str
    edges: tuple[float, ...]

    @property
    def n_bins(self) -> int:
        """Number of bins."""
        return len(self.edges) - 1


@dataclass(frozen=True)
class Sample:
    """One sample of an experiment.

    Attributes:
        name: sample name (``cevns``, ``es``, ``brn``, ``nin``, ``ssb``, ``dbrn``).
        nominal: expected counts per bin at nominal nuisance parameters.
        norms: nuisance name -> relative 1-sigma of a linear normalisation (1 + sigma * theta).
        shapes: nuisance name -> (up, down) absolute histograms at theta = +1 / -1.
    """

    name: str
    nominal: FloatArray
    norms: Mapping[str, float] = field(default_factory=dict)
    shapes: Mapping[str, tuple[FloatArray, FloatArray]] = field(default_factory=dict)

    @property
    def total(self) -> float:
        """Expected events over all bins."""
        return float(np.sum(self.nominal))


@dataclass(frozen=True)
class Templates:
    """All templates of one experiment at one hypothesis.

    Attributes:
        experiment: experiment name (``csi2021``, ``lar2020``, ``csi2017``).
        axes: the binned observables, in the order of the histogram axes.
        samples: the samples, signal first.
        observed: observed counts per bin.
        cevns_by_flavour: the CEvNS nominal template split by neutrino flavour.
    """

    experiment: str
    axes: tuple[Axis, ...]
    samples: tuple[Sample, ...]
    observed: FloatArray
    cevns_by_flavour: Mapping[str, FloatArray] = field(default_factory=dict)

    def sample(self, name: str) -> Sample:
        """The sample called ``name``."""
        for s in self.samples:
            if s.name == name:
                return s
        msg = f"{self.experiment} has no sample {name!r}; samples: {[s.name for s in self.samples]}"
        raise ConfigurationError(msg)

    @property
    def sample_names(self) -> tuple[str, ...]:
        """Names of the samples."""
        return tuple(s.name for s in self.samples)

    def without(self, names: Sequence[str]) -> Templates:
        """These templates with the samples called ``names`` left out (e.g. ``("es",)``)."""
        if not names:
            return self
        kept = tuple(s for s in self.samples if s.name not in names)
        return Templates(self.experiment, self.axes, kept, self.observed, self.cevns_by_flavour)

    def with_nominal(self, name: str, nominal: FloatArray) -> Templates:
        """These templates with the nominal of sample ``name`` replaced (a user's own template).

        The sample keeps its normalisation uncertainties (relative, so they apply to the new nominal); its
        shape variations are rescaled bin by bin by new / old nominal, so they keep their relative size.

        Raises:
            ConfigurationError: unknown sample, or a histogram of another shape or with negative or
                non-finite entries.
        """
        old = self.sample(name)
        new = np.asarray(nominal, dtype=float)
        if new.shape != np.shape(old.nominal):
            msg = (
                f"the template for {self.experiment}/{name} has shape {new.shape}; the channel's binning is "
                f"{np.shape(old.nominal)} ({' x '.join(a.name for a in self.axes)})"
            )
            raise ConfigurationError(msg)
        if not np.all(np.isfinite(new)) or np.any(new < 0):
            msg = f"the template for {self.experiment}/{name} must have finite, non-negative bin contents"
            raise ConfigurationError(msg)
        base = np.asarray(old.nominal, dtype=float)
        ratio = np.divide(new, base, out=np.ones_like(new), where=base > 0)
        shapes = {k: (np.asarray(u) * ratio, np.asarray(d) * ratio) for k, (u, d) in old.shapes.items()}
        replaced = Sample(old.name, new, old.norms, shapes)
        samples = tuple(replaced if s.name == name else s for s in self.samples)
        return Templates(self.experiment, self.axes, samples, self.observed, self.cevns_by_flavour)

    def with_observed(self, observed: FloatArray) -> Templates:
        """These templates with other observed counts (e.g. a user's events binned by
        :func:`cevns_hf.io.ntuple.histogram_events`); shape and non-negativity are checked."""
        new = np.asarray(observed, dtype=float)
        if new.shape != np.shape(self.observed):
            msg = (
                f"the data for {self.experiment} have shape {new.shape}; "
                f"the channel's binning is {np.shape(self.observed)}"
            )
            raise ConfigurationError(msg)
        if not np.all(np.isfinite(new)) or np.any(new < 0):
            msg = f"the data for {self.experiment} must be finite, non-negative counts"
            raise ConfigurationError(msg)
        return Templates(self.experiment, self.axes, self.samples, new, self.cevns_by_flavour)

    def totals(self) -> dict[str, float]:
        """Expected events per sample in the analysis region at nominal nuisances."""
        return {s.name: s.total for s in self.samples}

    def projection(self, values: FloatArray, axis: str) -> FloatArray:
        """Project a histogram of this layout onto one axis (sum over the others)."""
        names = [a.name for a in self.axes]
        if axis not in names:
            msg = f"no axis {axis!r}; axes: {names}"
            raise ConfigurationError(msg)
        keep = names.index(axis)
        return np.asarray(values.sum(axis=tuple(i for i in range(len(names)) if i != keep)), dtype=float)
