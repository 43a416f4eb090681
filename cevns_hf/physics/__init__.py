"""Physics core: constants, nuclei, form factors, the CEvNS and neutrino-electron cross sections, and the
physics model seen by the rate engine (:class:`~cevns_hf.physics.model.PhysicsModel`), one module each.
Neutrino sources live in :mod:`cevns_hf.sources`."""

from __future__ import annotations

from cevns_hf.physics import cevns, constants, electron, form_factors, model, nuclei

__all__ = ["cevns", "constants", "electron", "form_factors", "model", "nuclei"]


def __dir__() -> list[str]:
    return __all__
