"""The download path end to end: `data fetch --mirror` from a local HTTP server, then `fit`, from an empty cache.

The mirror (tests/data/conftest.py) serves official-like variants of the reference copies: other header
lines, numbers written differently, extra events outside the CsI analysis region, and a ROOT flux file
written by the test. The variants must pass; a truncated file or one changed number must fail, naming the
file. CEVNS_HF_DATA is unset and CEVNS_HF_CACHE points at an empty tmp directory throughout.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pooch
import pytest
from click.testing import CliRunner

from cevns_hf import data
from cevns_hf.cli import cli
from cevns_hf.data import download
from cevns_hf.detectors import loaders
from cevns_hf.exceptions import ChecksumError


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CEVNS_HF_DATA nor CEVNS_HF_MIRROR, an empty private cache, no wait between download attempts."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("CEVNS_HF_DATA", raising=False)
    monkeypatch.delenv("CEVNS_HF_MIRROR", raising=False)
    monkeypatch.setenv("CEVNS_HF_CACHE", str(cache))
    monkeypatch.setattr(download, "RETRY_DELAY_S", 0.0)
    return cache


def _needed(*releases: str) -> list[data.ReleaseFile]:
    return [f for release in releases for f in data.files(release) if not f.optional]


def test_fetch_from_mirror_then_fit(
    http_mirror: Any, isolated: Path, fresh_caches: Callable[[], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main job's data path: fetch everything from the (official-like) mirror, then fit CsI 2021."""
    http_mirror.drop_once.add("/csi2021/dataBeamOnC.txt")  # a dropped connection is retried
    http_mirror.cut_once.add("/csi2021/snsFlux2D.root")  # ... as is a transfer cut short
    runner = CliRunner()
    result = runner.invoke(cli, ["data", "fetch", "--mirror", http_mirror.url + "/"])
    assert result.exit_code == 0, result.output
    expected = _needed("lar2020", "csi2021", "csi2017")
    assert result.stdout.splitlines() == [str(isolated / f.release / f.name) for f in expected]
    assert http_mirror.requests.count("/csi2021/dataBeamOnC.txt") == 2
    assert http_mirror.requests.count("/csi2021/snsFlux2D.root") == 2
    assert not any(path.startswith("/csi2021-flux/") for path in http_mirror.requests)  # derived: never needed
    assert sorted(p.name for p in isolated.rglob("*") if p.is_file()) == sorted(f.name for f in expected)

    status = {(s.file.release, s.file.name): s for s in data.status()}
    for entry in expected:
        item = status[(entry.release, entry.name)]
        assert item.source == "cache"
        assert item.verified is (None if entry.check == "none" else True), entry.name

    calls: list[Path] = []
    read_root = loaders.flux_marginals_from_root

    def spy(path: Path) -> Any:
        calls.append(path)
        return read_root(path)

    monkeypatch.setattr(loaders, "flux_marginals_from_root", spy)
    result = runner.invoke(cli, ["fit", "--experiment", "csi2021", "--json"])
    assert result.exit_code == 0, result.output
    fitted = json.loads(result.stdout)
    assert fitted["experiment"] == "csi2021"
    assert 100 < fitted["cevns_events"]["csi2021"]["value"] < 600
    assert calls == [isolated / "csi2021" / "snsFlux2D.root"]  # arrival times from the official ROOT flux


def test_mirror_from_environment(http_mirror: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CEVNS_HF_MIRROR", http_mirror.url)
    paths = data.fetch(["csi2017"])
    assert paths == [isolated / "csi2017" / f.name for f in _needed("csi2017")]
    assert set(http_mirror.requests) == {f"/csi2017/{f.name}" for f in _needed("csi2017")}


def test_fetch_twice_downloads_nothing(http_mirror: Any) -> None:
    first = data.fetch(["csi2021"], mirror=http_mirror.url)
    count = len(http_mirror.requests)
    assert data.fetch(["csi2021"], mirror=http_mirror.url) == first
    assert len(http_mirror.requests) == count


# (release, file, how the mirror's copy is damaged); change_number(path, row, column, new)
_DAMAGE: dict[str, tuple[str, str, Callable[[Path, Any], None]]] = {
    "truncated-events": (
        "csi2021",
        "dataBeamOnC.txt",
        lambda p, c: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    ),
    "truncated-bytes": ("lar2020", "bkgpdf.txt", lambda p, c: p.write_bytes(p.read_bytes()[:-100])),
    "truncated-table": ("csi2017", "data_anticoincidence_beamOn.txt", lambda p, c: p.write_bytes(p.read_bytes()[:-9])),
    "event-in-region": ("csi2021", "dataBeamOnAC.txt", lambda p, c: c(p, 10, 0, "23.5")),
    "event-time": ("csi2021", "dataBeamOnC.txt", lambda p, c: (c(p, 20, 0, "20.5"), c(p, 20, 1, "0.6"))),
    "count": ("csi2017", "data_coincidence_beamOn.txt", lambda p, c: c(p, 30, 2, "1234")),
    "time-pdf": ("csi2017", "arrivalTimePDF_promptNeutrons.txt", lambda p, c: c(p, 1, 1, "0.8683300918723")),
    "pdf": ("csi2021", "brnPE.txt", lambda p, c: c(p, 12, 1, "0.5")),
    "coefficient": ("csi2021", "scintRespCoefficients.txt", lambda p, c: c(p, 0, 3, "840.385")),
    "fewer-columns": ("csi2021", "effCoefficients.txt", lambda p, c: p.write_text("1.3 0.28 10.8\n")),
    "html-page": ("csi2021", "ninTrec.txt", lambda p, c: p.write_text("<html><body>Not Found</body></html>\n")),
}


@pytest.mark.parametrize("damage", list(_DAMAGE))
def test_damaged_mirror_file_is_rejected(
    damage: str, mirror_tree: Path, http_mirror: Any, isolated: Path, number_changer: Any
) -> None:
    release, name, spoil = _DAMAGE[damage]
    spoil(mirror_tree / release / name, number_changer)
    with pytest.raises(ChecksumError) as info:
        data.fetch([release], mirror=http_mirror.url)
    message = str(info.value)
    assert f"{release}/{name} from {http_mirror.url}/{release}/{name}" in message
    assert data.REGISTRY[(release, name)].sha256 in message
    assert not [f.name for f in data.files(release) if f.name != name and f"/{f.name}" in message]  # no other file
    assert not (isolated / release / name).exists()  # nothing kept for it ...
    others = [f for f in _needed(release) if f.name != name]
    assert all((isolated / release / f.name).is_file() for f in others)  # ... the other files are
    assert not list(isolated.rglob(".*"))  # no staging directory left


def test_changes_outside_the_analysis_region_pass(mirror_tree: Path, http_mirror: Any, number_changer: Any) -> None:
    events = mirror_tree / "csi2021" / "dataBeamOnC.txt"
    with events.open("a") as handle:
        handle.write("# trailing comment\n200.0 3.0\n10.0 7.5\n")
    number_changer(events, 0, 0, "151.0")  # the first row is an event at 150.5 PE: outside the region
    assert data.REGISTRY[("csi2021", "dataBeamOnC.txt")].check == "events"
    assert len(data.fetch(["csi2021"], mirror=http_mirror.url)) == len(_needed("csi2021"))


def test_cli_fetch_errors_are_one_line(mirror_tree: Path, http_mirror: Any, number_changer: Any) -> None:
    number_changer(mirror_tree / "csi2017" / "data_coincidence_beamOn.txt", 3, 2, "5")
    result = CliRunner().invoke(cli, ["data", "fetch", "-r", "csi2017", "--mirror", http_mirror.url])
    assert result.exit_code == 2
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("Error:")]
    assert "csi2017/data_coincidence_beamOn.txt" in line
    assert "Traceback" not in result.output
    result = CliRunner().invoke(cli, ["data", "fetch", "--mirror", "mirror.example.org"])
    assert result.exit_code == 2
    assert "--mirror must be a URL" in result.stderr
    assert "'mirror.example.org'" in result.stderr


def test_missing_file_on_the_mirror(mirror_tree: Path, http_mirror: Any) -> None:
    (mirror_tree / "csi2021" / "ninPE.txt").unlink()
    result = CliRunner().invoke(cli, ["data", "fetch", "-r", "csi2021", "--mirror", http_mirror.url])
    assert result.exit_code == 2
    assert "could not download COHERENT release file csi2021/ninPE.txt" in result.stderr
    assert "404" in result.stderr
    assert http_mirror.requests.count("/csi2021/ninPE.txt") == 1  # a 404 is not retried


def test_progress_bar_only_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, http_mirror: Any, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[Any] = []
    retrieve = pooch.retrieve

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["progressbar"])
        return retrieve(*args, **kwargs)

    class Terminal:
        def isatty(self) -> bool:
            return True

        def write(self, text: str) -> int:
            return len(text)

        def flush(self) -> None:
            pass

    monkeypatch.setattr(pooch, "retrieve", spy)
    data.fetch(["csi2017"], mirror=http_mirror.url)
    assert seen
    assert not any(seen)
    monkeypatch.setattr(sys, "stderr", Terminal())
    seen.clear()
    with caplog.at_level(logging.INFO, logger="cevns_hf.data"):
        data.fetch(["csi2021"], mirror=http_mirror.url)
    assert seen
    assert all(seen)
    assert any("downloading csi2021/snsFlux2D.root from" in r.getMessage() for r in caplog.records)


def test_written_flux_file_is_readable(tmp_path: Path, flux_writer: Any) -> None:
    path = flux_writer(tmp_path / "snsFlux2D.root")
    marginals = loaders.flux_marginals_from_root(path)
    assert marginals.time_edges_us[0] == 0.0
    assert marginals.time_edges_us[-1] == pytest.approx(15.0)
    assert set(marginals.time_pdf) == {"nu_e", "nu_mu", "nu_mu_bar"}
    for flavour, pdf in marginals.time_pdf.items():
        assert pdf.sum() == pytest.approx(1.0)
        assert marginals.energy[flavour].shape == (60,)
