"""A detector whose templates use a user's own nominal histograms for some samples (e.g. from ROOT).

:class:`WithTemplates` wraps any :class:`~cevns_hf.detectors.base.Detector`: every workspace, fit or scan
built from it sees the replaced nominals (:meth:`~cevns_hf.templates.histograms.Templates.with_nominal`:
relative normalisation uncertainties kept, shape variations rescaled bin by bin). A hypothesis-dependent
sample (``cevns``, ``es``) can be replaced only for the Standard Model: a fixed user template cannot follow a
BSM hypothesis, so asking for one raises instead of silently testing nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from cevns_hf._typing import FloatArray
from cevns_hf.detectors.base import Detector
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.physics.model import PhysicsModel
from cevns_hf.sources.base import Source
from cevns_hf.templates.histograms import Sample, Templates

__all__ = ["HYPOTHESIS_DEPENDENT", "OBSERVED", "WithTemplates"]


def __dir__() -> list[str]:
    return __all__


#: Samples that change with the hypothesis.
HYPOTHESIS_DEPENDENT = ("cevns", "es")
#: The key that replaces the observed counts instead of a sample.
OBSERVED = "data"


@dataclasses.dataclass(frozen=True)
class WithTemplates:
    """``inner`` with the nominal of each sample in ``nominals`` replaced (the key ``"data"``: the observed counts)."""

    inner: Detector
    nominals: Mapping[str, FloatArray]

    @property
    def name(self) -> str:
        """The inner detector's name (the channel)."""
        return self.inner.name

    @property
    def description(self) -> str:
        """The inner description, with the replaced samples."""
        return f"{self.inner.description}; user templates for {', '.join(sorted(self.nominals))}"

    @property
    def source(self) -> Source:
        """The inner detector's source."""
        return self.inner.source

    @property
    def releases(self) -> tuple[str, ...]:
        """The inner detector's releases."""
        return self.inner.releases

    def _dynamic(self) -> list[str]:
        return sorted(set(self.nominals) & set(HYPOTHESIS_DEPENDENT))

    def templates(self, model: PhysicsModel | None = None) -> Templates:
        """The inner templates with the user's nominals."""
        if model is not None and self._dynamic():
            msg = (
                f"{self.name}: the user templates for {self._dynamic()} are fixed histograms and cannot follow "
                "a BSM hypothesis; replace background samples only, or use the Standard Model"
            )
            raise ConfigurationError(msg)
        out = self.inner.templates(model)
        for sample, values in self.nominals.items():
            out = out.with_observed(values) if sample == OBSERVED else out.with_nominal(sample, values)
        return out

    def neutrino_samples(self, model: PhysicsModel) -> tuple[Sample, ...]:
        """The inner hypothesis-dependent samples (refused when the user replaced one of them)."""
        if self._dynamic():
            msg = f"{self.name}: user templates for {self._dynamic()} cannot follow a grid of hypotheses"
            raise ConfigurationError(msg)
        return self.inner.neutrino_samples(model)

    def configure(self, **options: Any) -> WithTemplates:
        """The inner detector configured, the user's nominals kept."""
        return dataclasses.replace(self, inner=self.inner.configure(**options))
