"""Property-based fuzzing of every text input a user types: nothing may escape the package's exception
hierarchy (:class:`cevns_hf.exceptions.CevnsHFError`). About 10^3 examples here; ``benchmarks/fuzz_inputs.py``
runs >= 10^5."""

from __future__ import annotations

import contextlib
import random
import tempfile
from pathlib import Path

import pytest
import yaml

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from cevns_hf._fuzz import CONFIG_SEEDS, GRID_SEEDS, HYPOTHESIS_SEEDS, TOKENS, mutate  # noqa: E402
from cevns_hf.analysis.config import load_config  # noqa: E402
from cevns_hf.bsm.family import get_family, parse_hypothesis  # noqa: E402
from cevns_hf.bsm.grid import check_grid  # noqa: E402
from cevns_hf.cli._grid import parse_grid  # noqa: E402
from cevns_hf.exceptions import CevnsHFError  # noqa: E402

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
_TMP = Path(tempfile.mkdtemp(prefix="cevns-hf-fuzz-"))

tokens = st.lists(st.sampled_from(TOKENS), max_size=12).map("".join)
texts = st.one_of(st.text(max_size=60), tokens)


def _only_package_errors(func: object, *args: object) -> None:
    with contextlib.suppress(CevnsHFError):
        func(*args)  # type: ignore[operator]


@FUZZ
@given(st.one_of(texts, st.builds(mutate, st.sampled_from(HYPOTHESIS_SEEDS), st.randoms(use_true_random=False))))
def test_parse_hypothesis_fuzz(text: str) -> None:
    _only_package_errors(parse_hypothesis, text)


@FUZZ
@given(
    st.lists(st.one_of(texts, st.sampled_from([i for seed in GRID_SEEDS for i in seed])), min_size=1, max_size=3),
    st.lists(texts, max_size=2),
    st.sampled_from(["nsi", "sterile", "light_vector", "neutron_radius", "weak_mixing"]),
    st.randoms(use_true_random=False),
)
def test_grid_parser_fuzz(items: list[str], logs: list[str], family: str, rng: random.Random) -> None:
    items = [mutate(i, rng, rng.randint(0, 2)) for i in items]

    def parse_and_check() -> None:
        check_grid(get_family(family), parse_grid(items, logs))

    _only_package_errors(parse_and_check)


@FUZZ
@given(st.one_of(st.text(max_size=200), tokens, st.binary(max_size=100)))
def test_load_config_random_text(data: str | bytes) -> None:
    path = _TMP / "random.yaml"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    _only_package_errors(load_config, path)


@FUZZ
@given(st.sampled_from(CONFIG_SEEDS), st.randoms(use_true_random=False))
def test_load_config_mutated_text(seed: str, rng: random.Random) -> None:
    path = _TMP / "mutated.yaml"
    path.write_text(mutate(seed, rng), encoding="utf-8", errors="surrogatepass")
    _only_package_errors(load_config, path)


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12,
)


def _paths(value: object, prefix: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*prefix, i))
    return out


@FUZZ
@given(st.sampled_from(CONFIG_SEEDS), st.data())
def test_load_config_mutated_structure(seed: str, data: st.DataObject) -> None:
    config = yaml.safe_load(seed)
    paths = [p for p in _paths(config) if p]
    target = data.draw(st.sampled_from(paths))
    node = config
    for key in target[:-1]:
        node = node[key]
    node[target[-1]] = data.draw(json_values)
    path = _TMP / "structure.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    _only_package_errors(load_config, path)
