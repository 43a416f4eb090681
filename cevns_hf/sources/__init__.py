"""Neutrino sources: one module per source (flavours, energy spectra, arrival times) and a registry."""

from __future__ import annotations

__all__: list[str] = []
