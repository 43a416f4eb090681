"""Neutrino flavours as the cross sections see them: lepton flavour and neutrino or antineutrino.

Names: ``nu_e``, ``nu_mu`` and their antineutrinos ``nu_e_bar``, ``nu_mu_bar``. Which flavours a source
emits is a property of the source (:mod:`cevns_hf.sources`); the cross sections only need the lepton
flavour (the charged-current part of neutrino-electron scattering, flavour-dependent radiative
corrections and BSM couplings) and whether the particle is an antineutrino (the sign of the axial
interference terms). tau flavours are not modelled: no source of the package emits them at these energies.

Example:
    >>> lepton_flavour("nu_mu_bar"), is_antineutrino("nu_mu_bar")
    ('mu', True)
"""

from __future__ import annotations

from typing import Final, Literal

from cevns_hf.exceptions import ConfigurationError

__all__ = ["NEUTRINO_FLAVOURS", "check_flavour", "is_antineutrino", "lepton_flavour"]


def __dir__() -> list[str]:
    return __all__


#: Every neutrino flavour the cross sections accept.
NEUTRINO_FLAVOURS: Final[tuple[str, ...]] = ("nu_e", "nu_mu", "nu_e_bar", "nu_mu_bar")


def check_flavour(flavour: str) -> str:
    """Validate a flavour name and return it; raise :class:`~cevns_hf.exceptions.ConfigurationError` otherwise."""
    if flavour not in NEUTRINO_FLAVOURS:
        msg = f"unknown neutrino flavour {flavour!r}; valid choices: {list(NEUTRINO_FLAVOURS)}"
        raise ConfigurationError(msg)
    return flavour


def is_antineutrino(flavour: str) -> bool:
    """True for antineutrino flavours (``*_bar``)."""
    return check_flavour(flavour).endswith("_bar")


def lepton_flavour(flavour: str) -> Literal["e", "mu"]:
    """The charged-lepton flavour (``"e"`` or ``"mu"``) of a neutrino flavour."""
    return "e" if check_flavour(flavour).startswith("nu_e") else "mu"
