"""HS3 export: pyhs3 loads every document, its likelihood equals pyhf's, and so does its fit (ROOT too, if given).

The pyhs3 negative log-likelihood includes the same constants as pyhf's ``-2 logpdf`` (Poisson ``log n!`` and
the Gaussian constraints' normalisation), so values are compared directly; ROOT's NLL omits constants, so
its values are compared as differences between points. ROOT runs in a separate interpreter: set
``CEVNS_HF_ROOT_PYTHON`` to a Python with ``import ROOT`` (e.g. a venv with the PyPI ``ROOT`` wheel, 6.40).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyhf
import pytest
from click.testing import CliRunner

from cevns_hf import detectors
from cevns_hf.bsm.family import Hypothesis
from cevns_hf.cli import cli
from cevns_hf.exceptions import ConfigurationError
from cevns_hf.workspace import build_workspace
from cevns_hf.workspace.hs3 import DOMAIN, HS3_VERSION, PARAMETER_POINT, dumps_hs3, import_pyhs3, to_hs3
from cevns_hf.workspace.hypothesis import hypothesis_workspace

pyhs3 = import_pyhs3()  # pyhs3 reconfigures logging on import: this keeps the other tests' logging intact
import pytensor  # noqa: E402  (installed with pyhs3)

CASES = ("csi2021", "lar2020", "csi2021+lar2020", "bsm_csi2021")
#: relative agreement of the NLL at random points; absolute agreement of fitted 2NLL and POI
NLL_RTOL, FIT_TOL = 1e-6, 1e-4


def _build(case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The pyhf workspace of a case and its HS3 document (binned in the templates' real axes)."""
    if case == "bsm_csi2021":
        hyp = Hypothesis.from_mapping("magnetic_moment", {"mu_nu_mu": 3e-9})
        spec = hypothesis_workspace("csi2021", hyp)
        tmpls = [detectors.templates("csi2021")]
    else:
        tmpls = [detectors.templates(name) for name in case.split("+")]
        spec = build_workspace(tmpls)
    return spec, to_hs3(spec, axes={t.experiment: t.axes for t in tmpls})


@pytest.fixture(scope="module")
def documents() -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """Every case's pyhf workspace and HS3 document, built once for the module."""
    return {case: _build(case) for case in CASES}


class HS3NLL:
    """pyhs3's -2 log L of an HS3 document and its gradient, compiled once (pytensor FAST_RUN)."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        from pytensor.graph.traversal import explicit_graph_inputs

        ws = pyhs3.Workspace(**json.loads(dumps_hs3(doc)))
        model = ws.model(doc["analyses"][0]["name"], progress=False)
        twice_nll = -2.0 * model.log_prob.sum()
        inputs = [v for v in explicit_graph_inputs([twice_nll]) if v.name is not None]
        self.names = [str(v.name) for v in inputs]
        self._fn = pytensor.function(inputs, [twice_nll, *pytensor.grad(twice_nll, inputs)])
        domain = {a["name"]: (a["min"], a["max"]) for a in doc["domains"][0]["axes"]}
        self.bounds = [domain[n] for n in self.names]
        init = {p["name"]: p["value"] for p in doc["parameter_points"][0]["parameters"]}
        self.init = [init[n] for n in self.names]

    def __call__(self, x: Any) -> tuple[float, np.ndarray]:
        out = self._fn(*(np.asarray(v, dtype=float) for v in x))
        return float(out[0]), np.asarray(out[1:], dtype=float)

    def at(self, values: Mapping[str, float]) -> float:
        return self([values[n] for n in self.names])[0]

    def fit(self) -> tuple[float, dict[str, float]]:
        """Minimise with MIGRAD within the document's domain: (2NLL at the minimum, best-fit values)."""
        from iminuit import Minuit

        m = Minuit(lambda x: self(x)[0], np.asarray(self.init), grad=lambda x: self(x)[1], name=self.names)
        m.errordef = Minuit.LEAST_SQUARES  # the function is -2 log L
        m.limits = self.bounds
        m.strategy = 1
        m.tol = 1e-5
        m.migrad()
        assert m.valid, m.fmin
        return float(m.fval), dict(zip(self.names, (float(v) for v in m.values), strict=True))


@pytest.fixture(scope="module", params=CASES)
def compiled(request: pytest.FixtureRequest, documents: dict[str, Any]) -> tuple[str, dict[str, Any], HS3NLL]:
    """One case's pyhf workspace and its compiled pyhs3 NLL (compilation is the slow part: once per case)."""
    spec, doc = documents[request.param]
    return request.param, spec, HS3NLL(doc)


def _random_points(model: pyhf.pdf.Model, n: int, seed: int) -> list[np.ndarray]:
    """Points inside the bounds where every expected yield is positive.

    Nuisances are drawn within +-2 (both interpolation regions are probed) and pulled towards 0 until no
    expected yield is negative: there pyhf still gives a number (its Poisson term uses xlogy, 0 log(lambda)
    = 0 for an empty bin) where pyhs3 gives NaN; neither is a model.
    """
    rng = np.random.default_rng(seed)
    poi = model.config.poi_index
    points: list[np.ndarray] = []
    for _ in range(n):
        pars = np.asarray(model.config.suggested_init(), dtype=float)
        for i, (lo, hi) in enumerate(model.config.suggested_bounds()):
            pars[i] = rng.uniform(max(lo, -2.0), min(hi, 2.0)) if i != poi else rng.uniform(0.2, 3.0)
        while np.min(model.expected_actualdata(pars)) <= 0:
            mu = pars[poi]
            pars *= 0.8
            pars[poi] = mu
        points.append(pars)
    return points


@pytest.mark.parametrize("case", CASES)
def test_pyhs3_loads_every_document(case: str, documents: dict[str, Any]) -> None:
    spec, doc = documents[case]
    ws = pyhs3.Workspace(**json.loads(dumps_hs3(doc)))
    channels = [c["name"] for c in spec["channels"]]
    assert [d.name for d in ws.distributions] == [f"model_{c}" for c in channels]
    assert doc["metadata"]["hs3_version"] == HS3_VERSION
    assert {p["name"] for p in doc["metadata"]["packages"]} == {"cevns_hf", "pyhf"}
    analysis = doc["analyses"][0]
    assert analysis["parameters_of_interest"] == [spec["measurements"][0]["config"]["poi"]]
    assert (analysis["domains"], analysis["init"]) == ([DOMAIN], PARAMETER_POINT)
    model = pyhf.Workspace(spec).model()
    assert [a["name"] for a in doc["domains"][0]["axes"]] == model.config.par_order
    # real observables with their edges, C order: (energy, time) of each channel
    for dist in doc["distributions"]:
        ch = dist["name"].removeprefix("model_")
        axes = detectors.templates(ch).axes
        assert [a["name"] for a in dist["axes"]] == [f"{ch}_{a.name}" for a in axes]
        assert [a["edges"] for a in dist["axes"]] == [list(a.edges) for a in axes]
        for sample in dist["samples"]:
            for mod in sample["modifiers"]:
                if mod["type"] == "histosys":
                    assert (mod["constraint"], mod["data"]["interpolation"]) == ("Gauss", "code4p")
    assert dumps_hs3(doc) == dumps_hs3(_build(case)[1])  # deterministic


def test_normsys_and_bin_index_axes() -> None:
    """A normsys (code4, exponential beyond |alpha| = 1) and fixed parameters agree with pyhf too."""
    spec = {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {
                        "name": "s",
                        "data": [5.0, 3.0, 1.0],
                        "modifiers": [{"name": "mu", "type": "normfactor", "data": None}],
                    },
                    {
                        "name": "b",
                        "data": [10.0, 8.0, 6.0],
                        "modifiers": [
                            {"name": "a", "type": "normsys", "data": {"hi": 1.3, "lo": 0.8}},
                            {"name": "h", "type": "histosys", "data": {"hi_data": [11, 9, 5], "lo_data": [9, 8, 7]}},
                            {"name": "k", "type": "normfactor", "data": None},
                        ],
                    },
                ],
            }
        ],
        "observations": [{"name": "c", "data": [17.0, 10.0, 9.0]}],
        "measurements": [
            {"name": "m", "config": {"poi": "mu", "parameters": [{"name": "k", "fixed": True, "inits": [1.2]}]}}
        ],
        "version": "1.0.0",
    }
    doc = to_hs3(spec)
    assert doc["distributions"][0]["axes"] == [{"name": "c_bin", "min": 0.0, "max": 3.0, "nbins": 3}]
    normsys = doc["distributions"][0]["samples"][1]["modifiers"][0]
    assert normsys["data"] == {"hi": 1.3, "lo": 0.8, "interpolation": "code4"}
    assert {"name": "k", "value": 1.2, "const": True} in doc["parameter_points"][0]["parameters"]
    nll = HS3NLL(doc)
    assert "k" not in nll.names  # const: baked into the graph
    model = pyhf.Workspace(spec).model()
    data = pyhf.Workspace(spec).data(model)
    for alpha in (-2.5, -1.0, -0.3, 0.0, 0.6, 1.0, 1.7):
        for theta in (-1.6, 0.4):
            pars = np.array(model.config.suggested_init(), dtype=float)
            pars[model.config.par_slice("a")] = alpha
            pars[model.config.par_slice("h")] = theta
            pars[model.config.par_slice("mu")] = 0.7
            values = {n: float(pars[model.config.par_slice(n)][0]) for n in model.config.par_order}
            ref = float(-2 * model.logpdf(pars, data)[0])
            assert nll.at(values) == pytest.approx(ref, rel=1e-12)


def test_unsupported_modifiers_and_axes_are_refused() -> None:
    spec = {
        "channels": [
            {
                "name": "c",
                "samples": [
                    {
                        "name": "s",
                        "data": [5.0],
                        "modifiers": [
                            {"name": "mu", "type": "normfactor", "data": None},
                            {"name": "st", "type": "staterror", "data": [0.5]},
                        ],
                    }
                ],
            }
        ],
        "observations": [{"name": "c", "data": [5.0]}],
        "measurements": [{"name": "m", "config": {"poi": "mu", "parameters": []}}],
        "version": "1.0.0",
    }
    with pytest.raises(ConfigurationError, match="staterror"):
        to_hs3(spec)
    spec["channels"][0]["samples"][0]["modifiers"].pop()
    with pytest.raises(ConfigurationError, match="1 bins but its axes"):
        to_hs3(spec, axes={"c": detectors.templates("csi2021").axes})


@pytest.mark.slow
def test_nll_at_random_points_equals_pyhf(compiled: tuple[str, dict[str, Any], HS3NLL]) -> None:
    _, spec, nll = compiled
    ws = pyhf.Workspace(spec)
    model, data = ws.model(), ws.data(ws.model())
    for pars in _random_points(model, 6, seed=7):
        ref = float(-2 * model.logpdf(pars, data)[0])
        values = {n: float(pars[model.config.par_slice(n)][0]) for n in model.config.par_order}
        assert nll.at(values) == pytest.approx(ref, rel=NLL_RTOL)


@pytest.mark.slow
def test_fit_agrees_with_pyhf(compiled: tuple[str, dict[str, Any], HS3NLL]) -> None:
    _, spec, nll = compiled
    ws = pyhf.Workspace(spec)
    model = ws.model()
    best, twice_nll = pyhf.infer.mle.fit(ws.data(model), model, return_fitted_val=True, tolerance=1e-10)
    fval, values = nll.fit()
    poi = model.config.poi_name
    assert fval == pytest.approx(float(twice_nll), abs=FIT_TOL)
    assert values[poi] == pytest.approx(float(best[model.config.poi_index]), abs=FIT_TOL)


def test_cli_writes_hs3(tmp_path: Path) -> None:
    out = tmp_path / "ws.hs3.json"
    args = ["workspace", "--experiment", "csi2021", "--format", "hs3", "--output", str(out)]
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert [a["name"] for a in doc["distributions"][0]["axes"]] == ["csi2021_energy", "csi2021_time"]
    pyhs3.Workspace(**doc)
    assert json.loads((tmp_path / "ws.hs3.poi.json").read_text())["poi"] == "mu_cevns"
    hyp = ["--hypothesis", "magnetic_moment:mu_nu_mu=3e-9", "--output", str(tmp_path / "bsm.hs3.json")]
    res = CliRunner().invoke(cli, ["workspace", "--experiment", "csi2021", "--format", "hs3", *hyp])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "bsm.hs3.json").read_text())["analyses"][0]["parameters_of_interest"] == ["mu_bsm"]


# --- ROOT (RooFit's HS3 reader), in its own interpreter ---------------------------------------------------

_ROOT_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import ROOT
ROOT.RooMsgService.instance().setGlobalKillBelow(ROOT.RooFit.WARNING)
path, points = sys.argv[1], json.load(open(sys.argv[2]))
doc = json.load(open(path))
ws = ROOT.RooWorkspace("w")
assert ROOT.RooJSONFactoryWSTool(ws).importJSON(path)
mc = ws.obj(doc["analyses"][0]["name"])
data = ws.data(doc["data"][0]["name"])
nll = mc.GetPdf().createNLL(data)
pars = {v.GetName(): v for v in nll.getVariables()}
out = {"version": ROOT.gROOT.GetVersion(), "nll": []}
for p in points:
    for k, v in p.items():
        pars[k].setVal(v)
    out["nll"].append(2 * nll.getVal())
m = ROOT.RooMinimizer(nll)
m.setPrintLevel(-1)
m.setStrategy(1)
m.setEps(1e-6)
m.minimize("Minuit2", "Migrad")
out["twice_nll"] = 2 * nll.getVal()
out["values"] = {k: v.getVal() for k, v in pars.items() if not v.isConstant()}
print(json.dumps(out))
"""


def _root_python() -> str | None:
    given = os.environ.get("CEVNS_HF_ROOT_PYTHON")
    if given:
        return given if shutil.which(given) or Path(given).is_file() else None
    try:
        import ROOT  # noqa: F401
    except ImportError:
        return None
    return sys.executable


@pytest.mark.slow
@pytest.mark.parametrize("case", ["csi2021", "lar2020", "bsm_csi2021"])
def test_root_reads_the_export(case: str, documents: dict[str, Any], tmp_path: Path) -> None:
    """RooFit's HS3 reader (single channels): NLL differences between points and the fit agree with pyhf.

    RooFit clips every sample's interpolated yield at zero (``PiecewiseInterpolation`` is positive definite),
    pyhf does not: the points keep every sample's yield positive.
    """
    python = _root_python()
    if python is None:
        pytest.skip("no ROOT: set CEVNS_HF_ROOT_PYTHON to a Python that imports ROOT (PyPI wheel 'ROOT')")
    spec, doc = documents[case]
    ws = pyhf.Workspace(spec)
    model, data = ws.model(), ws.data(ws.model())
    points = [
        p
        for p in _random_points(model, 12, seed=11)
        if np.min(model.main_model.expected_data(p, return_by_sample=True)) >= 0
    ][:4]
    assert len(points) >= 2
    named = [{n: float(p[model.config.par_slice(n)][0]) for n in model.config.par_order} for p in points]
    (tmp_path / "ws.json").write_text(dumps_hs3(doc))
    (tmp_path / "points.json").write_text(json.dumps(named))
    (tmp_path / "check.py").write_text(_ROOT_SCRIPT)
    run: Callable[..., subprocess.CompletedProcess[str]] = subprocess.run
    res = run(
        [python, str(tmp_path / "check.py"), str(tmp_path / "ws.json"), str(tmp_path / "points.json")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    ref = np.array([float(-2 * model.logpdf(p, data)[0]) for p in points])
    offset = np.asarray(out["nll"]) - ref  # ROOT leaves out constants: one offset for every point
    np.testing.assert_allclose(offset - offset[0], 0.0, atol=1e-6 * float(np.abs(ref).max()))
    best, twice_nll = pyhf.infer.mle.fit(data, model, return_fitted_val=True, tolerance=1e-10)
    assert out["twice_nll"] - offset[0] == pytest.approx(float(twice_nll), abs=FIT_TOL)
    poi = model.config.poi_name
    assert out["values"][poi] == pytest.approx(float(best[model.config.poi_index]), abs=FIT_TOL)
