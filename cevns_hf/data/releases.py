"""Registry and access layer of the COHERENT public data releases used by cevns_hf.

Every release file the project reads is registered here with its official URL and its SHA-256. Files are
looked up, per file, in two places (see :func:`release_path`):

1. ``$CEVNS_HF_DATA/<release>/<name>`` when the environment variable ``CEVNS_HF_DATA`` is set (a local copy
   of the releases, e.g. for CI or offline work);
2. ``cache_dir()/<release>/<name>``, the user cache filled by :func:`fetch` (download of the official files)
   or :func:`import_directory` (copy from a local directory with the same ``<release>/<name>`` layout).

A file is always checked against its registered SHA-256 before use; the (costly) hash is memoised per
file state, so repeated loads are cheap.

Releases:

* ``lar2020``: CENNS-10 liquid argon "Analysis A", Akimov et al., PRL 126 (2021) 012002,
  Zenodo record 3903810 (DOI 10.5281/zenodo.3903810).
* ``csi2021``: CsI[Na] full data set, Akimov et al., PRL 129 (2022) 081801, ancillary files of
  arXiv:2110.07730v2. The official SNS flux ``snsFlux2D.root`` is registered as an optional file without
  a checksum (none is published).
* ``csi2017``: CsI[Na] first observation, Akimov et al., Science 357 (2017) 1123, Zenodo record 1228631
  (DOI 10.5281/zenodo.1228631).
* ``csi2021-flux``: CSV/NPZ conversions of ``snsFlux2D.root`` (derived, not official). They have no public
  URL: they can only be provided through ``$CEVNS_HF_DATA`` or :func:`import_directory`.

The registered hashes are those of the project's reference copies. Some of them are known not to be
byte-identical to the files served at the official URL (the csi2017 arrival-time PDFs and data tables had
their header lines rewritten; the csi2021 copies were never compared byte by byte with arXiv); for those,
:func:`fetch` reports a :class:`~cevns_hf.exceptions.ChecksumError` and the reference copy must be imported.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from cevns_hf.exceptions import ChecksumError, ConfigurationError, DataError, DataNotFoundError, OutputExistsError
from cevns_hf.io.atomic import atomic_copy

__all__ = [
    "REGISTRY",
    "RELEASES",
    "FileStatus",
    "ReleaseFile",
    "cache_dir",
    "data_dir_from_env",
    "fetch",
    "files",
    "import_directory",
    "release_path",
    "status",
]


def __dir__() -> list[str]:
    return __all__


logger = logging.getLogger(__name__)

#: Environment variable naming a local directory laid out ``<release>/<name>`` (searched first).
_DATA_ENV = "CEVNS_HF_DATA"
#: Environment variable overriding :func:`cache_dir`.
_CACHE_ENV = "CEVNS_HF_CACHE"

RELEASES: tuple[str, ...] = ("lar2020", "csi2021", "csi2017", "csi2021-flux")

_URL_PATTERNS: Mapping[str, str | None] = MappingProxyType(
    {
        "lar2020": "https://zenodo.org/record/3903810/files/{name}",
        "csi2021": "https://arxiv.org/src/2110.07730v2/anc/{name}",
        "csi2017": "https://zenodo.org/record/1228631/files/{name}",
        "csi2021-flux": None,
    }
)


@dataclass(frozen=True)
class ReleaseFile:
    """One registered file of a COHERENT data release.

    Attributes:
        release: release identifier, one of :data:`RELEASES`.
        name: file name inside the release (also the name on disk: ``<release>/<name>``).
        sha256: expected SHA-256 (lower-case hex), or ``None`` when no checksum is known.
        url: official download URL, or ``None`` for derived files with no public source.
        description: one-line description of the content.
        optional: the file is not needed by the default analyses (not fetched unless asked for).
    """

    release: str
    name: str
    sha256: str | None
    url: str | None
    description: str
    optional: bool = False


# (release, name, sha256, description). SHA-256 values of the reference copies (SHA256SUMS of
# shared/data/coherent); URLs follow _URL_PATTERNS.
_TABLE: tuple[tuple[str, str, str | None, str], ...] = (
    # --- lar2020: CENNS-10 LAr Analysis A (Zenodo 3903810; byte-identical to Zenodo by MD5) ---
    ("lar2020", "CENNS10AnlAEfficiency.txt",
     "21ce25451c1ed552752ff4a22496deab3ff5dba178bf360813eaff1d25be89e2",
     "Acceptance efficiency vs energy: keVee bin centre, keVnr, efficiency"),
    ("lar2020", "LArParametersAnlA.yaml",
     "a206a77220436d0173c4783ae8fddeab97adf5e144f3d65005eff0870257693e",
     "Analysis A parameters: exposure, baseline, fiducial mass, quenching, flux, resolution, yields"),
    ("lar2020", "bkgpdf.txt",
     "36c89291dde3032a19ca7a8e64510d036d7b40c34b0805ce475a13ccfa739dd1",
     "Steady-state background template (energy x F90 x time), normalised to predicted counts"),
    ("lar2020", "brnpdf+1sigBRNTimingMean.txt",
     "7f06099e1bba0d2e328555c61cb255bb290607a44202327d29eb3ae3e05c1cd5",
     "Prompt BRN template, +1 sigma BRN timing-mean shape variation"),
    ("lar2020", "brnpdf+1sigEnergy.txt",
     "fb6fdaf99c9941653d33e1a909d8000b81c1ee9bb8e8ad3bf31839561faf6661",
     "Prompt BRN template, +1 sigma energy shape variation"),
    ("lar2020", "brnpdf-1sigBRNTimingMean.txt",
     "b5c1c8d0cb8b2319d093d38418da5ac2ccda59108755fb23e7f4a559cfe154f8",
     "Prompt BRN template, -1 sigma BRN timing-mean shape variation"),
    ("lar2020", "brnpdf-1sigEnergy.txt",
     "20bcad29e716f3fb0f1e9eeb8ffb049b4b3d8b3b3a150800b9c8711e2b177be6",
     "Prompt BRN template, -1 sigma energy shape variation"),
    ("lar2020", "brnpdf.txt",
     "02664ce6a84eca8c6146b6502497bc5d8165df945da132193622334ff4ff826f",
     "Prompt beam-related-neutron (BRN) template, normalised to predicted counts"),
    ("lar2020", "brnpdfBRNTimingWidthSyst.txt",
     "304dba1553989d7c0cd3f745df9731a5306ec07ecc1044c20efbe2952707b270",
     "Prompt BRN template, BRN timing-width shape variation (one-sided)"),
    ("lar2020", "cevnspdf+1sigF90.txt",
     "308f78e19b7fb3e54399dc29c207bd2a89b91825df5309d48068a3495e1c92e2",
     "CEvNS template, +1 sigma F90 shape variation"),
    ("lar2020", "cevnspdf-1sigF90.txt",
     "b4e8071f87aa22a562e0c00654a0989915251acf2c7e569068b9b78c3ae5ac35",
     "CEvNS template, -1 sigma F90 shape variation"),
    ("lar2020", "cevnspdf.txt",
     "3b1d5b25749e8d8e1cfdf5c32e48f026ce4aafec0a80632b3a63273e6e0e1f37",
     "CEvNS signal template (energy x F90 x time), normalised to predicted counts"),
    ("lar2020", "cevnspdfCEvNSTimingMeanSyst.txt",
     "3170dafd4cf44df35bde0795e1245606d8144c05f3e50f015648c57bcdba97f5",
     "CEvNS template, CEvNS timing-mean shape variation (one-sided)"),
    ("lar2020", "datanobkgsub.txt",
     "dabf3d80f13959f4b94b77c9b56f7347a645105801e8cc177424e7ffcf7c7f66",
     "Observed beam-on counts (12 energy x 8 F90 x 10 time bins), not background subtracted"),
    ("lar2020", "delbrnpdf.txt",
     "ebccca6c1650b0ace71fdbaade7a80ea289a99ff3c120266ae6ecf0083df5c63",
     "Delayed BRN template, normalised to predicted counts"),
    ("lar2020", "energydata1d.txt",
     "d691284e875fb24e72787016f118c171974ca68fa6005da7ea653ca66059aa04",
     "1D energy projection: SS-subtracted data and best-fit predictions (paper figure)"),
    ("lar2020", "f90data1d.txt",
     "e82988ec2fdb871f21850ceea866213310ee81dca656ee4448282748037f1579",
     "1D F90 projection: SS-subtracted data and best-fit predictions (paper figure)"),
    ("lar2020", "systerrors1denergy.txt",
     "09fd74b1bc242f1638dae465eefc97e374a2e6efa0aaa1b4452f1ee20dd42aed",
     "Fractional systematic band of the 1D energy projection"),
    ("lar2020", "systerrors1dpsd.txt",
     "a553c63ce5861d63c139aa18d3ece0f5e9d32be2029eb2a7474b8e4e39000c0f",
     "Fractional systematic band of the 1D F90 (PSD) projection"),
    ("lar2020", "systerrors1dtime.txt",
     "a7719f21aa5c8820f6ed65d385d7ba14f55631976a6ca289d8685081599529be",
     "Fractional systematic band of the 1D time projection"),
    ("lar2020", "timingdata1d.txt",
     "fb1054fac8baf2f527b51e6bd45e4341da45fe80dadce815a3d1cad08d729554",
     "1D time projection: SS-subtracted data and best-fit predictions (paper figure)"),
    # --- csi2021: CsI[Na] full data set (arXiv:2110.07730v2 ancillary files) ---
    ("csi2021", "brnPE.txt",
     "0000b042b8d0d28b90370eb70d1409db1d8c510fcf2b3e636370b0d4443ac0b0",
     "Beam-related-neutron PE spectrum PDF, 1-PE bins, normalised over PE < 60"),
    ("csi2021", "brnTrec.txt",
     "6f279d835242a868dfc048abaa42b8c400bf961036de7bc7e64636efdd46466f",
     "Beam-related-neutron arrival-time distribution, 10 ns bins"),
    ("csi2021", "dataBeamOnAC.txt",
     "f530d4a50e889333ada0e739db2e36d7f9f3b783822c8c6e932dae88ce071639",
     "Unbinned anti-coincidence events (PE, t_rec [us]): steady-state background; reference copy t < 6 us"),
    ("csi2021", "dataBeamOnC.txt",
     "0a188a0291af06dd023d966d1c9fea7a82ec32d8c1a10750fd09c2b17f10a749",
     "Unbinned beam-on coincidence events (PE, t_rec [us]); reference copy t < 6 us"),
    ("csi2021", "effCoefficients.txt",
     "f1e58e6b8ec4db53da3be21fe44ebc4621e9b248b920be09759b1000dada8c51",
     "Energy-efficiency logistic coefficients: nominal and two variations"),
    ("csi2021", "ninPE.txt",
     "41cae0376003cc2dcd028a3913e7c16395471f612b56d311f80e2a6071c9950c",
     "Neutrino-induced-neutron PE spectrum PDF, 1-PE bins, normalised over PE < 60"),
    ("csi2021", "ninTrec.txt",
     "2bb034d648b312f4ee329ae95078dc748ff3f83b999c411b08f86d82ddf8e151",
     "Neutrino-induced-neutron arrival-time distribution, 10 ns bins"),
    ("csi2021", "scintRespCoefficients.txt",
     "ea6b8f34b296bf6e99f2a4ac504030d99155daba3e3c252f51c87d2470319d13",
     "Scintillation-response polynomial coefficients: nominal and +-1 sigma models"),
    ("csi2021", "snsFlux2D.root",
     None,
     "Official SNS neutrino flux TH2s (time [ns] x energy [MeV]) per flavour; no official checksum"),
    # --- csi2017: CsI[Na] first observation (Zenodo 1228631) ---
    ("csi2017", "arrivalTimePDF_delayedNeutrinos.txt",
     "6d8b4054173ca7d4f612b2ead7ce563e99eb99af9f4fc8d7b8b47c06cd5b640f",
     "Arrival-time PDF of delayed neutrinos (reference copy: header differs from Zenodo)"),
    ("csi2017", "arrivalTimePDF_promptNeutrinos.txt",
     "2c92dd58f1366b7844e6ea0c73f016069a2c9b7d4538374259c00c370b9eb66a",
     "Arrival-time PDF of prompt neutrinos (reference copy: header differs from Zenodo)"),
    ("csi2017", "arrivalTimePDF_promptNeutrons.txt",
     "f3992ea6d88a3da80f5134a00e4a7b784c119c9adeed9bc9649f4134e203fb11",
     "Arrival-time PDF of prompt neutrons (reference copy: header differs from Zenodo)"),
    ("csi2017", "coherent_parameters.yaml",
     "daa4f3feaeb5499cb1d876f8ea39f3cfd571f998a6ab92e9cdf552afc78b67e8",
     "Analysis parameters: exposure, baseline, quenching factor, light yield, flux, acceptance"),
    ("csi2017", "data_anticoincidence_beamOff.txt",
     "efc91013ae0859631882513155761b423ddd08cb5062b6dfd9c17a7bd34f1e7d",
     "Anti-coincidence counts, beam off (PE x time bins; header differs from Zenodo)"),
    ("csi2017", "data_anticoincidence_beamOn.txt",
     "8b180f9395dc8886f8be02f619e35903f151f8b15f7cbc5a0171ac7e59e59523",
     "Anti-coincidence counts, beam on (PE x time bins; header differs from Zenodo)"),
    ("csi2017", "data_coincidence_beamOff.txt",
     "47e7904cd55929f6f84e9a58567b223cfcd6741af38f8b54091bbcc8756e9ae8",
     "Coincidence counts, beam off (PE x time bins; header differs from Zenodo)"),
    ("csi2017", "data_coincidence_beamOn.txt",
     "f9e8b795a48eb1f3a22cdca33cad978e5dc17fe56ea8f6a0bf32d18967051765",
     "Coincidence counts, beam on (PE x time bins; header differs from Zenodo)"),
    ("csi2017", "promptPDF.txt",
     "6e74171096abb2e9a3fac3c1b1c85f3973501627b88b2a83de7e7e5121601efa",
     "Prompt-neutron photoelectron distribution, per GWhr of beam exposure"),
    ("csi2017", "qfData_chicago.txt",
     "31046d48092e619eb84f06acdf09ea8e86c642da6aa368c10fe338480b90a04f",
     "CsI[Na] quenching-factor measurement, University of Chicago"),
    ("csi2017", "qfData_tunl.txt",
     "9e3c83e669c52be27ce47d588bbeb5d5400fadbc5625c41aa665d03c99186f94",
     "CsI[Na] quenching-factor measurement, TUNL"),
    # --- csi2021-flux: derived conversions of snsFlux2D.root (no public URL) ---
    ("csi2021-flux", "snsFlux2D_nuEBar_t125ns_E1MeV_perPOT.csv",
     "5a4320a06ad2039c5a54c8b113a650a9ba0d3d974a0935f1bfa5fdc2142f9da2",
     "Derived anti-nu_e flux, 125 ns x 1 MeV bins, per POT (normalised to 1e-4 per POT)"),
    ("csi2021-flux", "snsFlux2D_nuE_t125ns_E1MeV_perPOT.csv",
     "91373c7c4e47447e00259f7c677fa540ba05cc3d5d849e3b3913bda698f5ea48",
     "Derived nu_e flux, 125 ns x 1 MeV bins, per POT"),
    ("csi2021-flux", "snsFlux2D_nuMuBar_t125ns_E1MeV_perPOT.csv",
     "61cee7cda08731f2ca23bd946169a8005f9ec6a9f9fae1f3b019c06a4bf74122",
     "Derived anti-nu_mu flux, 125 ns x 1 MeV bins, per POT"),
    ("csi2021-flux", "snsFlux2D_nuMu_t125ns_E1MeV_perPOT.csv",
     "d8b502f3ca888ecf2c55a73c5872e4a378fef90b6755c12e7b3d776551dda31c",
     "Derived nu_mu flux, 125 ns x 1 MeV bins, per POT"),
    ("csi2021-flux", "snsFlux2D_rebinned_t125ns_E1MeV_perPOT.npz",
     "b47cf0b8690fe578687df471ce28728a7dedc7ec2e4b439aee948b6569299e64",
     "Derived flux of all four flavours, 125 ns x 1 MeV bins, per POT (NumPy archive)"),
    ("csi2021-flux", "snsFlux_energy_marginals_E1MeV_perPOT.csv",
     "13deb0b3960d2833e44252b94b23ebdca6e65fa0e64473acc11b408cc8a4106b",
     "Derived energy marginals of the flux per flavour, 1 MeV bins, per POT"),
    ("csi2021-flux", "snsFlux_time_marginals_t10ns_pdf.csv",
     "62b4ee8c1de125e93499bcddad0a71b4035ab11dc47a329bbbedea2e7936c99b",
     "Derived arrival-time marginal PDFs of the flux per flavour, 10 ns bins"),
)  # fmt: skip

#: Files that are registered but not needed by the default analyses.
_OPTIONAL: frozenset[tuple[str, str]] = frozenset({("csi2021", "snsFlux2D.root")})


def _build_registry() -> Mapping[tuple[str, str], ReleaseFile]:
    entries: dict[tuple[str, str], ReleaseFile] = {}
    # Registry order: RELEASES order, then table order within a release.
    for release in RELEASES:
        pattern = _URL_PATTERNS[release]
        for rel, name, sha256, description in _TABLE:
            if rel != release:
                continue
            entries[(rel, name)] = ReleaseFile(
                release=rel,
                name=name,
                sha256=sha256,
                url=None if pattern is None else pattern.format(name=name),
                description=description,
                optional=(rel, name) in _OPTIONAL,
            )
    return MappingProxyType(entries)


REGISTRY: Mapping[tuple[str, str], ReleaseFile] = _build_registry()
"""Every registered release file, keyed by ``(release, name)``."""


# --------------------------------------------------------------------------------------------------
# Validation of user input
# --------------------------------------------------------------------------------------------------


def _check_release(release: str) -> str:
    if release not in RELEASES:
        msg = f"unknown release {release!r}; valid releases are: {', '.join(RELEASES)}"
        raise ConfigurationError(msg)
    return release


def _select_releases(releases: Iterable[str] | None) -> list[str]:
    """Validate a user selection of releases (``None``: all), keeping the order and dropping duplicates."""
    if releases is None:
        return list(RELEASES)
    if isinstance(releases, str):  # a single name passed where an iterable is expected
        releases = [releases]
    selected: list[str] = []
    for release in releases:
        if _check_release(release) not in selected:
            selected.append(release)
    return selected


def _lookup(release: str, name: str) -> ReleaseFile:
    _check_release(release)
    try:
        return REGISTRY[(release, name)]
    except KeyError:
        valid = ", ".join(f.name for f in files(release))
        msg = f"unknown file {name!r} in release {release!r}; valid files are: {valid}"
        raise ConfigurationError(msg) from None


def files(release: str | None = None) -> list[ReleaseFile]:
    """List the registered files, of one release or of all.

    Args:
        release: a release of :data:`RELEASES`, or ``None`` for every release.

    Returns:
        The registered files, in registry order.

    Raises:
        ConfigurationError: ``release`` is not a known release.
    """
    if release is None:
        return list(REGISTRY.values())
    _check_release(release)
    return [f for f in REGISTRY.values() if f.release == release]


# --------------------------------------------------------------------------------------------------
# Locations
# --------------------------------------------------------------------------------------------------


def _env_path(variable: str) -> Path | None:
    value = os.environ.get(variable, "").strip()
    return Path(value).expanduser() if value else None


def data_dir_from_env() -> Path | None:
    """Local release directory named by ``$CEVNS_HF_DATA``.

    Returns:
        The directory (laid out ``<release>/<name>``), or ``None`` when the variable is unset or empty.
        The directory is not required to exist.
    """
    return _env_path(_DATA_ENV)


def cache_dir() -> Path:
    """Directory of the user cache of release files (laid out ``<release>/<name>``).

    Returns:
        ``$CEVNS_HF_CACHE`` when set (used as is), else ``platformdirs.user_cache_dir("cevns_hf")/releases``.
        The directory is not created.
    """
    override = _env_path(_CACHE_ENV)
    if override is not None:
        return override
    import platformdirs

    return Path(platformdirs.user_cache_dir("cevns_hf")) / "releases"


def _candidates(entry: ReleaseFile) -> list[tuple[str, Path]]:
    """Where ``entry`` is searched, in order, as ``(source, path)`` pairs."""
    found: list[tuple[str, Path]] = []
    env = data_dir_from_env()
    if env is not None:
        found.append(("env", env / entry.release / entry.name))
    found.append(("cache", cache_dir() / entry.release / entry.name))
    return found


def _locate(entry: ReleaseFile) -> tuple[str, Path] | None:
    for source, path in _candidates(entry):
        if path.is_file():
            return source, path
    return None


# --------------------------------------------------------------------------------------------------
# Checksums (memoised per file state)
# --------------------------------------------------------------------------------------------------

_HASH_CACHE: dict[tuple[str, int, int, int], str] = {}
_HASH_LOCK = threading.Lock()
_UNVERIFIED_WARNED: set[tuple[str, int, int, int]] = set()


def _file_key(path: Path) -> tuple[str, int, int, int]:
    st = path.stat()
    return (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)


def _sha256_of(path: Path) -> str:
    """SHA-256 of ``path``; memoised per (path, size, mtime_ns, inode)."""
    key = _file_key(path)
    with _HASH_LOCK:
        cached = _HASH_CACHE.get(key)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    value = digest.hexdigest()
    with _HASH_LOCK:
        _HASH_CACHE[key] = value
    return value


def _checksum_error(entry: ReleaseFile, path: Path, actual: str) -> ChecksumError:
    msg = (
        f"checksum mismatch for COHERENT release file {entry.release}/{entry.name} at {str(path)!r}: "
        f"expected SHA-256 {entry.sha256}, got {actual}; the file is corrupt or is not the registered "
        "release file: delete it and provide it again (`cevns-hf data fetch` or `cevns-hf data import DIR`)"
    )
    return ChecksumError(msg)


def _warn_unverified(entry: ReleaseFile, path: Path) -> None:
    key = _file_key(path)
    with _HASH_LOCK:
        if key in _UNVERIFIED_WARNED:
            return
        _UNVERIFIED_WARNED.add(key)
    logger.warning(
        "%s/%s at %s is UNVERIFIED: no official SHA-256 is known for this file",
        entry.release,
        entry.name,
        path,
    )


def _verify(entry: ReleaseFile, path: Path) -> None:
    """Check ``path`` against the registered hash of ``entry`` (warn if there is none)."""
    if entry.sha256 is None:
        _warn_unverified(entry, path)
        return
    actual = _sha256_of(path)
    if actual != entry.sha256:
        raise _checksum_error(entry, path, actual)


# --------------------------------------------------------------------------------------------------
# Lookup
# --------------------------------------------------------------------------------------------------


def _not_found_error(entry: ReleaseFile) -> DataNotFoundError:
    where = " and ".join(repr(str(path)) for _, path in _candidates(entry))
    if entry.url is None:
        download = (
            "it has no public URL (derived file), so `cevns-hf data fetch` cannot download it; "
            "provide it from a local copy"
        )
    else:
        optional = " --include-optional" if entry.optional else ""
        download = (
            f"download the official file with `cevns-hf data fetch --release {entry.release}{optional}` "
            f"(from {entry.url}), or provide a local copy"
        )
    msg = (
        f"COHERENT release file {entry.release}/{entry.name} not found (looked in {where}). "
        f"To provide it: {download}: lay out a directory DIR as DIR/<release>/<file> "
        f"(here DIR/{entry.release}/{entry.name}) and either set CEVNS_HF_DATA=DIR "
        "or copy it into the cache with `cevns-hf data import DIR`"
    )
    return DataNotFoundError(msg)


def release_path(release: str, name: str, *, verify: bool = True) -> Path:
    """Locate (and verify) a registered release file.

    The file is searched first in ``$CEVNS_HF_DATA/<release>/<name>`` (if the variable is set), then in
    ``cache_dir()/<release>/<name>``. The first existing file is used (a corrupt file in
    ``$CEVNS_HF_DATA`` is an error: there is no silent fall-back to the cache).

    Args:
        release: release identifier, one of :data:`RELEASES`.
        name: file name inside the release.
        verify: check the file against its registered SHA-256 (memoised per file state). Files without a
            registered hash are never verified; a warning says so.

    Returns:
        Path of the file.

    Raises:
        ConfigurationError: unknown release or file name (the message lists the valid choices).
        DataNotFoundError: the file is in none of the searched places (the message tells how to provide it).
        ChecksumError: the file does not have the registered SHA-256.
    """
    entry = _lookup(release, name)
    located = _locate(entry)
    if located is None:
        raise _not_found_error(entry)
    _, path = located
    if verify:
        _verify(entry, path)
    elif entry.sha256 is None:
        _warn_unverified(entry, path)
    return path


# --------------------------------------------------------------------------------------------------
# Download
# --------------------------------------------------------------------------------------------------


def fetch(releases: Iterable[str] | None = None, *, include_optional: bool = False) -> list[Path]:
    """Download official release files into :func:`cache_dir` (with pooch), verifying their SHA-256.

    Files already in the cache with the right hash are not downloaded again. Files without a public URL
    (``csi2021-flux``) are skipped, as are optional files unless ``include_optional``. A download goes to
    a temporary file that is only renamed into place once its hash matches, so no partial file is left.

    Args:
        releases: releases to fetch (default: all).
        include_optional: also fetch optional files (``csi2021/snsFlux2D.root``, which has no official
            checksum: it is stored unverified and a warning is logged).

    Returns:
        Paths of the requested files now in the cache (downloaded or already present).

    Raises:
        ConfigurationError: unknown release.
        DataError: a download failed (no network, HTTP error...); fetching stops at the first such error.
        ChecksumError: downloaded files did not have the registered hash (they are not kept). The other
            files are fetched first; the error lists every mismatch.
    """
    selected = _select_releases(releases)
    root = cache_dir()
    fetched: list[Path] = []
    mismatches: list[str] = []
    for release in selected:
        for entry in files(release):
            if entry.optional and not include_optional:
                logger.info("skipping optional file %s/%s (use include_optional)", release, entry.name)
                continue
            if entry.url is None:
                logger.info(
                    "skipping %s/%s: no public URL; provide it with CEVNS_HF_DATA or import_directory",
                    release,
                    entry.name,
                )
                continue
            target = root / release / entry.name
            if target.is_file() and (entry.sha256 is None or _sha256_of(target) == entry.sha256):
                logger.info("%s/%s already in the cache", release, entry.name)
                if entry.sha256 is None:
                    _warn_unverified(entry, target)
                fetched.append(target)
                continue
            path = _download(entry, target)
            if path is None:
                mismatches.append(f"{release}/{entry.name}")
                continue
            fetched.append(path)
    if mismatches:
        msg = (
            f"checksum mismatch for downloaded file(s) {', '.join(mismatches)}: the files served at the "
            "official URL do not have the registered SHA-256 (nothing was kept for them); the registered "
            "hashes are those of the project's reference copies: import those with `cevns-hf data import DIR`"
        )
        raise ChecksumError(msg)
    return fetched


def _download(entry: ReleaseFile, target: Path) -> Path | None:
    """Download ``entry`` to ``target``; ``None`` on a checksum mismatch (logged)."""
    import pooch

    assert entry.url is not None
    known_hash = None if entry.sha256 is None else f"sha256:{entry.sha256}"
    logger.info("downloading %s/%s from %s", entry.release, entry.name, entry.url)
    try:
        result = pooch.retrieve(
            entry.url,
            known_hash=known_hash,
            fname=entry.name,
            path=target.parent,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: hash mismatch (the temporary download is deleted)
        logger.error("checksum mismatch for %s/%s from %s: %s", entry.release, entry.name, entry.url, exc)
        return None
    except OSError as exc:  # requests.RequestException derives from OSError
        msg = (
            f"could not download COHERENT release file {entry.release}/{entry.name} from {entry.url}: "
            f"{type(exc).__name__}: {exc}. Check the network connection, or provide a local copy "
            "(CEVNS_HF_DATA=DIR or `cevns-hf data import DIR`, DIR laid out as DIR/<release>/<file>)"
        )
        raise DataError(" ".join(msg.split())) from exc
    path = Path(result)
    if entry.sha256 is None:
        _warn_unverified(entry, path)
    return path


# --------------------------------------------------------------------------------------------------
# Import from a local directory
# --------------------------------------------------------------------------------------------------


def import_directory(
    directory: str | os.PathLike[str],
    releases: Iterable[str] | None = None,
    *,
    overwrite: bool = False,
) -> list[Path]:
    """Copy release files from a local directory into :func:`cache_dir`, verifying their SHA-256.

    ``directory`` is laid out ``<release>/<name>`` (like ``$CEVNS_HF_DATA``). Every source file is checked
    before anything is written: a corrupt source file, or an existing cache file that differs and may not
    be replaced, aborts the import with nothing written. A cache file that is already identical (verified)
    is left alone. Missing source files are logged and skipped. Copies are atomic (temporary file + rename).

    Args:
        directory: the source directory.
        releases: releases to import (default: all those found).
        overwrite: replace cache files that differ from the source.

    Returns:
        Cache paths of the files imported or already present, in registry order.

    Raises:
        ConfigurationError: unknown release.
        DataNotFoundError: ``directory`` does not exist; or no file at all of an explicitly requested
            release (with ``releases=None``: of any release) was found in it.
        ChecksumError: a source file does not have the registered SHA-256.
        OutputExistsError: a differing file is already in the cache and ``overwrite`` is false.
    """
    source_root = Path(directory).expanduser()
    if not source_root.is_dir():
        msg = f"import directory {str(source_root)!r} does not exist or is not a directory"
        raise DataNotFoundError(msg)
    selected = _select_releases(releases)
    root = cache_dir()

    # Phase 1: check everything, write nothing.
    plan: list[tuple[ReleaseFile, Path, Path]] = []  # (entry, source, target) to copy
    present: list[tuple[ReleaseFile, Path]] = []  # already in the cache, identical
    conflicts: list[str] = []
    empty: list[str] = []
    for release in selected:
        found_any = False
        for entry in files(release):
            source = source_root / release / entry.name
            if not source.is_file():
                log = logger.info if entry.optional else logger.warning
                log("%s/%s not found in %s: skipped", release, entry.name, source_root)
                continue
            found_any = True
            source_hash = _sha256_of(source)
            if entry.sha256 is not None and source_hash != entry.sha256:
                raise _checksum_error(entry, source, source_hash)
            target = root / release / entry.name
            if target.exists():
                if target.is_file() and _sha256_of(target) == source_hash:
                    present.append((entry, target))
                    continue
                if not overwrite:
                    conflicts.append(str(target))
            plan.append((entry, source, target))
        if not found_any:
            empty.append(release)
    if releases is None:
        if len(empty) == len(selected):
            msg = (
                f"no COHERENT release file found in {str(source_root)!r}; expected the layout "
                f"DIR/<release>/<file> with <release> one of {', '.join(RELEASES)}"
            )
            raise DataNotFoundError(msg)
    elif empty:
        msg = (
            f"no file of release(s) {', '.join(empty)} found in {str(source_root)!r}; expected the layout "
            f"DIR/<release>/<file>, e.g. {str(source_root / empty[0] / files(empty[0])[0].name)!r}"
        )
        raise DataNotFoundError(msg)
    if conflicts:
        msg = (
            f"refusing to replace {len(conflicts)} cached file(s) that differ from the imported ones "
            f"({', '.join(conflicts)}); pass --force (overwrite=True) to replace them"
        )
        raise OutputExistsError(msg)

    # Phase 2: copy, then check the copy (guards against a source changed since phase 1).
    done: dict[tuple[str, str], Path] = {}
    for entry, target in present:
        logger.info("%s/%s already in the cache: skipped", entry.release, entry.name)
        done[(entry.release, entry.name)] = target
    for entry, source, target in plan:
        atomic_copy(source, target, overwrite=overwrite)
        if entry.sha256 is not None:
            actual = _sha256_of(target)
            if actual != entry.sha256:
                target.unlink(missing_ok=True)
                raise _checksum_error(entry, target, actual)
        else:
            _warn_unverified(entry, target)
        logger.info("imported %s/%s into %s", entry.release, entry.name, target)
        done[(entry.release, entry.name)] = target
    return [done[key] for key in REGISTRY if key in done]


# --------------------------------------------------------------------------------------------------
# Status
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileStatus:
    """Availability of one registered file.

    Attributes:
        file: the registered file.
        path: where it was found (``None`` if missing).
        present: the file was found.
        verified: ``True``/``False`` if the file was found and has a registered hash (match or not);
            ``None`` if missing or without a registered hash.
        source: ``"env"`` (``$CEVNS_HF_DATA``), ``"cache"`` or ``"missing"``.
    """

    file: ReleaseFile
    path: Path | None
    present: bool
    verified: bool | None
    source: str


def status(releases: Iterable[str] | None = None) -> list[FileStatus]:
    """Report where each registered file is found and whether it has the registered hash.

    Args:
        releases: releases to report (default: all).

    Returns:
        One :class:`FileStatus` per registered file of the selected releases, in registry order.

    Raises:
        ConfigurationError: unknown release.
    """
    result: list[FileStatus] = []
    for release in _select_releases(releases):
        for entry in files(release):
            located = _locate(entry)
            if located is None:
                result.append(FileStatus(entry, None, present=False, verified=None, source="missing"))
                continue
            source, path = located
            verified: bool | None = None
            if entry.sha256 is not None:
                try:
                    verified = _sha256_of(path) == entry.sha256
                except OSError as exc:
                    logger.warning("cannot read %s: %s", path, exc)
                    verified = False
            result.append(FileStatus(entry, path, present=True, verified=verified, source=source))
    return result
