"""The COHERENT data releases: the release table, local store and verification, downloads."""

from __future__ import annotations

__all__: list[str] = []
