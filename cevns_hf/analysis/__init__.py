"""The main job ``cevns-hf run``: configuration, the job itself, the results page."""

from __future__ import annotations

__all__: list[str] = []
