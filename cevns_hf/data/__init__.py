"""The COHERENT data releases: the release table, the local store and its verification, downloads.

* :mod:`cevns_hf.data.registry`: the release table (package data ``releases.csv``, read with
  :mod:`importlib.resources`): :data:`RELEASES`, :data:`REGISTRY`, :func:`files`;
* :mod:`cevns_hf.data.store`: where files are looked up (``$CEVNS_HF_DATA``, then :func:`cache_dir`), their
  SHA-256 verification (memoised), :func:`release_path`, :func:`status` and :func:`import_directory`;
* :mod:`cevns_hf.data.download`: :func:`fetch`, downloads of the official files with pooch.

Usage::

    from cevns_hf.data import release_path

    path = release_path("lar2020", "cevnspdf.txt")  # located and verified
"""

from __future__ import annotations

from cevns_hf.data.download import fetch
from cevns_hf.data.registry import REGISTRY, RELEASES, ReleaseFile, files
from cevns_hf.data.store import (
    FileStatus,
    cache_dir,
    data_dir_from_env,
    import_directory,
    release_path,
    status,
)

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
