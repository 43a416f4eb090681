"""Tests of the release registry and data access layer (cevns_hf.data, ``cevns-hf data``).

The reference copies of the releases are only READ, from ``$CEVNS_HF_DATA`` (set by CI) or
``<workspace>/shared/data/coherent``; every write goes to ``tmp_path``. No test uses the network.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import platformdirs
import pooch
import pytest
import requests
from click.testing import CliRunner

from cevns_hf import data
from cevns_hf.cli.data import data as data_cli
from cevns_hf.data import download, registry, store, verify
from cevns_hf.exceptions import (
    CevnsHFError,
    ChecksumError,
    ConfigurationError,
    DataError,
    DataNotFoundError,
    OutputExistsError,
)

_REFERENCE = Path(os.environ.get("CEVNS_HF_DATA") or Path(__file__).parents[3] / "shared/data/coherent")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _sums(reference: Path) -> dict[tuple[str, str], str]:
    sums: dict[tuple[str, str], str] = {}
    for line in (reference / "SHA256SUMS").read_text().splitlines():
        if not line.strip():
            continue
        digest, relpath = line.split(maxsplit=1)
        release, name = relpath.strip().lstrip("*").split("/", 1)
        sums[(release, name)] = digest
    return sums


def _leftovers(directory: Path) -> list[Path]:
    """Temporary or hidden files left in ``directory``."""
    return [p for p in directory.rglob("*") if p.name.startswith(".") or p.name.endswith((".tmp", ".part"))]


def _cache_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file()) if directory.exists() else []


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CEVNS_HF_DATA, and a private cache: tests never touch the user's cache."""
    cache = tmp_path / "cache"
    monkeypatch.delenv("CEVNS_HF_DATA", raising=False)
    monkeypatch.setenv("CEVNS_HF_CACHE", str(cache))
    return cache


@pytest.fixture
def reference() -> Path:
    if not (_REFERENCE / "SHA256SUMS").is_file():
        pytest.skip(f"reference copies of the releases not available at {_REFERENCE}")
    return _REFERENCE


@pytest.fixture
def with_reference(monkeypatch: pytest.MonkeyPatch, reference: Path) -> Path:
    monkeypatch.setenv("CEVNS_HF_DATA", str(reference))
    return reference


def _copy_release_files(reference: Path, target: Path, release: str, names: list[str] | None = None) -> Path:
    """Copy reference files into ``target/<release>/`` (a tmp directory) and return ``target``."""
    (target / release).mkdir(parents=True, exist_ok=True)
    for entry in data.files(release):
        if (names is None or entry.name in names) and (reference / release / entry.name).is_file():
            shutil.copyfile(reference / release / entry.name, target / release / entry.name)
    return target


# --------------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------------


def test_every_sha256sums_line_is_registered(reference: Path) -> None:
    sums = _sums(reference)
    assert len(sums) == 47
    for key, digest in sums.items():
        assert key in data.REGISTRY, key
        entry = data.REGISTRY[key]
        if entry.check == "bytes":
            assert entry.sha256 == digest, key
            continue
        # numeric / events: the pinned digest is that of the reference copy's numbers
        assert entry.check in {"numeric", "events"}, key
        assert verify.digest_of(reference / key[0] / key[1], entry.check) == (entry.sha256, entry.shape), key
    # ... and nothing else is registered but the official ROOT flux (not in the reference copies, unverified).
    extra = set(data.REGISTRY) - set(sums)
    assert extra == {("csi2021", "snsFlux2D.root")}
    assert {r for r, _ in sums} == set(data.RELEASES)


def test_registry_entries() -> None:
    assert data.RELEASES == ("lar2020", "csi2021", "csi2017", "csi2021-flux")
    for (release, name), entry in data.REGISTRY.items():
        assert (entry.release, entry.name) == (release, name)
        assert entry.description
        assert "\n" not in entry.description
        assert entry.sha256 is None or (len(entry.sha256) == 64 and entry.sha256 == entry.sha256.lower())
    patterns = {
        "lar2020": "https://zenodo.org/record/3903810/files/",
        "csi2021": "https://arxiv.org/src/2110.07730v2/anc/",
        "csi2017": "https://zenodo.org/record/1228631/files/",
    }
    for release, prefix in patterns.items():
        assert all(f.url == prefix + f.name for f in data.files(release))
    assert all(f.url is None for f in data.files("csi2021-flux"))
    root = data.REGISTRY[("csi2021", "snsFlux2D.root")]
    assert not root.optional  # the main job derives the CsI arrival times from it
    assert (root.sha256, root.check) == (None, "none")
    assert root.url == "https://arxiv.org/src/2110.07730v2/anc/snsFlux2D.root"
    # optional: what the main job does not read (1D projections, QF data, the derived flux)
    optional = {(f.release, f.name) for f in data.REGISTRY.values() if f.optional}
    assert optional == {
        *(("lar2020", n) for n in ("energydata1d.txt", "f90data1d.txt", "timingdata1d.txt")),
        *(("lar2020", f"systerrors1d{n}.txt") for n in ("energy", "psd", "time")),
        ("csi2017", "qfData_chicago.txt"),
        ("csi2017", "qfData_tunl.txt"),
        *((f.release, f.name) for f in data.files("csi2021-flux")),
    }
    # the kind of check of every file
    checks = {key: f.check for key, f in data.REGISTRY.items()}
    assert {checks[("lar2020", f.name)] for f in data.files("lar2020")} == {"bytes"}
    assert {checks[("csi2021-flux", f.name)] for f in data.files("csi2021-flux")} == {"bytes"}
    byte_identical = {"coherent_parameters.yaml", "promptPDF.txt", "qfData_chicago.txt", "qfData_tunl.txt"}
    assert {f.name for f in data.files("csi2017") if f.check == "bytes"} == byte_identical
    assert {f.check for f in data.files("csi2017") if f.name not in byte_identical} == {"numeric"}
    assert {f.name for f in data.files("csi2021") if f.check == "events"} == {"dataBeamOnC.txt", "dataBeamOnAC.txt"}
    assert sum(f.check == "numeric" for f in data.files("csi2021")) == 6
    assert data.REGISTRY[("csi2021", "dataBeamOnC.txt")].shape == (1578, 2)  # the README's region count
    assert data.REGISTRY[("csi2021", "dataBeamOnAC.txt")].shape == (1295, 2)
    for f in data.REGISTRY.values():
        assert (f.shape is not None) == (f.check in {"numeric", "events"})
    assert [f.release for f in data.files()] == sorted((f.release for f in data.files()), key=data.RELEASES.index)
    assert len(data.files("lar2020")) == 21
    for module in (data, registry, store, download, verify):
        assert set(dir(module)) == set(module.__all__), module


def test_table_is_package_data() -> None:
    table = resources.files("cevns_hf.data").joinpath(registry.TABLE_NAME)
    assert table.is_file()
    text = table.read_text(encoding="utf-8")
    assert "SHA256SUMS" in text  # the header says where the hashes come from
    assert registry.parse_table(text) == tuple(data.REGISTRY.values())
    assert len(data.REGISTRY) == 48


_HEADER = "release,name,check,sha256,shape,optional,url,description\n"
_HASH = "ab" * 32


def test_parse_table() -> None:
    text = (
        "# comment\n\n"
        + _HEADER
        + f'b,x.txt,bytes,{_HASH},,false,https://example.org/x.txt,"X, with a comma"\n'
        + "a,y.txt,none,,,true,,Y\n"
        + f"b,z.txt,events,{_HASH},12x2,false,,Z\n"
    )
    first, second, third = registry.parse_table(text)
    assert first == data.ReleaseFile("b", "x.txt", _HASH, "https://example.org/x.txt", "X, with a comma")
    assert (second.name, third.name) == ("z.txt", "y.txt")  # grouped by release, in order of first appearance
    assert (third.sha256, third.url, third.optional, third.check) == (None, None, True, "none")
    assert (second.check, second.shape) == ("events", (12, 2))


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        ("release,name,sha256\n", "header"),
        (_HEADER + "a,x.txt,none,,,false,\n", "line 3: expected 8 fields"),
        (_HEADER + "a,x.txt,bytes,ABC,,false,,X\n", "sha256"),
        (_HEADER + "a,x.txt,none,,,yes,,X\n", "optional"),
        (_HEADER + "a,x.txt,none,,,false,,\n", "description"),
        (_HEADER + "a,d/x.txt,none,,,false,,X\n", "name"),
        (_HEADER + "a,x.txt,none,,,false,,X\na,x.txt,none,,,false,,X\n", "line 4: a/x.txt is registered twice"),
        (_HEADER + f"a,x.txt,md5,{_HASH},,false,,X\n", "check must be one of bytes, numeric, events, none"),
        (_HEADER + "a,x.txt,bytes,,,false,,X\n", "empty exactly when check is 'none'"),
        (_HEADER + f"a,x.txt,none,{_HASH},,false,,X\n", "empty exactly when check is 'none'"),
        (_HEADER + f"a,x.txt,numeric,{_HASH},,false,,X\n", "shape"),
        (_HEADER + f"a,x.txt,bytes,{_HASH},3x2,false,,X\n", "shape"),
        (_HEADER + f"a,x.txt,numeric,{_HASH},3by2,false,,X\n", "shape"),
    ],
    ids=[
        "header",
        "fields",
        "sha256",
        "optional",
        "description",
        "name",
        "duplicate",
        "check",
        "bytes-without-hash",
        "none-with-hash",
        "numeric-without-shape",
        "bytes-with-shape",
        "bad-shape",
    ],
)
def test_parse_table_rejects_malformed_rows(rows: str, match: str) -> None:
    with pytest.raises(DataError, match=match):
        registry.parse_table("# comment\n" + rows)


def test_unknown_release_or_file() -> None:
    with pytest.raises(ConfigurationError, match="csi2021-flux") as info:
        data.release_path("lar2021", "cevnspdf.txt")
    assert all(r in str(info.value) for r in data.RELEASES)
    with pytest.raises(ConfigurationError, match=r"cevnspdf\.txt"):
        data.release_path("lar2020", "nope.txt")
    with pytest.raises(ConfigurationError, match="valid releases"):
        data.files("bogus")
    with pytest.raises(ConfigurationError):
        data.status(["lar2020", "bogus"])


def test_locations(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, isolated: Path) -> None:
    assert data.data_dir_from_env() is None
    assert data.cache_dir() == isolated
    monkeypatch.setenv("CEVNS_HF_DATA", str(tmp_path / "d"))
    assert data.data_dir_from_env() == tmp_path / "d"
    monkeypatch.delenv("CEVNS_HF_CACHE")
    assert data.cache_dir() == Path(platformdirs.user_cache_dir("cevns_hf")) / "releases"


# --------------------------------------------------------------------------------------------------
# release_path
# --------------------------------------------------------------------------------------------------


def test_release_path_through_env(with_reference: Path) -> None:
    for entry in data.files():
        if entry.optional or entry.check == "none":
            continue
        path = data.release_path(entry.release, entry.name)
        assert path == with_reference / entry.release / entry.name
    report = data.status()
    assert len(report) == len(data.REGISTRY)
    for item in report:
        if item.file.optional or item.file.check == "none":
            assert item.source in {"missing", "env", "cache"}
            continue
        assert (item.present, item.verified, item.source) == (True, True, "env")


def test_release_path_falls_back_to_cache(
    monkeypatch: pytest.MonkeyPatch, reference: Path, tmp_path: Path, isolated: Path
) -> None:
    _copy_release_files(reference, isolated, "csi2017", ["promptPDF.txt"])
    monkeypatch.setenv("CEVNS_HF_DATA", str(tmp_path / "empty"))
    assert data.release_path("csi2017", "promptPDF.txt") == isolated / "csi2017" / "promptPDF.txt"
    (item,) = [s for s in data.status(["csi2017"]) if s.file.name == "promptPDF.txt"]
    assert (item.source, item.verified) == ("cache", True)


def test_missing_file_message_gives_both_ways(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CEVNS_HF_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(DataNotFoundError) as info:
        data.release_path("lar2020", "cevnspdf.txt")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "lar2020/cevnspdf.txt" in message
    assert "cevns-hf data fetch" in message
    assert "CEVNS_HF_DATA=DIR" in message
    assert "cevns-hf data import DIR" in message
    assert "<release>/<file>" in message
    # a derived file cannot be downloaded: the message says so instead of suggesting fetch
    with pytest.raises(DataNotFoundError) as info:
        data.release_path("csi2021-flux", "snsFlux_time_marginals_t10ns_pdf.csv")
    message = str(info.value)
    assert "no public URL" in message
    assert "CEVNS_HF_DATA=DIR" in message
    assert "cevns-hf data import DIR" in message


def test_corrupted_copy_raises_checksum_error(monkeypatch: pytest.MonkeyPatch, reference: Path, tmp_path: Path) -> None:
    bad_dir = tmp_path / "bad"
    (bad_dir / "lar2020").mkdir(parents=True)
    original = (reference / "lar2020" / "cevnspdf.txt").read_bytes()
    corrupt = bad_dir / "lar2020" / "cevnspdf.txt"
    corrupt.write_bytes(original.replace(b"0", b"1", 1))
    monkeypatch.setenv("CEVNS_HF_DATA", str(bad_dir))
    with pytest.raises(ChecksumError) as info:
        data.release_path("lar2020", "cevnspdf.txt")
    message = str(info.value)
    assert "lar2020/cevnspdf.txt" in message
    assert data.REGISTRY[("lar2020", "cevnspdf.txt")].sha256 in message
    assert _sha256(corrupt) in message
    assert data.release_path("lar2020", "cevnspdf.txt", verify=False) == corrupt
    (item,) = [s for s in data.status(["lar2020"]) if s.file.name == "cevnspdf.txt"]
    assert (item.present, item.verified, item.source) == (True, False, "env")


def test_verification_is_memoised(monkeypatch: pytest.MonkeyPatch, reference: Path, tmp_path: Path) -> None:
    local = _copy_release_files(reference, tmp_path / "local", "lar2020", ["bkgpdf.txt"])
    monkeypatch.setenv("CEVNS_HF_DATA", str(local))
    calls: list[int] = []

    def counting_sha256(*args: Any) -> Any:
        calls.append(1)
        return hashlib.sha256(*args)

    monkeypatch.setattr(verify, "hashlib", SimpleNamespace(sha256=counting_sha256))
    for _ in range(3):
        data.release_path("lar2020", "bkgpdf.txt")
    assert len(calls) == 1
    # a changed file is hashed again (and now fails)
    target = local / "lar2020" / "bkgpdf.txt"
    target.write_bytes(target.read_bytes() + b"\n")
    with pytest.raises(ChecksumError):
        data.release_path("lar2020", "bkgpdf.txt")
    assert len(calls) == 2


def test_unverified_optional_file_warns(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "d" / "csi2021").mkdir(parents=True)
    fake = tmp_path / "d" / "csi2021" / "snsFlux2D.root"
    fake.write_bytes(b"not really ROOT")
    monkeypatch.setenv("CEVNS_HF_DATA", str(tmp_path / "d"))
    with caplog.at_level(logging.WARNING, logger="cevns_hf.data"):
        assert data.release_path("csi2021", "snsFlux2D.root") == fake
    assert any("UNVERIFIED" in r.getMessage() for r in caplog.records)
    (item,) = [s for s in data.status(["csi2021"]) if s.file.name == "snsFlux2D.root"]
    assert (item.present, item.verified, item.source) == (True, None, "env")


# --------------------------------------------------------------------------------------------------
# import_directory
# --------------------------------------------------------------------------------------------------


def test_import_directory_copies_and_verifies(reference: Path, isolated: Path) -> None:
    paths = data.import_directory(reference, ["lar2020", "csi2021-flux"])
    expected = data.files("lar2020") + data.files("csi2021-flux")
    assert paths == [isolated / f.release / f.name for f in expected]
    for entry, path in zip(expected, paths, strict=True):
        assert _sha256(path) == entry.sha256
    assert _leftovers(isolated) == []
    # found through the cache now (CEVNS_HF_DATA is unset)
    assert data.release_path("lar2020", "datanobkgsub.txt") == isolated / "lar2020" / "datanobkgsub.txt"
    assert {s.source for s in data.status(["lar2020"])} == {"cache"}
    assert {s.source for s in data.status(["csi2017"])} == {"missing"}

    # a second import skips the verified files (nothing rewritten)
    mtimes = {p: p.stat().st_mtime_ns for p in paths}
    assert data.import_directory(reference, ["lar2020", "csi2021-flux"]) == paths
    assert {p: p.stat().st_mtime_ns for p in paths} == mtimes


def test_import_refuses_to_replace_differing_file(reference: Path, isolated: Path) -> None:
    data.import_directory(reference, ["csi2017"])
    cached = isolated / "csi2017" / "promptPDF.txt"
    cached.write_bytes(b"locally modified\n")
    with pytest.raises(OutputExistsError, match=r"promptPDF\.txt") as info:
        data.import_directory(reference, ["csi2017"])
    assert isinstance(info.value, CevnsHFError)
    assert "overwrite=True" in str(info.value)
    assert "--force" not in str(info.value)  # a library message names the argument, not the CLI option
    assert cached.read_bytes() == b"locally modified\n"
    paths = data.import_directory(reference, ["csi2017"], overwrite=True)
    assert cached in paths
    assert _sha256(cached) == data.REGISTRY[("csi2017", "promptPDF.txt")].sha256
    assert _leftovers(isolated) == []


def test_import_refuses_corrupt_source(reference: Path, tmp_path: Path, isolated: Path) -> None:
    source = _copy_release_files(reference, tmp_path / "src", "lar2020", ["bkgpdf.txt", "cevnspdf.txt"])
    bad = source / "lar2020" / "cevnspdf.txt"
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(ChecksumError, match=r"lar2020/cevnspdf\.txt"):
        data.import_directory(source, ["lar2020"])
    assert _cache_files(isolated) == []  # not even the good file was written


def test_import_partial_and_missing_sources(
    reference: Path, tmp_path: Path, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    source = _copy_release_files(reference, tmp_path / "src", "lar2020", ["bkgpdf.txt", "brnpdf.txt"])
    with caplog.at_level(logging.WARNING, logger="cevns_hf.data"):
        paths = data.import_directory(source, ["lar2020"])
    assert paths == [isolated / "lar2020" / "bkgpdf.txt", isolated / "lar2020" / "brnpdf.txt"]
    assert any("cevnspdf.txt" in r.getMessage() for r in caplog.records)
    # default selection: releases absent from the source are only logged
    assert data.import_directory(source) == paths
    # an explicitly requested release with no file at all is an error
    with pytest.raises(DataNotFoundError, match="csi2017"):
        data.import_directory(source, ["lar2020", "csi2017"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="<release>/<file>"):
        data.import_directory(tmp_path / "empty")
    with pytest.raises(DataNotFoundError):
        data.import_directory(tmp_path / "does-not-exist")
    assert _leftovers(isolated) == []


# --------------------------------------------------------------------------------------------------
# fetch (pooch.retrieve is replaced: no network)
# --------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(download, "RETRY_DELAY_S", 0.0)


def _entry_for(url: str) -> data.ReleaseFile:
    return next(e for e in data.REGISTRY.values() if e.url == url or url.endswith(f"/{e.release}/{e.name}"))


def _fake_retrieve(reference: Path, calls: list[dict[str, Any]], corrupt: str = "") -> Callable[..., str]:
    def retrieve(url: str, known_hash: str | None = None, fname: str = "", path: Any = None, **kw: Any) -> str:
        calls.append({"url": url, "known_hash": known_hash, "fname": fname, "path": Path(path), **kw})
        entry = _entry_for(url)
        target = Path(path) / fname
        target.parent.mkdir(parents=True, exist_ok=True)
        source = reference / entry.release / entry.name
        if source.is_file():
            shutil.copyfile(source, target)
        else:
            target.write_bytes(b"downloaded")
        if fname == corrupt:
            target.write_bytes(target.read_bytes().replace(b"1", b"7", 1))
        return str(target)

    return retrieve


def test_fetch_without_network_raises_data_error(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    attempts: list[str] = []

    def offline(url: str, **kwargs: Any) -> str:
        attempts.append(url)
        raise requests.exceptions.ConnectionError(f"Failed to resolve host for {url}")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(DataError, match="could not download") as info:
        data.fetch(["lar2020"])
    assert not isinstance(info.value, ChecksumError)
    assert "https://zenodo.org/record/3903810/files/" in str(info.value)
    assert f"after {download.ATTEMPTS} attempts" in str(info.value)
    assert len(attempts) == download.ATTEMPTS  # a dropped connection is retried
    assert isinstance(info.value.__cause__, OSError)
    assert _cache_files(isolated) == []

    def broken(url: str, **kwargs: Any) -> str:
        raise OSError("connection reset")

    monkeypatch.setattr(pooch, "retrieve", broken)
    with pytest.raises(DataError, match="connection reset"):
        data.fetch(["csi2021"])


def test_fetch_does_not_retry_client_errors(monkeypatch: pytest.MonkeyPatch, isolated: Path) -> None:
    attempts: list[str] = []

    def not_found(url: str, **kwargs: Any) -> str:
        attempts.append(url)
        response = requests.Response()
        response.status_code = 404
        raise requests.exceptions.HTTPError(f"404 Client Error: Not Found for url: {url}", response=response)

    monkeypatch.setattr(pooch, "retrieve", not_found)
    with pytest.raises(DataError, match="not retried") as info:
        data.fetch(["csi2017"])
    assert "404" in str(info.value)
    assert len(attempts) == 1


def test_fetch_uses_pooch_and_verifies(
    monkeypatch: pytest.MonkeyPatch, reference: Path, isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(reference, calls))
    paths = data.fetch(["lar2020"])
    needed = [f for f in data.files("lar2020") if not f.optional]
    assert paths == [isolated / "lar2020" / f.name for f in needed]
    assert [c["url"] for c in calls] == [f.url for f in needed]
    # downloaded into a staging directory next to the target, verified there, then moved into place
    assert all(c["path"].parent == isolated / "lar2020" for c in calls)
    assert all(c["progressbar"] is False for c in calls)  # stderr is not a terminal here
    assert _leftovers(isolated) == []
    # already cached and verified: no new download
    calls.clear()
    assert data.fetch(["lar2020"]) == paths
    assert calls == []
    # optional files only on request; derived files have no URL: skipped without a mirror
    assert len(data.fetch(["lar2020"], include_optional=True)) == 21
    calls.clear()
    assert data.fetch(["csi2021-flux"], include_optional=True) == []
    assert calls == []
    # the official ROOT flux is part of what the main job needs: fetched by default, unverified
    with caplog.at_level(logging.WARNING, logger="cevns_hf.data"):
        fetched = data.fetch("csi2021")
    assert isolated / "csi2021" / "snsFlux2D.root" in fetched
    assert len(fetched) == len(data.files("csi2021"))
    assert any("UNVERIFIED" in r.getMessage() for r in caplog.records)


def test_fetch_replaces_a_corrupt_cached_file(monkeypatch: pytest.MonkeyPatch, reference: Path, isolated: Path) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(reference, calls))
    cached = isolated / "csi2017" / "promptPDF.txt"
    cached.parent.mkdir(parents=True)
    cached.write_text("damaged\n")
    assert cached in data.fetch(["csi2017"])
    assert _sha256(cached) == data.REGISTRY[("csi2017", "promptPDF.txt")].sha256


@pytest.mark.parametrize("name", ["promptPDF.txt", "data_coincidence_beamOn.txt"])
def test_fetch_checksum_mismatch(monkeypatch: pytest.MonkeyPatch, reference: Path, isolated: Path, name: str) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(pooch, "retrieve", _fake_retrieve(reference, calls, corrupt=name))
    with pytest.raises(ChecksumError) as info:
        data.fetch(["csi2017"])
    message = str(info.value)
    assert f"csi2017/{name} from https://zenodo.org/record/1228631/files/{name}" in message
    assert data.REGISTRY[("csi2017", name)].sha256 in message
    assert message.count("csi2017/") == 1  # only the bad file is named
    assert not (isolated / "csi2017" / name).exists()
    assert len(_cache_files(isolated)) == len([f for f in data.files("csi2017") if not f.optional]) - 1
    assert _leftovers(isolated) == []


def test_mirror_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    entry = data.REGISTRY[("lar2020", "brnpdf+1sigEnergy.txt")]
    assert download.download_url(entry) == entry.url
    assert (
        download.download_url(entry, "http://127.0.0.1:8000/c/")
        == "http://127.0.0.1:8000/c/lar2020/brnpdf+1sigEnergy.txt"
    )
    derived = data.REGISTRY[("csi2021-flux", "snsFlux_time_marginals_t10ns_pdf.csv")]
    assert download.download_url(derived) is None
    assert download.download_url(derived, "https://m.org") == f"https://m.org/csi2021-flux/{derived.name}"
    assert download.mirror_from_env() is None
    monkeypatch.setenv("CEVNS_HF_MIRROR", " https://m.org ")
    assert download.mirror_from_env() == "https://m.org"
    for bad in ("/local/dir", "file:///tmp/x", "http://"):
        with pytest.raises(ConfigurationError, match="mirror must be a URL") as info:
            download.download_url(entry, bad)
        assert repr(bad) in str(info.value)
        assert "--mirror" not in str(info.value)  # a library message names the value, not the CLI option


# --------------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------------


def test_cli_status_json(with_reference: Path) -> None:
    result = CliRunner().invoke(data_cli, ["status", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == len(data.REGISTRY)
    assert {"release", "file", "present", "verified", "source"} <= set(rows[0])
    assert all(r["verified"] is True and r["source"] == "env" for r in rows if r["check"] != "none")
    result = CliRunner().invoke(data_cli, ["status", "-r", "csi2017", "--json"])
    assert {r["release"] for r in json.loads(result.stdout)} == {"csi2017"}


def test_cli_status_table(with_reference: Path) -> None:
    result = CliRunner().invoke(data_cli, ["status", "--release", "lar2020"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["release", "file", "present", "verified", "source", "check"]
    assert len(lines) == 1 + 21
    assert all(line.split()[-4:] == ["yes", "yes", "env", "bytes"] for line in lines[1:])


def test_cli_bad_release() -> None:
    result = CliRunner().invoke(data_cli, ["status", "--release", "lar2021"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert all(r in result.output for r in data.RELEASES)


def test_cli_library_error_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, **kwargs: Any) -> str:
        raise requests.exceptions.ConnectionError("Name or service not known\nsecond line")

    monkeypatch.setattr(pooch, "retrieve", offline)
    result = CliRunner().invoke(data_cli, ["fetch", "-r", "lar2020"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert "could not download" in error_lines[0]
    assert "Traceback" not in result.output


def test_cli_import(reference: Path, tmp_path: Path, isolated: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(data_cli, ["import", str(reference), "--release", "csi2017"])
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == len(data.files("csi2017"))
    (isolated / "csi2017" / "qfData_tunl.txt").write_text("changed\n")
    result = runner.invoke(data_cli, ["import", str(reference), "-r", "csi2017"])
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: refusing")
    assert "pass --force to replace them" in result.stderr
    assert "overwrite=True" not in result.stderr
    result = runner.invoke(data_cli, ["import", str(reference), "-r", "csi2017", "--force"])
    assert result.exit_code == 0, result.output
    assert _sha256(isolated / "csi2017" / "qfData_tunl.txt") == data.REGISTRY[("csi2017", "qfData_tunl.txt")].sha256
    result = runner.invoke(data_cli, ["import", str(tmp_path / "missing")])
    assert result.exit_code == 2
