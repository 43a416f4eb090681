"""cevns_hf: HistFactory / pyhf statistical models for CEvNS at COHERENT.

The packages are the pipeline, in order:

* :mod:`cevns_hf.physics`: constants, nuclei, form factors, CEvNS and neutrino-electron cross sections;
* :mod:`cevns_hf.sources`: neutrino sources (the SNS pion decay-at-rest source), one module each;
* :mod:`cevns_hf.bsm`: hypotheses and the BSM families, one module each;
* :mod:`cevns_hf.data`: the COHERENT data releases (table, store, verification, downloads);
* :mod:`cevns_hf.detectors`: the detector protocol and registry, the rate engine, one module per detector;
* :mod:`cevns_hf.templates`: binned templates of a hypothesis or a grid of hypotheses;
* :mod:`cevns_hf.workspace`: HistFactory JSON workspaces and patchsets;
* :mod:`cevns_hf.inference`: the batched profile likelihood, fits, scans, intervals, limits, toys;
* :mod:`cevns_hf.reference`: the reference analyses' chi-squares (a slow twin for tests);
* :mod:`cevns_hf.io` and :mod:`cevns_hf.visualize` at the edges; :mod:`cevns_hf.analysis` is the main
  job and :mod:`cevns_hf.cli` the command line.
"""

from __future__ import annotations

import logging

from cevns_hf._version import __version__

__all__ = ["__version__"]

logging.getLogger(__name__).addHandler(logging.NullHandler())


def __dir__() -> list[str]:
    return __all__
