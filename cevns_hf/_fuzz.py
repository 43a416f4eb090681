"""Input mutators shared by the fuzz tests and ``benchmarks/fuzz_inputs.py``: valid seeds of every text
input a user types (hypotheses, grid axes, run configurations) and random mutations of them.

Used only by tests and benchmarks; the checks they exercise live in :mod:`cevns_hf._parse`,
:mod:`cevns_hf.bsm.grid`, :mod:`cevns_hf.cli._grid` and :mod:`cevns_hf.analysis.config`.
"""

from __future__ import annotations

import random

__all__ = ["CONFIG_SEEDS", "GRID_SEEDS", "HYPOTHESIS_SEEDS", "TOKENS", "mutate"]


def __dir__() -> list[str]:
    return __all__


HYPOTHESIS_SEEDS = (
    "nsi:eps_ee_u=0.1,eps_ee_d=-0.05",
    "sterile:ue4_sq=0.1,umu4_sq=0.2,dm41_ev2=1.5",
    "neutron_radius:r_n=5.5",
    "light_vector:mass_mev=10,g_nu=1e-5,g_q=1e-5",
    "magnetic_moment:mu_nu_mu=5e-9",
    "weak_mixing:sin2_theta_w=0.24",
    "sm",
)
GRID_SEEDS = (
    ("eps_ee_u=-0.5:0.5:11", "eps_ee_d=-0.5:0.5:11"),
    ("mass_mev=1:1000:10", "g_nu=1e-6:1e-4:10"),
    ("ue4_sq=0:0.5:6", "umu4_sq=0:0.5:6"),
    ("sin2_theta_w=0.1:0.4:61",),
)
CONFIG_SEEDS = (
    "version: 1\nsm_fits: [csi2021]\nscans:\n  - name: wm\n    family: weak_mixing\n    experiment: csi2021\n"
    "    grid:\n      sin2_theta_w: {lo: 0.15, hi: 0.35, n: 9}\n",
    "version: 1\nscans:\n  - name: st\n    family: sterile\n    experiment: csi2021+lar2020\n    grid:\n"
    "      dm41_ev2: {lo: 0.1, hi: 100, n: 5, log: true}\n      umu4_sq: {lo: 0.001, hi: 0.5, n: 4, log: true}\n"
    "    fixed: {ue4_sq: 0.1}\npatchsets:\n  - name: mm\n    family: magnetic_moment\n    experiment: csi2021\n"
    "    grid:\n      mu_nu_mu: {lo: 1.0e-9, hi: 5.0e-9, n: 3}\n",
    "version: 1\nscans:\n  - &s {name: a, family: nsi, experiment: lar2020, grid: {eps_ee_u: {lo: -1, hi: 1, n: 3}},"
    " profile: [eps_ee_d]}\n",
)
#: Fragments that tend to break parsers: separators, number forms, YAML syntax, odd characters.
TOKENS = (
    ":", "=", ",", "_", ".", "-", "+", "e", "E", "0", "1", "9", " ", "\t", "\n", "nan", "inf", "-inf", "1e400",
    "0_1", "0x1f", "１", "\x00", "\u202e", "\ud7ff", "[", "]", "{", "}", "&a", "*a", "!!set", "!!binary", "? ",
    "<<: ", "---", "...", "#", "'", '"', "\\", "|", ">", "%", "@", "`", "~", "null", "true", "1e-300", "1e308",
    "99999999999999999999", "-0", ".5", "5.", "csi2021", "lar2020", "nsi", "sterile", "r_n", "lo", "hi", "n",
    "log", "grid", "scans", "version", "name", "fixed", "profile", "patchsets", "sm_fits", "2020-01-01",
)  # fmt: skip


def mutate(text: str, rng: random.Random, rounds: int | None = None) -> str:
    """``text`` with 1-4 random edits: insert, delete, replace, duplicate a slice, or swap two slices."""
    out = text
    for _ in range(rounds if rounds is not None else rng.randint(1, 4)):
        i = rng.randint(0, len(out))
        j = min(len(out), i + rng.randint(0, 8))
        op = rng.randrange(5)
        if op == 0:
            out = out[:i] + rng.choice(TOKENS) + out[i:]
        elif op == 1:
            out = out[:i] + out[j:]
        elif op == 2:
            out = out[:i] + rng.choice(TOKENS) + out[j:]
        elif op == 3:
            out = out[:j] + out[i:j] + out[j:]
        else:
            k = rng.randint(0, len(out))
            a, b = sorted((i, k))
            out = out[:a] + out[b:] + out[a:b]
    return out
