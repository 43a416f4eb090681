"""Tests of the CsI 2021 steady-state background (SSB) models and the selectable binning.

The smooth SSB (:func:`cevns_hf.detectors.csi2021_ssb.smooth_ssb`) is the anti-coincidence (AC) energy spectrum
times a time shape eps_t(t) exp(-lambda t) (lambda = 0: flat steady state seen through the time efficiency);
the binned SSB is the AC histogram itself. Fitted numbers were produced by this module at the commit of
this test (``docs/model.md``, "The CsI 2021 fit error"); they move only when the physics does.

Needs the COHERENT releases (``$CEVNS_HF_DATA``).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats

from cevns_hf.detectors import csi2021, csi2021_ssb, loaders
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import fit as infer
from cevns_hf.workspace import build as workspace

#: AC and C events in the region PE < 60, 0 <= t < 6 us (shared/data/coherent/README.md)
N_AC = 1295
N_C = 1578


def _eff_integral(a: float, b: float, onset: float = 0.52, decay: float = 0.0494) -> float:
    """int_a^b eps_t(t) dt of the time efficiency 1 (t < onset), exp(-decay (t - onset)) after, analytically."""
    flat = max(0.0, min(b, onset) - a)
    lo, hi = max(a, onset), max(b, onset)
    return flat + (np.exp(-decay * (lo - onset)) - np.exp(-decay * (hi - onset))) / decay


def _ac_events(cfg: csi2021.CsI2021Config) -> np.ndarray:
    return loaders.csi2021_events_in_region("dataBeamOnAC.txt", cfg.energy_edges, cfg.time_edges)


def test_binnings() -> None:
    paper, fine = csi2021.CsI2021Config(), csi2021.CsI2021Config(binning="fine")
    assert paper.energy_edges == csi2021.PAPER_ENERGY_EDGES
    assert len(paper.energy_edges) - 1 == 9
    assert len(paper.time_edges) - 1 == 11
    assert len(fine.energy_edges) - 1 == 30
    assert len(fine.time_edges) - 1 == 48
    assert np.allclose(np.diff(fine.energy_edges), 2.0)
    widths = np.diff(fine.time_edges)
    assert np.allclose(widths[:32], 0.0625)
    assert np.allclose(widths[32:], 0.25)
    assert (fine.energy_edges[-1], fine.time_edges[-1]) == (60.0, 6.0)
    # explicit edges override the named binning
    custom = csi2021.CsI2021Config(binning="fine", time_edges=(0.0, 1.0, 6.0))
    assert custom.time_edges == (0.0, 1.0, 6.0)
    assert custom.energy_edges == csi2021.FINE_ENERGY_EDGES


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"binning": "coarse"}, ("binning", "'paper'", "'fine'", "'coarse'")),
        ({"ssb_model": "fitted"}, ("ssb_model", "'smooth'", "'binned'")),
        ({"ssb_time": "linear"}, ("ssb_time", "'flat'", "'exponential'")),
        ({"ssb_energy": "kde"}, ("ssb_energy", "'histogram'", "'fit'")),
        ({"timing": "gaussian"}, ("timing", "'release'", "'analytic'")),
        ({"time_edges": (0.0, 3.0, 12.0)}, ("time_edges", "6")),
        ({"energy_edges": (10.0, 8.0)}, ("energy_edges", "increasing")),
        ({"sigma_ssb": -0.1}, ("sigma_ssb",)),
    ],
)
def test_config_validation(kwargs: dict[str, object], words: tuple[str, ...]) -> None:
    with pytest.raises(ConfigurationError) as err:
        csi2021.CsI2021Config(**kwargs)  # type: ignore[arg-type]
    for word in words:
        assert word in str(err.value)


@pytest.mark.parametrize("binning", ["paper", "fine"])
def test_every_template_follows_the_binning(binning: str) -> None:
    cfg = csi2021.CsI2021Config(binning=binning)
    shape = (len(cfg.energy_edges) - 1, len(cfg.time_edges) - 1)
    tmpl = csi2021.templates(config=cfg)
    assert tmpl.sample_names == ("cevns", "es", "brn", "nin", "ssb")
    assert tuple(a.edges for a in tmpl.axes) == (cfg.energy_edges, cfg.time_edges)
    for sample in tmpl.samples:
        assert sample.nominal.shape == shape
        for up, down in sample.shapes.values():
            assert up.shape == down.shape == shape
    assert tmpl.observed.shape == shape
    assert tmpl.observed.sum() == N_C
    totals = tmpl.totals()
    assert totals["brn"] == pytest.approx(18.4)
    assert totals["nin"] == pytest.approx(5.6)
    # the CEvNS prediction does not depend on the binning of the region (324.15, test_validation.py)
    assert totals["cevns"] == pytest.approx(324.15, rel=2e-3)


@pytest.mark.parametrize("binning", ["paper", "fine"])
@pytest.mark.parametrize("ssb_time", ["flat", "exponential"])
def test_smooth_ssb_integrates_to_the_ac_count(binning: str, ssb_time: str) -> None:
    cfg = csi2021.CsI2021Config(binning=binning, ssb_time=ssb_time)
    ssb, fit = csi2021_ssb.smooth_ssb(cfg)
    binned = loaders.csi2021_events("dataBeamOnAC.txt", cfg.energy_edges, cfg.time_edges)
    assert fit.n_events == N_AC == binned.sum()
    assert ssb.sum() == pytest.approx(N_AC, rel=1e-12)
    # the energy spectrum is the AC one, bin by bin
    assert np.allclose(ssb.sum(axis=1), binned.sum(axis=1), rtol=1e-12, atol=0.0)
    # default model of the templates, with alpha_3 = 1/sqrt(N_AC)
    if ssb_time == "flat":
        sample = csi2021.templates(config=cfg).sample("ssb")
        assert np.array_equal(sample.nominal, ssb)
        assert sample.norms == {"alpha_3": pytest.approx(1.0 / np.sqrt(N_AC))}


@pytest.mark.parametrize("binning", ["paper", "fine"])
def test_fitted_energy_spectrum_describes_the_ac_data(binning: str) -> None:
    cfg = csi2021.CsI2021Config(binning=binning, ssb_energy="fit")
    ssb, _ = csi2021_ssb.smooth_ssb(cfg)
    assert ssb.sum() == pytest.approx(N_AC, rel=1e-9)
    assert np.allclose(ssb.sum(axis=0), N_AC * csi2021_ssb.ssb_time_fractions(cfg), rtol=1e-9, atol=0.0)
    observed = np.histogram(_ac_events(cfg)[:, 0], bins=np.asarray(cfg.energy_edges))[0]
    expected = ssb.sum(axis=1)
    used = expected > 0.5
    chi2 = float(np.sum((observed[used] - expected[used]) ** 2 / expected[used]))
    # three fitted shape parameters; Pearson chi2 17.2 for 26 used 2-PE bins
    assert stats.chi2.sf(chi2, int(used.sum()) - 1 - 3) > 0.05
    assert observed[~used].sum() == 0


def test_alpha_3_priors() -> None:
    binned = csi2021.templates(config=csi2021.CsI2021Config(ssb_model="binned")).sample("ssb")
    assert binned.norms == {"alpha_3": csi2021_ssb.SIGMA_SSB_BINNED}
    assert binned.total == N_AC
    explicit = csi2021.templates(config=csi2021.CsI2021Config(sigma_ssb=0.05)).sample("ssb")
    assert explicit.norms == {"alpha_3": 0.05}


@pytest.mark.parametrize("binning", ["paper", "fine"])
def test_time_fractions_integrate_the_efficiency(binning: str) -> None:
    cfg = csi2021.CsI2021Config(binning=binning)
    edges = cfg.time_edges
    exact = np.array([_eff_integral(a, b) for a, b in itertools.pairwise(edges)])
    assert np.allclose(csi2021_ssb.ssb_time_fractions(cfg), exact / exact.sum(), rtol=1e-5, atol=0.0)


def test_ac_times_are_flat_through_the_time_efficiency() -> None:
    """The AC times carry the time efficiency: with eps_t the fitted slope is compatible with 0."""
    cfg = csi2021.CsI2021Config()
    fit = csi2021_ssb.smooth_ssb(cfg)[1]
    # -0.0148 +- 0.0161 /us (1295 events): compatible with a steady state
    assert abs(fit.slope_per_us) < 2 * fit.error_per_us
    assert fit.error_per_us == pytest.approx(0.0161, rel=0.02)
    # unbinned Kolmogorov-Smirnov test of the AC times against eps_t(t) / int eps_t
    times = _ac_events(cfg)[:, 1]

    def cdf(t: np.ndarray) -> np.ndarray:
        return np.array([_eff_integral(0.0, x) for x in np.atleast_1d(t)]) / _eff_integral(0.0, 6.0)

    assert stats.kstest(times, cdf).pvalue > 0.05


@pytest.mark.parametrize("binning", ["paper", "fine"])
def test_time_shape_chi_square(binning: str) -> None:
    """Pearson chi-square of the AC time projection against the smooth SSB's time shape."""
    cfg = csi2021.CsI2021Config(binning=binning)
    ssb, _ = csi2021_ssb.smooth_ssb(cfg)
    observed = np.histogram(_ac_events(cfg)[:, 1], bins=np.asarray(cfg.time_edges))[0]
    expected = ssb.sum(axis=0)
    chi2 = float(np.sum((observed - expected) ** 2 / expected))
    assert stats.chi2.sf(chi2, len(expected) - 1) > 0.05


@pytest.mark.parametrize("binning", ["paper", "fine"])
def test_factorised_shape_chi_square(binning: str) -> None:
    """The 2D AC histogram against energy x time: deviance (empty bins included) per degree of freedom."""
    cfg = csi2021.CsI2021Config(binning=binning)
    ssb, _ = csi2021_ssb.smooth_ssb(cfg)
    observed = loaders.csi2021_events("dataBeamOnAC.txt", cfg.energy_edges, cfg.time_edges)
    used = ssb > 0
    o, e = observed[used], ssb[used]
    deviance = 2 * float(np.sum(e - o + np.where(o > 0, o * np.log(np.where(o > 0, o, 1.0) / e), 0.0)))
    n_t = ssb.shape[1]
    dof = int(used.sum()) - (int(used.any(axis=1).sum()) + n_t - 1)
    assert stats.chi2.sf(deviance, dof) > 0.01


def _fitted(cfg: csi2021.CsI2021Config, *, linear_norms: bool = False) -> tuple[float, float]:
    spec = workspace.build_workspace([csi2021.templates(config=cfg)], linear_norms=linear_norms)
    return infer.fit(spec).cevns_events["csi2021"]


@pytest.mark.slow
def test_smooth_ssb_fit_is_stable_against_the_binning() -> None:
    paper = _fitted(csi2021.CsI2021Config(binning="paper"))
    fine = _fitted(csi2021.CsI2021Config(binning="fine"))
    assert abs(fine[0] - paper[0]) < min(paper[1], fine[1]) / 4
    assert paper == pytest.approx((309.8, 32.6), abs=0.1)
    assert fine == pytest.approx((317.2, 32.1), abs=0.1)


@pytest.mark.slow
def test_fitted_energy_spectrum_removes_the_binning_dependence() -> None:
    """With the AC energy spectrum fitted, paper and fine binning agree to 1 event (histogram: 7.4)."""
    paper = _fitted(csi2021.CsI2021Config(ssb_energy="fit"))
    fine = _fitted(csi2021.CsI2021Config(binning="fine", ssb_energy="fit"))
    assert abs(fine[0] - paper[0]) < 1.0
    assert paper == pytest.approx((310.2, 32.6), abs=0.1)
    assert fine == pytest.approx((309.9, 32.1), abs=0.1)


@pytest.mark.slow
def test_binned_ssb_reproduces_the_old_fit() -> None:
    """The binned SSB on the paper binning with linear normalisations is the model before: 308.5 +- 31.6."""
    value, error = _fitted(csi2021.CsI2021Config(ssb_model="binned"), linear_norms=True)
    assert value == pytest.approx(308.5, abs=0.1)
    assert error == pytest.approx(31.6, abs=0.1)
    # ... and its instability on the fine binning, where empty AC bins must be filled by CEvNS
    fine_value, _ = _fitted(csi2021.CsI2021Config(ssb_model="binned", binning="fine"))
    assert fine_value > 700
