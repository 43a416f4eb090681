"""The COHERENT data releases: the release table, the local store and its verification, downloads.

* :mod:`cevns_hf.data.registry`: the release table (package data ``releases.csv``, read with
  :mod:`importlib.resources`): :data:`RELEASES`, :data:`REGISTRY`, :func:`files`;
* :mod:`cevns_hf.data.verify`: the check of each file (SHA-256 of its bytes, of its numeric rows, or of its
  events in the CsI analysis region), memoised;
* :mod:`cevns_hf.data.store`: where files are looked up (``$CEVNS_HF_DATA``, then :func:`cache_dir`),
  :func:`release_path`, :func:`status` and :func:`import_directory`;
* :mod:`cevns_hf.data.download`: :func:`fetch`, downloads of what the main job reads with pooch, from the
  official URLs or a mirror (``$CEVNS_HF_MIRROR``), verified before they enter the cache, with retries.

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
