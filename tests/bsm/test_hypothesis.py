"""Hypotheses: the text form, validation with clear messages, the registry, the SM limit of every family."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cevns_hf.bsm import FAMILIES
from cevns_hf.bsm.family import Hypothesis, HypothesisError, get_family, parse_hypothesis
from cevns_hf.detectors import csi2021, get_detector, lar2020
from cevns_hf.templates.batch import grid_neutrino_samples

ALL_FAMILIES = sorted(set(FAMILIES) - {"sm"})


def test_registry_has_every_family_of_the_contract() -> None:
    expected = {
        "weak_mixing",
        "neutron_radius",
        "nsi",
        "ngi",
        "light_vector",
        "light_scalar",
        "magnetic_moment",
        "charge_radius",
        "millicharge",
        "sterile",
        "dipole_portal",
    }
    assert expected <= set(FAMILIES)


@pytest.mark.parametrize(
    ("family", "names"),
    [
        ("weak_mixing", {"sin2_theta_w"}),
        ("neutron_radius", {"r_n_cs", "r_n_i", "r_n_ar", "r_n"}),
        ("nsi", {f"eps_{f}_{q}" for f in ("ee", "mumu", "emu", "etau", "mutau") for q in "ud"}),
        ("light_vector", {"mass_mev", "g_nu", "g_q", "g_e"}),
        ("light_scalar", {"mass_mev", "g_nu", "g_q", "g_e"}),
        ("magnetic_moment", {"mu_nu_e", "mu_nu_mu"}),
        ("charge_radius", {"r2_ee", "r2_mumu", "r2_emu", "r2_etau", "r2_mutau"}),
        ("millicharge", {"q_ee", "q_mumu", "q_emu", "q_etau", "q_mutau"}),
        ("sterile", {"dm41_ev2", "ue4_sq", "umu4_sq"}),
        ("dipole_portal", {"m4_mev", "d_e", "d_mu"}),
    ],
)
def test_public_parameter_names(family: str, names: set[str]) -> None:
    assert names <= set(FAMILIES[family].parameter_names)


def test_text_form_round_trip() -> None:
    h = parse_hypothesis(" nsi:eps_ee_u=0.1, eps_ee_d=-0.05 ")
    assert h.family.name == "nsi"
    assert dict(h.values) == {"eps_ee_u": 0.1, "eps_ee_d": -0.05}
    assert parse_hypothesis(str(h)) == h
    assert parse_hypothesis("sm").is_sm
    assert parse_hypothesis("nsi").is_sm


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("nope:x=1", "unknown hypothesis family 'nope'; valid families: .*weak_mixing"),
        ("nsi:eps_xx_u=1", "no parameter 'eps_xx_u'; valid parameters: .*eps_ee_u"),
        ("nsi:eps_ee_u", "expected name=value"),
        ("nsi:eps_ee_u=abc", "is not a number"),
        ("nsi:eps_ee_u=nan", "finite"),
        ("nsi:eps_ee_u=inf", "finite"),
        ("nsi:eps_ee_u=1,eps_ee_u=2", "given twice"),
        ("light_vector:mass_mev=-1,g_nu=1e-5", "outside its physical range"),
        ("neutron_radius:r_n_cs=0", r"outside its physical range: expected r_n_cs \[fm\] in \("),
    ],
)
def test_bad_hypotheses_are_clear_errors(text: str, match: str) -> None:
    with pytest.raises(HypothesisError, match=match):
        parse_hypothesis(text)


def test_hypothesis_is_validated_on_construction() -> None:
    with pytest.raises(HypothesisError):
        Hypothesis(get_family("weak_mixing"), (("sin2_theta_w", math.nan),))


@pytest.mark.parametrize("family", ALL_FAMILIES)
def test_every_family_at_zero_coupling_is_the_sm(family: str) -> None:
    sm_csi, sm_lar = csi2021.templates(), lar2020.templates()
    model = FAMILIES[family].model({})
    csi, lar = csi2021.templates(model), lar2020.templates(model)
    for name in ("cevns", "es"):
        np.testing.assert_allclose(csi.sample(name).nominal, sm_csi.sample(name).nominal, rtol=1e-12, atol=0)
    np.testing.assert_allclose(lar.sample("cevns").nominal, sm_lar.sample("cevns").nominal, rtol=1e-12, atol=0)


def test_grid_path_equals_point_by_point() -> None:
    values = {"mass_mev": [3.0, 30.0, 300.0], "g_nu": [2e-5, 1e-5, 3e-5], "g_q": [2e-5, 1e-5, 3e-5]}
    grid = grid_neutrino_samples(get_detector("csi2021"), get_family("light_vector"), values)
    fam = FAMILIES["light_vector"]
    for i in range(3):
        point = csi2021.templates(fam.model({k: v[i] for k, v in values.items()}))
        for k, name in enumerate(("cevns", "es")):
            np.testing.assert_allclose(grid[k].nominal[i], point.sample(name).nominal, rtol=1e-12, atol=0)
            for syst, (up, down) in point.sample(name).shapes.items():
                np.testing.assert_allclose(grid[k].shapes[syst][0][i], up, rtol=1e-12, atol=0)
                np.testing.assert_allclose(grid[k].shapes[syst][1][i], down, rtol=1e-12, atol=0)


def test_non_vectorised_family_falls_back_to_a_loop() -> None:
    values = {"r_n": [4.8, 5.2]}
    grid = grid_neutrino_samples(get_detector("lar2020"), get_family("neutron_radius"), values)
    for i, r in enumerate(values["r_n"]):
        point = lar2020.templates(FAMILIES["neutron_radius"].model({"r_n": r}))
        np.testing.assert_allclose(grid[0].nominal[i], point.sample("cevns").nominal, rtol=1e-12)
