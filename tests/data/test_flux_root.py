"""The official SNS flux ``csi2021/snsFlux2D.root``: read with uproot, damaged files give a clear DataError.

The official file is not among the reference copies: these tests write small ROOT files with uproot
(TH2 per flavour, axis 0 time [ns], axis 1 energy [MeV]).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from cevns_hf import data
from cevns_hf.cli import cli
from cevns_hf.detectors import loaders
from cevns_hf.exceptions import DataError, DataNotFoundError
from cevns_hf.sources.sns_pidar import FLUX_ROOT_HISTOGRAMS


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """CEVNS_HF_DATA = an empty tmp directory (with csi2021/), the cache another one."""
    root = tmp_path / "data"
    (root / "csi2021").mkdir(parents=True)
    monkeypatch.setenv("CEVNS_HF_DATA", str(root))
    monkeypatch.setenv("CEVNS_HF_CACHE", str(tmp_path / "cache"))
    return root


def test_time_marginals_from_the_root_file(local: Path, flux_writer: Callable[..., Path]) -> None:
    flux_writer(local / "csi2021" / "snsFlux2D.root")
    edges, pdfs = loaders.csi2021_flux_time_marginals()
    assert edges[0] == 0.0
    assert edges[-1] == pytest.approx(15.0)
    assert len(edges) == 1501
    assert set(pdfs) == set(FLUX_ROOT_HISTOGRAMS)
    for pdf in pdfs.values():
        assert pdf.shape == (1500,)
        assert pdf.sum() == pytest.approx(1.0)
    prompt_mean = float(np.sum(0.5 * (edges[1:] + edges[:-1]) * pdfs["nu_mu"]))
    assert 0.3 < prompt_mean < 0.7  # the prompt nu_mu arrive within the beam pulse


def test_derived_time_marginals_are_used_when_present(
    local: Path, flux_writer: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, reference: Path
) -> None:
    flux_writer(local / "csi2021" / "snsFlux2D.root")
    name = "snsFlux_time_marginals_t10ns_pdf.csv"
    (local / "csi2021-flux").mkdir()
    shutil.copyfile(reference / "csi2021-flux" / name, local / "csi2021-flux" / name)
    loaders.load_table.cache_clear()

    def no_root(path: Path) -> Any:
        raise AssertionError("the ROOT file must not be read when the derived marginals are present")

    monkeypatch.setattr(loaders, "flux_marginals_from_root", no_root)
    _edges, pdfs = loaders.csi2021_flux_time_marginals()
    assert set(pdfs) == set(FLUX_ROOT_HISTOGRAMS)
    loaders.load_table.cache_clear()


def test_no_flux_at_all_says_how_to_fetch_the_root_file(local: Path) -> None:
    with pytest.raises(DataNotFoundError) as info:
        loaders.csi2021_flux_time_marginals()
    message = str(info.value)
    assert "csi2021/snsFlux2D.root not found" in message
    assert "https://arxiv.org/src/2110.07730v2/anc/snsFlux2D.root" in message
    assert "`cevns-hf data fetch`" in message
    assert "csi2021-flux/snsFlux_time_marginals_t10ns_pdf.csv" in message  # the alternative
    assert "--" not in message  # a library message names no CLI option


def _truncated(path: Path, writer: Callable[..., Path]) -> None:
    writer(path)
    path.write_bytes(path.read_bytes()[:5000])


_BROKEN: dict[str, tuple[Callable[[Path, Callable[..., Path]], Any], str]] = {
    "not-root": (lambda p, w: p.write_bytes(b"<html>503 Service Unavailable</html>\n"), "unreadable"),
    "truncated": (_truncated, "unreadable"),
    "empty": (lambda p, w: p.write_bytes(b""), "unreadable"),
    "missing-histogram": (
        lambda p, w: w(p, histograms={"nu_e": "convolved_energy_time_of_nu_e"}),
        "histogram 'convolved_energy_time_of_nu_mu' missing (found: convolved_energy_time_of_nu_e)",
    ),
    "short-time-axis": (lambda p, w: w(p, t_max_ns=4000.0), "does not cover the analysis window"),
}


@pytest.mark.parametrize("kind", list(_BROKEN))
def test_damaged_root_file_gives_a_data_error(kind: str, local: Path, flux_writer: Callable[..., Path]) -> None:
    make, problem = _BROKEN[kind]
    path = local / "csi2021" / "snsFlux2D.root"
    make(path, flux_writer)
    with pytest.raises(DataError) as info:
        loaders.csi2021_flux_time_marginals()
    message = str(info.value)
    assert f"cannot use csi2021/snsFlux2D.root at {str(path)!r}" in message
    assert problem in message
    assert "delete it and fetch it again" in message


def test_corrupt_root_file_in_a_fit_is_one_error_line(
    local: Path, reference: Path, fresh_caches: Callable[[], None]
) -> None:
    for entry in data.files("csi2021"):
        if (reference / "csi2021" / entry.name).is_file():
            shutil.copyfile(reference / "csi2021" / entry.name, local / "csi2021" / entry.name)
    (local / "csi2021" / "snsFlux2D.root").write_bytes(b"\x00" * 4096)
    result = CliRunner().invoke(cli, ["fit", "--experiment", "csi2021", "--json"])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert "cannot use csi2021/snsFlux2D.root" in line
    assert result.stdout == ""
