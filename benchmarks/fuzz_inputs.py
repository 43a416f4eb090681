"""Fuzz every text input a user types with >= 10^5 random and mutated inputs; print one JSON line.

    python benchmarks/fuzz_inputs.py [--n 100000] [--seed 0]

Targets: ``parse_hypothesis`` (random and mutated hypothesis text), the CLI grid parser with the grid checks
(``cevns_hf.cli._grid.parse_grid`` + ``cevns_hf.bsm.grid.check_grid``) and ``load_config`` (mutated valid
configurations and random bytes, through a file). An input "escapes" when it raises anything outside
``cevns_hf.exceptions.CevnsHFError``; the output is ``{"inputs": N, "escaped": 0, "seconds": ...}`` and the
exit code is 1 when anything escaped (the first few are printed on stderr).
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cevns_hf._fuzz import CONFIG_SEEDS, GRID_SEEDS, HYPOTHESIS_SEEDS, TOKENS, mutate
from cevns_hf.analysis.config import load_config
from cevns_hf.bsm.family import get_family, parse_hypothesis
from cevns_hf.bsm.grid import check_grid
from cevns_hf.cli._grid import parse_grid
from cevns_hf.exceptions import CevnsHFError

FAMILIES = ("nsi", "light_vector", "sterile", "weak_mixing", "neutron_radius")


def _hypothesis(rng: random.Random) -> None:
    if rng.random() < 0.2:
        text = "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 12)))
    else:
        text = mutate(rng.choice(HYPOTHESIS_SEEDS), rng)
    parse_hypothesis(text)


def _grid(rng: random.Random) -> None:
    items = [mutate(item, rng, rng.randint(0, 3)) for item in rng.choice(GRID_SEEDS)]
    logs = [item.partition("=")[0] for item in items if rng.random() < 0.3]
    if rng.random() < 0.2:
        logs.append(rng.choice(TOKENS))
    grid = parse_grid(items, logs)
    check_grid(get_family(rng.choice(FAMILIES)), grid)


def _config(rng: random.Random, path: Path) -> None:
    if rng.random() < 0.1:
        path.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randint(0, 64))))
    else:
        path.write_text(mutate(rng.choice(CONFIG_SEEDS), rng), encoding="utf-8", errors="surrogatepass")
    load_config(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    escaped: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run.yaml"
        targets: list[Callable[[random.Random], None]] = [_hypothesis, _grid, lambda r: _config(r, path)]
        for i in range(args.n):
            state = rng.getstate()
            try:
                targets[i % 3](rng)
            except CevnsHFError:
                pass
            except Exception as err:
                escaped.append(f"input {i} ({targets[i % 3].__name__}): {type(err).__name__}: {err}")
                rng.setstate(state)
                rng.random()
    seconds = time.perf_counter() - started
    for line in escaped[:10]:
        print(line, file=sys.stderr)
    print(json.dumps({"inputs": args.n, "escaped": len(escaped), "seconds": round(seconds, 1)}))
    return 1 if escaped else 0


if __name__ == "__main__":
    sys.exit(main())
