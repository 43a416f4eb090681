"""Tests of the fast rate engine (cevns_hf.detectors.engine) against its slow scipy.quad twin, and of the templates'
Standard-Model default and linearity in the exposure.

The engine is tested with the detectors' *own* energy responses: the detector ``setup`` functions build
their response closures internally and pass them to :func:`cevns_hf.detectors.engine.build_engine`, so the test runs
the uncached setup (``setup.__wrapped__``) with ``build_engine`` wrapped to record its keyword arguments.
Nothing of the detector code is duplicated; the recorded arguments rebuild single-target engines that are
checked to be identical to the corresponding channels of the detector's engine, then compared with
:func:`cevns_hf.detectors.engine.reference_spectrum` (nested adaptive quad) bin by bin.

Needs the COHERENT releases (``$CEVNS_HF_DATA``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from cevns_hf._typing import FloatArray
from cevns_hf.detectors import csi2021, lar2020
from cevns_hf.detectors.engine import RateEngine, Target, build_engine, reference_spectrum
from cevns_hf.physics.electron import SHELLS
from cevns_hf.physics.model import StandardModel
from cevns_hf.sources.sns_pidar import FLAVOURS, SOURCE

#: bins holding more than this fraction of a spectrum's counts must agree to RTOL
MIN_FRACTION = 1e-3
RTOL = 1e-3


def _capture_build_engine(module: ModuleType, config: Any) -> tuple[dict[str, Any], RateEngine]:
    """Run ``module.setup`` uncached with ``build_engine`` wrapped; return its kwargs and the engine."""
    captured: dict[str, Any] = {}
    original: Callable[..., RateEngine] = module.build_engine

    def recording_build_engine(**kwargs: Any) -> RateEngine:
        captured.update(kwargs)
        return original(**kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(module, "build_engine", recording_build_engine)
        st = module.setup.__wrapped__(config)
    assert captured, f"{module.__name__}.setup did not call build_engine"
    return captured, st.engine


@pytest.fixture(scope="module")
def csi_inputs() -> tuple[dict[str, Any], RateEngine]:
    return _capture_build_engine(csi2021, csi2021.CsI2021Config())


@pytest.fixture(scope="module")
def lar_inputs() -> tuple[dict[str, Any], RateEngine]:
    return _capture_build_engine(lar2020, lar2020.LAr2020Config())


def _single_target_engine(kwargs: dict[str, Any], label: str, detector: RateEngine) -> tuple[Target, RateEngine]:
    """Engine of one target built with the detector's own arguments; its channels equal the detector's."""
    target = next(t for t in kwargs["targets"] if t.label == label)
    eng = build_engine(**{**kwargs, "targets": (target,)})
    own = [ch for ch in detector.channels if ch.target.label == label]
    assert len(own) == len(eng.channels)
    for mine, theirs in zip(eng.channels, own, strict=True):
        assert (mine.process, mine.flavour) == (theirs.process, theirs.flavour)
        np.testing.assert_array_equal(mine.weights, theirs.weights)
        np.testing.assert_array_equal(mine.e_nu, theirs.e_nu)
    return target, eng


def _compare(fast: FloatArray, ref: FloatArray) -> None:
    assert ref.sum() > 0
    relevant = ref > MIN_FRACTION * ref.sum()
    assert relevant.sum() >= 3
    np.testing.assert_allclose(fast[relevant], ref[relevant], rtol=RTOL, atol=0)
    # negligible bins: agree to RTOL of the total
    np.testing.assert_allclose(fast, ref, rtol=0, atol=RTOL * ref.sum())
    assert fast.sum() == pytest.approx(ref.sum(), rel=RTOL, abs=0)


@pytest.mark.parametrize(
    ("flavour", "variant"),
    [("nu_e", 0), ("nu_mu", 0), ("nu_mu_bar", 1)],  # variant 1: scintillation response (quenching) +1 sigma
)
def test_csi2021_cevns_engine_matches_quad(
    csi_inputs: tuple[dict[str, Any], RateEngine], flavour: str, variant: int
) -> None:
    kwargs, detector = csi_inputs
    target, eng = _single_target_engine(kwargs, "Cs133", detector)
    model = StandardModel()
    fast = eng.spectra(model, "cevns")[variant, FLAVOURS.index(flavour)]
    ref = reference_spectrum(
        source=SOURCE,
        model=model,
        process="cevns",
        target=target,
        flavour=flavour,
        fluence_per_cm2=kwargs["fluence_per_cm2"],
        baseline_m=kwargs["baseline_m"],
        response=kwargs["nuclear_response"],
        variant=variant,
    )
    _compare(fast, ref)
    if variant:  # the quenching variant differs from the nominal response
        nominal = eng.spectra(model, "cevns")[0, FLAVOURS.index(flavour)]
        assert not np.allclose(fast, nominal, rtol=1e-3, atol=0)


def test_csi2021_es_engine_matches_quad(csi_inputs: tuple[dict[str, Any], RateEngine]) -> None:
    """ES on Cs (nu_mu): Z_eff is a staircase, so the reference integrates piecewise between shells."""
    kwargs, detector = csi_inputs
    target, eng = _single_target_engine(kwargs, "Cs133", detector)
    assert target.element == "Cs"
    model = StandardModel()
    fast = eng.spectra(model, "es")[0, FLAVOURS.index("nu_mu")]
    ref = reference_spectrum(
        source=SOURCE,
        model=model,
        process="es",
        target=target,
        flavour="nu_mu",
        fluence_per_cm2=kwargs["fluence_per_cm2"],
        baseline_m=kwargs["baseline_m"],
        response=kwargs["electron_response"],
        t_max=kwargs["electron_t_max"],
        breakpoints=[binding * 1e-3 for binding, _ in SHELLS["Cs"]],
    )
    _compare(fast, ref)


def test_lar2020_cevns_engine_matches_quad(lar_inputs: tuple[dict[str, Any], RateEngine]) -> None:
    """The 12 LAr bins reach 120 keVee, far above the CEvNS end point: to keep the (slow) reference short,
    it is run on the bins holding more than 1e-5 of the fast spectrum (the others together hold < 1e-4)."""
    kwargs, detector = lar_inputs
    target, eng = _single_target_engine(kwargs, "Ar40", detector)
    model = StandardModel()
    fast = eng.spectra(model, "cevns")[0, FLAVOURS.index("nu_mu_bar")]
    keep = fast > 1e-5 * fast.sum()
    assert fast[~keep].sum() < 1e-4 * fast.sum()
    assert keep.sum() >= 4
    full_response = kwargs["nuclear_response"]

    def response(t: FloatArray) -> FloatArray:
        return np.asarray(full_response(t))[:, :, keep]

    ref = reference_spectrum(
        source=SOURCE,
        model=model,
        process="cevns",
        target=target,
        flavour="nu_mu_bar",
        fluence_per_cm2=kwargs["fluence_per_cm2"],
        baseline_m=kwargs["baseline_m"],
        response=response,
    )
    _compare(fast[keep], ref)


def test_engine_spectra_layout_and_flux_factor(lar_inputs: tuple[dict[str, Any], RateEngine]) -> None:
    """(variants, flavours, bins) layout; a flux factor multiplies its flavour's spectrum only."""
    _, detector = lar_inputs

    @dataclasses.dataclass(frozen=True)
    class HalfNuE(StandardModel):
        def flux_factor(self, flavour: str, e_nu: FloatArray, baseline_m: float) -> float:
            return 0.5 if flavour == "nu_e" else 1.0

    sm = detector.spectra(StandardModel(), "cevns")
    half = detector.spectra(HalfNuE(), "cevns")
    assert sm.shape == (detector.n_variants, len(FLAVOURS), detector.n_bins) == (1, 3, 12)
    np.testing.assert_allclose(half[:, 0], 0.5 * sm[:, 0], rtol=1e-14)
    np.testing.assert_array_equal(half[:, 1:], sm[:, 1:])
    np.testing.assert_array_equal(detector.spectra(StandardModel(), "es"), 0.0)  # no ES modelled for LAr


# ------------------------------------------------------------------------------------ templates


def _assert_same_templates(a: Any, b: Any) -> None:
    assert [s.name for s in a.samples] == [s.name for s in b.samples]
    for sa, sb in zip(a.samples, b.samples, strict=True):
        np.testing.assert_array_equal(sa.nominal, sb.nominal)
        assert dict(sa.norms) == dict(sb.norms)
        assert sa.shapes.keys() == sb.shapes.keys()
        for key in sa.shapes:
            np.testing.assert_array_equal(sa.shapes[key][0], sb.shapes[key][0])
            np.testing.assert_array_equal(sa.shapes[key][1], sb.shapes[key][1])
    np.testing.assert_array_equal(a.observed, b.observed)


def test_templates_default_to_the_standard_model() -> None:
    for module in (csi2021, lar2020):
        default = module.templates()
        explicit = module.templates(StandardModel())
        _assert_same_templates(default, explicit)
        cevns = default.samples[0]
        assert cevns.name == "cevns"
        assert cevns.total > 0
        flavour_sum = sum(default.cevns_by_flavour.values())
        np.testing.assert_allclose(flavour_sum, cevns.nominal, rtol=1e-12)
    # a different hypothesis changes the signal
    other = csi2021.templates(StandardModel(sin2_theta_w=0.25))
    assert other.samples[0].total != pytest.approx(csi2021.templates().samples[0].total, rel=1e-3, abs=0)


def _scaled(base: Any, scaled: Any, factor: float, neutrino_samples: set[str]) -> None:
    """Neutrino-induced samples (nominal and every shape) scale by ``factor``; the others are unchanged."""
    for sa, sb in zip(base.samples, scaled.samples, strict=True):
        expected = factor if sa.name in neutrino_samples else 1.0
        np.testing.assert_allclose(sb.nominal, expected * sa.nominal, rtol=1e-12, atol=0)
        for key in sa.shapes:
            for k in (0, 1):
                np.testing.assert_allclose(sb.shapes[key][k], expected * sa.shapes[key][k], rtol=1e-12, atol=0)
        assert dict(sa.norms) == dict(sb.norms)
    for flavour in base.cevns_by_flavour:
        np.testing.assert_allclose(
            scaled.cevns_by_flavour[flavour], factor * base.cevns_by_flavour[flavour], rtol=1e-12, atol=0
        )
    np.testing.assert_array_equal(base.observed, scaled.observed)


def test_csi2021_templates_linear_in_exposure() -> None:
    """Units invariance: counts are linear in the POT and in the detector mass (hence in the fluence and
    the number of targets), with the background samples (normalised to the release) unaffected."""
    base_cfg = csi2021.CsI2021Config()
    base = csi2021.templates(config=base_cfg)
    assert {s.name for s in base.samples} >= {"cevns", "es"}
    neutrino = {"cevns", "es"}
    more_pot = dataclasses.replace(base_cfg, pot=2.0 * base_cfg.pot)
    _scaled(base, csi2021.templates(config=more_pot), 2.0, neutrino)
    more_mass = dataclasses.replace(base_cfg, mass_kg=3.0 * base_cfg.mass_kg)
    _scaled(base, csi2021.templates(config=more_mass), 3.0, neutrino)


def test_lar2020_templates_linear_in_exposure() -> None:
    base_cfg = lar2020.LAr2020Config()
    base = lar2020.templates(config=base_cfg)
    more_pot = dataclasses.replace(base_cfg, pot=2.0 * base_cfg.pot)
    _scaled(base, lar2020.templates(config=more_pot), 2.0, {"cevns"})
    more_mass = dataclasses.replace(base_cfg, mass_kg=3.0 * base_cfg.mass_kg)
    _scaled(base, lar2020.templates(config=more_mass), 3.0, {"cevns"})
    # fluence ~ nu_per_pot / L^2: doubling both the yield and the baseline halves the counts
    far = dataclasses.replace(base_cfg, nu_per_pot=2.0 * base_cfg.nu_per_pot, baseline_m=2.0 * base_cfg.baseline_m)
    _scaled(base, lar2020.templates(config=far), 0.5, {"cevns"})
