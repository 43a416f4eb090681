"""Plots that return matplotlib Figures; the caller saves them."""

from __future__ import annotations

__all__: list[str] = []
