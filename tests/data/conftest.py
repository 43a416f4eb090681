"""Fixtures of the data-path tests: a local HTTP mirror of the releases and a written ROOT flux file.

The mirror serves copies of the reference releases (read from ``$CEVNS_HF_DATA`` or the shared folder) from
a tmp directory on 127.0.0.1, made to look like the official files where those are known to differ:
csi2017 tables with other header lines, csi2021 tables with other comments and numbers written
differently, event lists with extra events outside the CsI analysis region. Nothing here uses the network.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cevns_hf import data
from cevns_hf.sources.sns_pidar import FLUX_ROOT_HISTOGRAMS, arrival_time_fractions

_REFERENCE = Path(os.environ.get("CEVNS_HF_DATA") or Path(__file__).parents[3] / "shared/data/coherent")


class MirrorServer(http.server.ThreadingHTTPServer):
    """A static file server; paths in ``drop_once`` / ``cut_once`` fail once (no answer / half the body)."""

    daemon_threads = True

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Handler, directory=str(root))
        super().__init__(("127.0.0.1", 0), handler)
        self.drop_once: set[str] = set()
        self.cut_once: set[str] = set()
        self.requests: list[str] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.SimpleHTTPRequestHandler):
    server: MirrorServer

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        if self.path in self.server.drop_once:  # connection closed before any answer
            self.server.drop_once.discard(self.path)
            self.close_connection = True
            return
        if self.path in self.server.cut_once:  # connection dropped half-way through the body
            self.server.cut_once.discard(self.path)
            body = Path(self.translate_path(self.path)).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[MirrorServer]:
    """Serve ``root`` on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    server = MirrorServer(root)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def write_flux_root(path: Path, histograms: dict[str, str] | None = None, t_max_ns: float = 15000.0) -> Path:
    """Write a small SNS flux ROOT file: one TH2 per flavour, axis 0 time [ns] (10 ns), axis 1 energy [MeV].

    The time profiles are the analytic pi-DAR arrival times; the energy profiles a smooth positive shape.
    """
    import uproot

    t_edges = np.arange(0.0, t_max_ns + 1.0, 10.0)
    e_edges = np.arange(0.0, 61.0, 1.0)
    energy = np.exp(-0.5 * ((0.5 * (e_edges[1:] + e_edges[:-1]) - 30.0) / 12.0) ** 2)
    names = histograms if histograms is not None else FLUX_ROOT_HISTOGRAMS
    path.parent.mkdir(parents=True, exist_ok=True)
    with uproot.recreate(path) as root_file:
        for flavour, name in names.items():
            times = arrival_time_fractions(flavour, t_edges * 1e-3, pot_mean_us=0.475, pot_sigma_us=0.163)
            root_file[name] = (0.0848 * np.outer(times, energy / energy.sum()), t_edges, e_edges)
    return path


def _header_variant(text: str, header: str) -> str:
    """The same numbers under other header lines (the reference copies' own header lines removed)."""
    lines = [ln for ln in text.splitlines() if ln.strip() and ln.split(",")[0].strip()[:1] in "-.0123456789"]
    return header + "\n".join(lines) + "\n"


def _events_variant(text: str) -> str:
    """An event list as the official one reportedly is: more events (PE < 250, t < 12 us), other format."""
    rows = [ln.split() for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    outside = ["150.5 1.0", "30.25 6.0", "60.0 2.5", "12.0 11.75", "249.9 0.01", "59.999 6.001"]
    body = [f"{pe}0\t{t}" if "." in pe else f"{pe}.0\t{t}" for pe, t in rows]  # 1.5 -> 1.50: same numbers
    return "# Selected events, official-like header\n# PE t_us\n" + "\n".join(outside[:3] + body + outside[3:]) + "\n"


def official_like_mirror(
    reference: Path, root: Path, releases: tuple[str, ...] = ("lar2020", "csi2021", "csi2017")
) -> Path:
    """Lay out ``root/<release>/<name>`` as the official files presumably are (see the module docstring)."""
    for release in releases:
        (root / release).mkdir(parents=True, exist_ok=True)
        for entry in data.files(release):
            source = reference / release / entry.name
            target = root / release / entry.name
            if not source.is_file():
                continue
            if entry.check == "numeric" and release == "csi2017":
                header = "# COHERENT Collaboration data release for arXiv:1708.01294 [nucl-ex]\nColumn A, Column B\n"
                target.write_text(_header_variant(source.read_text(), header))
            elif entry.check == "numeric":
                text = "\n".join(ln for ln in source.read_text().splitlines() if not ln.startswith("#"))
                target.write_text("# official-like comment\n" + text.replace(" ", "   ") + "\n")
            elif entry.check == "events":
                target.write_text(_events_variant(source.read_text()))
            else:
                shutil.copyfile(source, target)
    if "csi2021" in releases:
        write_flux_root(root / "csi2021" / "snsFlux2D.root")
    return root


def change_number(path: Path, row: int, column: int, new: str) -> None:
    """Replace one number: field ``column`` of the ``row``-th numeric line (0-based) of a text table."""
    lines = path.read_text().splitlines()
    numeric = [i for i, ln in enumerate(lines) if ln.strip() and ln.split(",")[0].strip()[:1] in "-.0123456789"]
    i = numeric[row]
    separator = "," if "," in lines[i] else None
    fields = lines[i].split(separator)
    fields[column] = new if separator is None else f" {new}"
    lines[i] = (separator or "\t").join(fields)
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def reference() -> Path:
    if not (_REFERENCE / "SHA256SUMS").is_file():
        pytest.skip(f"reference copies of the releases not available at {_REFERENCE}")
    return _REFERENCE


@pytest.fixture
def mirror_tree(reference: Path, tmp_path: Path) -> Path:
    """An official-like mirror of lar2020, csi2021 (with a written snsFlux2D.root) and csi2017."""
    return official_like_mirror(reference, tmp_path / "mirror")


@pytest.fixture
def http_mirror(mirror_tree: Path) -> Iterator[MirrorServer]:
    """The official-like mirror served on 127.0.0.1 (proxies bypassed)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NO_PROXY", "127.0.0.1,localhost")
        patch.setenv("no_proxy", "127.0.0.1,localhost")
        with serve(mirror_tree) as server:
            yield server


@pytest.fixture
def flux_writer() -> Callable[..., Path]:
    """:func:`write_flux_root`, for the tests (test modules cannot import conftest)."""
    return write_flux_root


@pytest.fixture
def number_changer() -> Callable[[Path, int, int, str], None]:
    """:func:`change_number`, for the tests."""
    return change_number


@pytest.fixture
def fresh_caches() -> Iterator[Callable[[], None]]:
    """Clear the caches of parsed release data before and after the test (it changes the data)."""
    from cevns_hf.detectors import csi2017, csi2021, lar2020, loaders

    def clear() -> None:
        for module in (loaders, csi2021, csi2017, lar2020):
            for value in vars(module).values():
                if (
                    callable(getattr(value, "cache_clear", None))
                    and getattr(value, "__module__", "") == module.__name__
                ):
                    value.cache_clear()

    clear()
    yield clear
    clear()
