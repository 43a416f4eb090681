"""HistFactory JSON workspaces (pyhf schema 1.0.0).

* :mod:`~cevns_hf.workspace.build`: the SM workspace of one or more experiments (POI ``mu_cevns``);
* :mod:`~cevns_hf.workspace.hypothesis`: BSM hypothesis workspaces (POI ``mu_bsm``) and linear-POI workspaces;
* patchsets of hypothesis grids in the HEPData layout.
"""

from __future__ import annotations

from cevns_hf.workspace.build import POI, build_workspace, dumps, nuisance_bounds, sample_spec, validate

__all__ = ["POI", "build_workspace", "dumps", "nuisance_bounds", "sample_spec", "validate"]


def __dir__() -> list[str]:
    return __all__
