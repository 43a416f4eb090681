"""A HEPData submission folder for a scan, through ``hepdata_lib``: the Delta chi2 table and the intervals.

1D scans give two tables: the profiled Delta chi2 against the parameter (with its unit), and the allowed
intervals at each level (the ends located on the profiled curve, ``cevns_hf.inference.exact``). 2D scans
give the Delta chi2 map and one table per contour level (the points solved on the surface). The folder holds
hepdata_lib's ``submission.yaml``, one YAML file per table and ``submission.tar.gz``, ready for upload.
"""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from cevns_hf.bsm.family import Family
from cevns_hf.exceptions import ConfigurationError, OutputExistsError

__all__ = ["write_hepdata"]


def __dir__() -> list[str]:
    return __all__


def _hepdata_lib() -> Any:
    try:
        import hepdata_lib
    except ImportError as err:  # pragma: no cover - depends on the environment
        msg = "HEPData submissions need hepdata_lib: pip install 'cevns_hf[hepdata]'"
        raise ConfigurationError(msg) from err
    return hepdata_lib


def _variable(hd: Any, name: str, values: Any, units: str, *, independent: bool) -> Any:
    var = hd.Variable(name, is_independent=independent, is_binned=False, units=units)
    var.values = [float(v) if v is not None else float("nan") for v in values]
    return var


def write_hepdata(
    scan: Mapping[str, Any], family: Family, folder: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write a HEPData submission folder for a scan (its JSON form, :meth:`ScanResult.to_dict`).

    Args:
        scan: the scan's JSON form.
        family: its family (parameter units and descriptions).
        folder: the submission folder (created; refused if it exists unless ``overwrite``).
        overwrite: replace an existing folder's files.

    Returns:
        The folder.
    """
    hd = _hepdata_lib()
    out = Path(folder)
    if out.exists() and any(out.iterdir()) and not overwrite:
        msg = f"refusing to write into the non-empty folder {str(out)!r} (overwrite=False)"
        raise OutputExistsError(msg)
    names = list(scan["parameters"])
    pars = [family.parameter(n) for n in names]
    what = f"{family.name} ({', '.join(scan.get('experiments', []))})"
    sub = hd.Submission()
    if len(names) == 1:
        (par,) = pars
        grid = scan["grid"][par.name]
        table = hd.Table("Delta chi2 profile")
        table.description = f"Profile-likelihood Delta chi2 of {par.name} ({par.description}), {what}."
        table.add_variable(_variable(hd, par.name, grid, par.unit, independent=True))
        table.add_variable(_variable(hd, "Delta chi2", scan["delta_chi2"], "", independent=False))
        sub.add_table(table)
        exact = scan.get("exact") or {}
        intervals = exact.get("intervals") or scan.get("intervals") or {}
        rows = [(level, lo, hi) for level, ivs in intervals.items() for lo, hi in ivs]
        if rows:
            ends = hd.Table("Allowed intervals")
            ends.description = (
                f"Allowed intervals of {par.name} at each confidence level (1 dof), {what}; ends located on the "
                f"profiled curve to |Delta chi2 - level| < {exact.get('tolerance', 'n/a')}."
            )
            ends.add_variable(_variable(hd, "interval", range(len(rows)), "", independent=True))
            ends.add_variable(_variable(hd, f"{par.name} lower end", [r[1] for r in rows], par.unit, independent=False))
            ends.add_variable(_variable(hd, f"{par.name} upper end", [r[2] for r in rows], par.unit, independent=False))
            level_var = hd.Variable("level", is_independent=False, is_binned=False, units="")
            level_var.values = [r[0] for r in rows]
            ends.add_variable(level_var)
            sub.add_table(ends)
    elif len(names) == 2:
        px, py = pars
        x, y = np.meshgrid(scan["grid"][px.name], scan["grid"][py.name], indexing="ij")
        table = hd.Table("Delta chi2 map")
        table.description = f"Profile-likelihood Delta chi2 over ({px.name}, {py.name}), {what}."
        table.add_variable(_variable(hd, px.name, x.ravel(), px.unit, independent=True))
        table.add_variable(_variable(hd, py.name, y.ravel(), py.unit, independent=True))
        flat = np.asarray([[np.nan if v is None else v for v in row] for row in scan["delta_chi2"]]).ravel()
        table.add_variable(_variable(hd, "Delta chi2", flat, "", independent=False))
        sub.add_table(table)
        contours = (scan.get("exact_contours") or {}).get("contours") or scan.get("contours") or {}
        for level, lines in contours.items():
            pts = [p for line in lines for p in line]
            if not pts:
                continue
            c = hd.Table(f"Contour {level}")
            c.description = f"Allowed-region boundary at the {level} level (2 dof), {what}."
            c.add_variable(_variable(hd, px.name, [p[0] for p in pts], px.unit, independent=True))
            c.add_variable(_variable(hd, py.name, [p[1] for p in pts], py.unit, independent=False))
            sub.add_table(c)
    else:
        msg = f"a HEPData submission takes 1D or 2D scans, this one has {len(names)} axes"
        raise ConfigurationError(msg)
    out.mkdir(parents=True, exist_ok=True)
    # hepdata_lib writes submission.tar.gz into the working directory: run it from a private one
    with tempfile.TemporaryDirectory() as scratch:
        here = os.getcwd()
        os.chdir(scratch)
        try:
            with warnings.catch_warnings():
                # hepdata_lib leaves the YAML files it re-reads open: collect them here, quietly
                warnings.simplefilter("ignore", ResourceWarning)
                sub.create_files(str(out.resolve()), remove_old=overwrite)
                gc.collect()
        finally:
            os.chdir(here)
        for tar in Path(scratch).glob("*.tar.gz"):
            shutil.move(str(tar), out / tar.name)
    return out
