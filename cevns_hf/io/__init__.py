"""Input and output at the edges: atomic file writes, ROOT files through uproot."""

from __future__ import annotations

__all__: list[str] = []
