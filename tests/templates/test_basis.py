"""The exact polynomial bases against the rate engine: random points of every polynomial family."""

from __future__ import annotations

import dataclasses
from unittest import mock

import numpy as np
import pytest

from cevns_hf.bsm import FAMILIES
from cevns_hf.bsm.family import Polynomial
from cevns_hf.detectors import get_detector
from cevns_hf.templates import basis as basis_module
from cevns_hf.templates.basis import BasisError, build_basis, fitting_box, monomial_exponents
from cevns_hf.templates.batch import engine_neutrino_samples, grid_neutrino_samples

POLYNOMIAL = sorted(name for name, fam in FAMILIES.items() if fam.polynomial is not None)
#: Slice values of the non-polynomial parameters (mediator masses, sterile mass splitting) tried too.
SLICES = {
    "light_vector": {"mass_mev": 25.0},
    "light_scalar": {"mass_mev": 3.0},
    "sterile": {"dm41_ev2": 1.7},
    "dipole_portal": {"m4_mev": 20.0},
}


def _random_points(family_name: str, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Random points over each variable's whole range, and near the SM (couplings of realistic size)."""
    fam = FAMILIES[family_name]
    assert fam.polynomial is not None
    out = {}
    for v in fam.polynomial.variables:
        p = fam.parameter(v)
        wide = p.lo + (p.hi - p.lo) * rng.random(n // 2)
        narrow = p.sm + 1e-3 * (p.hi - p.lo) * (rng.random(n - n // 2) - 0.5) * (p.lo < p.sm)
        narrow = np.clip(narrow, p.lo, p.hi)
        out[v] = np.concatenate([wide, narrow])
    if family_name == "sterile":  # unitarity: |U_e4|^2 + |U_mu4|^2 <= 1
        total = out["ue4_sq"] + out["umu4_sq"]
        out = {k: np.where(total > 1, 0.999 * v / np.maximum(total, 1.0), v) for k, v in out.items()}
    return out


def _rows(sample, index):  # the sample at some points
    return dataclasses.replace(
        sample, nominal=sample.nominal[index], shapes={k: (u[index], d[index]) for k, (u, d) in sample.shapes.items()}
    )


def _max_relative(a: tuple, b: tuple) -> float:
    worst = 0.0
    for sa, sb in zip(a, b, strict=True):
        pairs = [(sa.nominal, sb.nominal)] + [(sa.shapes[k][j], sb.shapes[k][j]) for k in sa.shapes for j in (0, 1)]
        for x, y in pairs:
            scale = max(float(np.max(np.abs(y))), 1e-300)
            worst = max(worst, float(np.max(np.abs(np.asarray(x) - np.asarray(y)))) / scale)
    return worst


@pytest.mark.parametrize("experiment", ["csi2021", "lar2020", "csi2017"])
@pytest.mark.parametrize("family_name", POLYNOMIAL)
def test_basis_equals_engine_at_random_points(experiment: str, family_name: str) -> None:
    det, fam = get_detector(experiment), FAMILIES[family_name]
    rng = np.random.default_rng(abs(hash((experiment, family_name))) % 2**32)
    for fixed in ({}, SLICES.get(family_name)):
        if fixed is None:
            continue
        assert fam.polynomial is not None
        points = _random_points(family_name, 40, rng)
        want = engine_neutrino_samples(det, fam, points, fixed=fixed)
        b = build_basis(det, fam, fam.polynomial.variables, fixed)  # the whole physical range
        assert _max_relative(b.samples_at(points), want) < 1e-10
        assert b.precision < 1e-10
        near = {k: v[20:] for k, v in points.items()}  # near the SM: a box fitted to them
        fitted = build_basis(det, fam, fam.polynomial.variables, fixed, box=fitting_box(fam, near))
        assert _max_relative(fitted.samples_at(near), tuple(_rows(s, slice(20, None)) for s in want)) < 1e-10


def test_basis_in_a_subset_of_variables_and_the_grid_path() -> None:
    """A 2D NSI grid (the other eps at fixed non-zero values) through grid_neutrino_samples uses the basis."""
    det, fam = get_detector("csi2021"), FAMILIES["nsi"]
    u, d = np.meshgrid(np.linspace(-0.5, 0.5, 7), np.linspace(-0.4, 0.6, 6))
    values = {"eps_ee_u": u.ravel(), "eps_ee_d": d.ravel()}
    fixed = {"eps_mumu_u": 0.05, "eps_emu_d": -0.1}
    basis_module.clear_cache()
    with mock.patch.object(basis_module, "build_basis", wraps=basis_module.build_basis) as built:
        got = grid_neutrino_samples(det, fam, values, fixed=fixed)
    assert built.call_count == 1
    want = engine_neutrino_samples(det, fam, values, fixed=fixed)
    assert _max_relative(got, want) < 1e-10


def test_mass_slices_each_get_their_basis() -> None:
    """A light-vector grid over two masses x many couplings: one basis per mass, rows back in the input order."""
    det, fam = get_detector("lar2020"), FAMILIES["light_vector"]
    g = np.linspace(-1e-4, 1e-4, 60)  # > 3 x 15 monomials per mass: the basis pays
    values = {"mass_mev": np.repeat([5.0, 50.0], 60)[::-1], "g_q": np.tile(g, 2), "g_nu": np.tile(g, 2)[::-1]}
    basis_module.clear_cache()
    with mock.patch.object(basis_module, "build_basis", wraps=basis_module.build_basis) as built:
        got = grid_neutrino_samples(det, fam, values)
    assert built.call_count == 2
    assert _max_relative(got, engine_neutrino_samples(det, fam, values)) < 1e-10


def test_a_wrong_declaration_is_refused() -> None:
    """Declaring the light vector quadratic (it is quartic) or the neutron radius polynomial raises BasisError."""
    det = get_detector("lar2020")
    quadratic = dataclasses.replace(FAMILIES["light_vector"], polynomial=Polynomial(("g_nu", "g_q"), 2))
    with pytest.raises(BasisError, match="not a polynomial of degree 2"):
        build_basis(det, quadratic, ("g_nu", "g_q"))
    radius = dataclasses.replace(FAMILIES["neutron_radius"], polynomial=Polynomial(("r_n_ar",), 4))
    with pytest.raises(BasisError, match="deviates from the engine"):
        build_basis(det, radius, ("r_n_ar",))
    with pytest.raises(BasisError, match="not declared polynomial"):
        build_basis(det, FAMILIES["nsi"], ("eps_ee_u", "mass_mev"))


def test_grid_values_are_still_validated_on_the_basis_path() -> None:
    from cevns_hf.bsm.family import HypothesisError

    with pytest.raises(HypothesisError, match="eps_ee_u"):
        grid_neutrino_samples(get_detector("csi2021"), FAMILIES["nsi"], {"eps_ee_u": np.linspace(0, 7, 50)})


def test_monomials_count() -> None:
    assert monomial_exponents(3, 4).shape == (35, 3)  # C(7, 4)
    assert monomial_exponents(10, 2).shape == (66, 10)
