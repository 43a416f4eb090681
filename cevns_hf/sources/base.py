r"""The :class:`Source` protocol: what the rate engine needs from a neutrino source.

A source emits a set of flavours; each flavour's energy distribution is either a line (a monochromatic
component such as the prompt nu_mu of pion decay at rest) or a normalised continuous spectrum on
``[energy_range[0], energy_range[1]]``. The flux normalisation and the timing belong to the detector's
exposure (protons on target, reactor power, baseline) and are applied by the detector modules.

The rate engine integrates

.. math::
    \int dE\, \phi_f(E)\, \frac{d\sigma}{dT}(E, T)

either at the line energy or by Gauss-Legendre quadrature of :meth:`Source.spectrum_pdf` from
:math:`\max(E_{min}(T), E_{lo})` to :math:`E_{hi}`. Adding a source (e.g. reactor antineutrinos) means one
module implementing this protocol and one line in :data:`cevns_hf.sources.SOURCES`.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy.typing as npt

from cevns_hf._typing import FloatArray

__all__ = ["Source"]


def __dir__() -> list[str]:
    return __all__


@runtime_checkable
class Source(Protocol):
    """A neutrino source: its flavours and their energy distributions (energies in MeV)."""

    @property
    def name(self) -> str:
        """Registry name (``"sns_pidar"``)."""
        ...

    @property
    def description(self) -> str:
        """One line for listings."""
        ...

    @property
    def flavours(self) -> tuple[str, ...]:
        """The emitted flavours (names of :mod:`cevns_hf.physics.flavours`), in the order of the
        flavour axis of the rate engine's spectra."""
        ...

    def line_energy(self, flavour: str) -> float | None:
        """Energy of a monochromatic flavour, None for a continuous spectrum."""
        ...

    def energy_range(self, flavour: str) -> tuple[float, float]:
        """(lowest, highest) neutrino energy of a flavour (both equal to the line energy for a line)."""
        ...

    def spectrum_pdf(self, flavour: str, e_nu: npt.ArrayLike) -> FloatArray:
        """Normalised dN/dE [1/MeV] of a continuous flavour (zero outside its energy range)."""
        ...
