"""Notebooks stay runnable: every code cell of every notebook is executed in order (outputs are not kept)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parents[2] / "notebooks").glob("*.ipynb"))


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path) -> None:
    notebook = json.loads(path.read_text())
    namespace: dict[str, object] = {}
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert not cell.get("outputs"), f"{path.name}: outputs must be stripped"
            exec(compile("".join(cell["source"]), f"{path.name}", "exec"), namespace)


def test_there_is_a_notebook() -> None:
    assert NOTEBOOKS
