"""Tests of the CsI[Na] 2017 model (Akimov et al., Science 357 (2017) 1123; release Zenodo 1228631).

Published numbers: SM prediction 173 +- 48 CEvNS events, fit 134 +- 22 (``cevns_hf.analysis.published``).
Regression values were produced by this module at the commit of this test; they move only when the physics does.
"""

from __future__ import annotations

import numpy as np
import pytest

from cevns_hf.analysis import published
from cevns_hf.data import release_path
from cevns_hf.detectors import csi2017
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.inference import fit as infer
from cevns_hf.templates.histograms import Templates
from cevns_hf.workspace import build as workspace

#: The Science paper's region: 6 <= PE < 30 (2-PE bins with centres 7..29), 0 <= t < 6 us.
_PE_RANGE = (6.0, 30.0)
_T_MAX = 6.0


def _release_counts(name: str) -> float:
    """Counts of a release data file in the region, read without the package's loaders."""
    total = 0.0
    for line in release_path("csi2017", name).read_text().splitlines():
        fields = [f.strip() for f in line.split(",")]
        try:
            pe, t, counts = (float(f) for f in fields)
        except ValueError:  # the header line of some copies
            continue
        if _PE_RANGE[0] < pe < _PE_RANGE[1] and 0.0 < t < _T_MAX:
            total += counts
    return total


@pytest.fixture(scope="module")
def tmpl() -> Templates:
    return csi2017.templates()


def test_templates_build(tmpl: Templates) -> None:
    assert tmpl.experiment == "csi2017"
    assert tmpl.sample_names == ("cevns", "brn", "ssb")
    assert [a.name for a in tmpl.axes] == ["energy", "time"]
    assert tmpl.axes[0].edges == tuple(float(x) for x in range(6, 31, 2))
    assert tmpl.axes[1].edges == tuple(0.5 * k for k in range(13))
    for sample in tmpl.samples:
        assert sample.nominal.shape == (12, 12)
        assert np.all(np.isfinite(sample.nominal))
        for up, down in sample.shapes.values():
            assert up.shape == down.shape == (12, 12)
    assert tmpl.observed.shape == (12, 12)
    names = {n for s in tmpl.samples for n in (*s.norms, *s.shapes)}
    assert names == {"csi2017_flux", "csi2017_acceptance", "csi2017_qf", "csi2017_brn", "csi2017_ssb"}


def test_cevns_prediction_in_published_band(tmpl: Templates) -> None:
    value, error = published.PREDICTED_CEVNS["csi2017"]
    cevns = tmpl.sample("cevns").total
    assert value - error < cevns < value + error  # 173 +- 48
    assert cevns == pytest.approx(165.25, rel=2e-3)  # regression


@pytest.mark.parametrize(
    ("smearing", "expected"),
    [("poisson", 165.25), ("poisson_upper", 143.45), ("poisson_centred", 154.35), ("gamma", 153.56)],
)
def test_smearing_conventions(smearing: str, expected: float) -> None:
    cevns = csi2017.templates(config=csi2017.CsI2017Config(smearing=smearing)).sample("cevns").total
    value, error = published.PREDICTED_CEVNS["csi2017"]
    assert value - error < cevns < value + error
    assert cevns == pytest.approx(expected, rel=2e-3)


def test_flavour_split_sums_to_total(tmpl: Templates) -> None:
    assert set(tmpl.cevns_by_flavour) == {"nu_e", "nu_mu", "nu_mu_bar"}
    np.testing.assert_allclose(sum(tmpl.cevns_by_flavour.values()), tmpl.sample("cevns").nominal, rtol=1e-12)
    # the prompt nu_mu all arrive in 0-6 us; the delayed flavours lose 8.5% after 6 us
    assert all(v.sum() > 0 for v in tmpl.cevns_by_flavour.values())


def test_observed_is_the_coincidence_data(tmpl: Templates) -> None:
    expected = _release_counts("data_coincidence_beamOn.txt")
    assert expected == 547
    assert tmpl.observed.sum() == expected
    assert np.all(tmpl.observed == np.round(tmpl.observed))


def test_backgrounds(tmpl: Templates) -> None:
    brn, ssb = tmpl.sample("brn"), tmpl.sample("ssb")
    assert np.all(brn.nominal >= 0)
    assert np.all(ssb.nominal >= 0)
    assert brn.total == pytest.approx(5.419, rel=1e-3)  # 7.47594 GWhr x promptPDF x acceptance, 0-6 us
    n_ac = _release_counts("data_anticoincidence_beamOn.txt")
    assert n_ac == 405
    assert ssb.total == pytest.approx(n_ac)
    assert ssb.norms["csi2017_ssb"] == pytest.approx(1 / np.sqrt(405))


def test_ssb_factorisation_keeps_the_data_projections(tmpl: Templates) -> None:
    raw = csi2017.setup(csi2017.CsI2017Config()).anticoincidence
    ssb = tmpl.sample("ssb").nominal
    np.testing.assert_allclose(ssb.sum(axis=0), raw.sum(axis=0))
    np.testing.assert_allclose(ssb.sum(axis=1), raw.sum(axis=1))
    assert np.all(ssb > 0)
    data = csi2017.templates(config=csi2017.CsI2017Config(ssb_template="data")).sample("ssb").nominal
    np.testing.assert_array_equal(data, raw)


def test_quenching_variants_are_ordered(tmpl: Templates) -> None:
    cevns = tmpl.sample("cevns")
    up, down = cevns.shapes["csi2017_qf"]
    assert up.sum() > cevns.total > down.sum()
    # QF +- 0.0166 / 0.0878 = +-19%: the rate above threshold moves by about +19% / -23%
    assert up.sum() / cevns.total == pytest.approx(1.187, abs=0.01)
    assert down.sum() / cevns.total == pytest.approx(0.770, abs=0.01)


def test_acceptance_follows_the_release() -> None:
    def logistic(x: float) -> float:
        return float(0.6655 / (1.0 + np.exp(-0.4942 * (x - 10.8507))))

    values = csi2017.acceptance([4.5, 5.0, 5.5, 6.0, 6.5, 20.5])
    expected = [0.0, 0.5 * logistic(5.0), 0.5 * logistic(5.5), logistic(6.0), logistic(6.5), logistic(20.5)]
    np.testing.assert_allclose(values, expected, rtol=1e-12)


def test_time_pdfs_are_normalised_over_the_release_window() -> None:
    full = csi2017.CsI2017Config(time_edges=tuple(0.5 * k for k in range(25)))
    np.testing.assert_allclose(csi2017.setup(full).time_pdfs.sum(axis=1), 1.0, rtol=1e-12)
    region = csi2017.setup(csi2017.CsI2017Config()).time_pdfs.sum(axis=1)
    np.testing.assert_allclose(region, [0.9148, 1.0, 0.9148], atol=1e-4)  # nu_e, nu_mu, anti-nu_mu


def test_release_grid_reads_both_header_styles() -> None:
    # beam-on copies have no header line, beam-off copies have one; all are 25 x 24 grids
    for name in ("data_coincidence_beamOn.txt", "data_coincidence_beamOff.txt"):
        assert csi2017.release_grid(name).shape == (25, 24)
    assert csi2017.release_grid("data_coincidence_beamOn.txt").sum() == 1207
    assert csi2017.release_grid("data_anticoincidence_beamOff.txt").sum() == 507


@pytest.mark.parametrize(
    "kwargs",
    [
        {"smearing": "binomial"},
        {"ssb_template": "smooth"},
        {"energy_edges": (5.0, 30.0)},  # not a release edge
        {"time_edges": (0.0, 13.0)},  # beyond the release window
        {"energy_edges": (30.0, 6.0)},
        {"sigma_quenching": 0.1},
        {"sigma_flux": -0.1},
    ],
)
def test_invalid_configuration(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        csi2017.CsI2017Config(**kwargs)  # type: ignore[arg-type]


@pytest.mark.slow
def test_workspace_and_fit(tmpl: Templates) -> None:
    spec = workspace.build_workspace([tmpl])
    workspace.validate(spec)
    result = infer.fit(spec)
    value, error = result.cevns_events["csi2017"]
    pub_value, pub_error = published.FITTED_CEVNS["csi2017"]
    assert result.predicted_cevns["csi2017"] == pytest.approx(tmpl.sample("cevns").total, rel=1e-9)
    assert abs(value - pub_value) < 2 * pub_error  # 134 +- 22; this model: ~130 +- 23
    assert value == pytest.approx(129.9, abs=1.0)  # regression
    assert pub_error / 1.5 < error < 1.5 * pub_error
    # CEvNS is observed: the Science paper reports 6.7 sigma for the no-CEvNS hypothesis
    no_cevns = infer.fit(spec, fixed={"mu_cevns": 0.0})
    assert no_cevns.twice_nll - result.twice_nll > 25.0
