"""A catalogue of bad inputs, one a line: each gives exit code 2, exactly one ``Error:`` line naming the item
(and the valid choices where there are choices), no traceback, and no file created or changed.

Argument cases (``A``) are command lines (``{tmp}`` is the test folder, which holds ``existing.json``, a
dangling symlink ``dangling.json``, a folder ``adir/``, a patchset folder ``grid/`` with ``BkgOnly.json``
and a run output ``out/`` with ``results/results.json``). Configuration cases (``C``: text, ``B``: bytes)
are written to ``{tmp}/run.yaml`` and given to ``cevns-hf run --config``. Every case fails in validation,
before any template is computed, so the whole catalogue takes seconds.
"""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from cevns_hf.cli import cli

GOOD = "version: 1\nsm_fits: [csi2021]\nscans: [{name: wm, family: weak_mixing, experiment: csi2021, grid: {sin2_theta_w: {lo: 0.2, hi: 0.3, n: 3}}}]\n"  # noqa: E501


def _scan(grid: str, extra: str = "", family: str = "nsi", kind: str = "scans") -> str:
    head = "version: 1\n" if kind == "scans" else "version: 1\nscans: []\n"
    return head + f"{kind}: [{{name: a, family: {family}, experiment: csi2021, grid: {{{grid}}}{extra}}}]\n"


def A(argv: str, *expect: str) -> Any:
    return pytest.param("argv", argv, expect, id=argv[:80])


def C(text: str, *expect: str) -> Any:
    return pytest.param("config", text.encode("utf-8"), expect, id="config:" + text[:70].replace("\n", "|"))


def B(data: bytes, *expect: str, name: str) -> Any:
    return pytest.param("config", data, expect, id="bytes:" + name)


PS = "patchset --experiment csi2021 --family nsi -o {tmp}/new"
SC = "scan --experiment csi2021 --hypothesis-family nsi"
SC1 = SC + " --grid eps_ee_u=0:1:3"
LI = "limit --experiment csi2021 --hypothesis-family magnetic_moment --parameter mu_nu_mu"
WS = "workspace --experiment csi2021 -o {tmp}/new.json"
PR = "predict --experiment csi2021 --hypothesis"
RUN = "run --config {tmp}/good.yaml --no-plots"
AX = "{lo: 0, hi: 1, n: 3}"

ONE = "{name: a, family: nsi, experiment: csi2021, grid: {eps_ee_u: " + AX + "}}"
DUP_SCAN = GOOD.replace("scans: [", "scans: [" + ONE.replace("name: a", "name: wm") + ", ")
DUP_PS = "version: 1\nscans: []\npatchsets: [" + ONE + ", " + ONE + "]\n"

CASES = [
    # -- detectors and command structure
    A("predict --experiment nope --json", "nope", "csi2021"),
    A("predict --experiment csi2021+nope", "nope", "csi2021"),
    A("predict --experiment +", "experiment"),
    A("predict --experiment csi2021+lar2020", "one detector"),
    A("predict", "--experiment"),
    A("predict --experiment csi2021 --bogus", "--bogus"),
    A("nope", "nope"),
    A("families --json extra", "extra"),
    A("detectors --bogus", "--bogus"),
    A("fit --experiment nope", "nope", "lar2020"),
    A("fit --experiment csi2021++lar2020", "experiment"),
    A("fit --experiment csi2021 --binning huge", "huge", "paper", "fine"),
    A("fit --experiment lar2020 --binning fine", "--binning", "lar2020"),
    A("fit --experiment csi2021 --lar-f90", "--lar-f90", "csi2021"),
    A("limit --experiment nope --hypothesis-family nsi --parameter eps_ee_u", "nope", "csi2021"),
    # -- hypotheses (text form family:name=value,...)
    A(PR + " nope:x=1", "nope", "valid families", "nsi"),
    A(PR + " ''", "unknown hypothesis family", "valid families"),
    A(PR + " :", "unknown hypothesis family", "valid families"),
    A(PR + " nsi:eps_xx=1", "eps_xx", "valid parameters", "eps_ee_u"),
    A(PR + " nsi:=1", "no parameter ''", "valid parameters"),
    A(PR + " nsi:eps_ee_u=0_1", "eps_ee_u", "'0_1'", "[-5, 5]"),
    A(PR + " nsi:eps_ee_u=1_000", "'1_000'"),
    A(PR + " nsi:eps_ee_u=nan", "eps_ee_u", "finite"),
    A(PR + " nsi:eps_ee_u=NaN", "finite"),
    A(PR + " nsi:eps_ee_u=inf", "finite"),
    A(PR + " nsi:eps_ee_u=-inf", "finite"),
    A(PR + " nsi:eps_ee_u=+Infinity", "finite"),
    A(PR + " nsi:eps_ee_u=1e400", "overflows"),
    A(PR + " nsi:eps_ee_u=0x10", "'0x10'", "not a number"),
    A(PR + " nsi:eps_ee_u=1,5", "name=value", "'5'"),
    A(PR + " nsi:eps_ee_u=", "eps_ee_u", "not a number"),
    A(PR + " nsi:eps_ee_u", "name=value"),
    A(PR + " nsi:eps_ee_u==1", "not a number"),
    A(PR + " nsi:eps_ee_u=１", "not a number"),
    A(PR + " nsi:eps_ee_u=1e", "not a number"),
    A(PR + " nsi:eps_ee_u=.", "not a number"),
    A(PR + " nsi:eps_ee_u=1.2.3", "not a number"),
    A(PR + " 'nsi:eps_ee_u=1 2'", "not a number"),
    A(PR + " nsi:eps_ee_u=6", "eps_ee_u = 6", "[-5, 5]"),
    A(PR + " nsi:eps_ee_u=0.1,eps_ee_u=0.2", "eps_ee_u", "twice"),
    A(PR + " sterile:ue4_sq=0.9,umu4_sq=0.9", "ue4_sq + umu4_sq = 1.8", "<= 1"),
    A(PR + " sterile:ue4_sq=-0.1", "ue4_sq", "[0, 1]"),
    A(PR + " sterile:dm41_ev2=1e5", "dm41_ev2", "[0, 10000]"),
    A(PR + " neutron_radius:r_n=1.0", "r_n", "(1.55885, 8] or 0 (off)"),
    A(PR + " neutron_radius:r_n=1.5", "r_n", "1.55885"),
    A(PR + " neutron_radius:r_n=-1", "r_n", "1.55885"),
    A(PR + " neutron_radius:r_n=4,r_n_cs=5", "r_n", "r_n_cs"),
    A(PR + " neutron_radius:r_n_cs=2", "r_n_cs", "(2, 8]"),
    A(PR + " light_vector:mass_mev=0", "mass_mev", "(0, 100000]"),
    A(PR + " light_vector:g_nu=4", "g_nu", "3.54491"),
    A(PR + " magnetic_moment:mu_nu_mu=1", "mu_nu_mu", "1e-06"),
    A(PR + " millicharge:q_ee=1", "q_ee", "0.001"),
    A(PR + " dipole_portal:m4_mev=0", "m4_mev", "(0, 10000]"),
    A(PR + " weak_mixing:sin2_theta_w=2", "sin2_theta_w", "[0, 1]"),
    # -- workspace
    A("workspace --experiment csi2021 -o {tmp}/existing.json", "existing.json", "--force"),
    A("workspace --experiment csi2021 -o {tmp}/dangling.json", "dangling.json", "--force"),
    A("workspace --experiment csi2021 -o {tmp}/adir", "adir", "directory"),
    A("workspace --experiment csi2021", "--output"),
    A(WS + " --poi mu_nu_e_sq", "--poi", "--hypothesis"),
    A(WS + " --hypothesis nsi:eps_ee_u=0_1", "'0_1'"),
    A(WS + " --hypothesis nsi:eps_ee_u=0.1 --lar-f90", "--lar-f90"),
    A(WS + " --binning fine2", "fine2", "paper"),
    A(WS + " --hypothesis sterile:ue4_sq=0.7,umu4_sq=0.7", "exceeds 1"),
    A("workspace --experiment csi2021 -o {tmp}/existing.json --hypothesis nope:x=1", "existing.json"),
    # -- patchset grids
    A(PS + " --grid x=0:1:2 --family nope", "nope"),
    A("patchset --experiment csi2021 --family nope --grid x=0:1:2 -o {tmp}/new", "nope", "valid families"),
    A(PS + " --grid eps_xx=0:1:2", "eps_xx", "valid parameters"),
    A(PS + " --grid eps_ee_u=0_1:1:2", "'0_1'"),
    A(PS + " --grid eps_ee_u=0:1:2_0", "'2_0'", "whole number"),
    A(PS + " --grid eps_ee_u=0:1", "name=lo:hi:n"),
    A(PS + " --grid eps_ee_u", "name=lo:hi:n"),
    A(PS + " --grid eps_ee_u=0:1:2:3", "name=lo:hi:n"),
    A(PS + " --grid =0:1:2", "parameter name"),
    A(PS + " --grid ' =0:1:2'", "parameter name"),
    A(PS + " --grid eps_ee_u=nan:1:2", "finite"),
    A(PS + " --grid eps_ee_u=0:inf:2", "finite"),
    A(PS + " --grid eps_ee_u=0:1e999:2", "overflows"),
    A(PS + " --grid eps_ee_u=0:1:0", "at least 1"),
    A(PS + " --grid eps_ee_u=0:1:-3", "'-3'", "whole number"),
    A(PS + " --grid eps_ee_u=0:1:2.5", "'2.5'", "whole number"),
    A(PS + " --grid eps_ee_u=0:1:1e3", "'1e3'", "whole number"),
    A(PS + " --grid eps_ee_u=0:1:２", "whole number"),
    A(PS + " --grid eps_ee_u=1:0:3", "eps_ee_u", "lo < hi"),
    A(PS + " --grid eps_ee_u=1:1:3", "eps_ee_u", "lo < hi"),
    A(PS + " --grid eps_ee_u=0:1:1", "1 value", "lo = hi"),
    A(PS + " --grid eps_ee_u=1:1.0000000000000002:5", "distinct"),
    A(PS + " --grid eps_ee_u=0:1:2 --grid eps_ee_u=0:1:3", "eps_ee_u", "twice"),
    A(PS + " --grid eps_ee_u=0:1:2 --grid ' eps_ee_u=0:1:3'", "eps_ee_u", "twice"),
    A(PS + " --grid eps_ee_u=0:1:2 --log eps_ee_d", "eps_ee_d", "without an axis", "eps_ee_u"),
    A(PS + " --grid eps_ee_u=-1:1:3 --log eps_ee_u", "logarithmic", "positive"),
    A(PS + " --grid ' eps_ee_u=-1:1:3' --log 'eps_ee_u '", "logarithmic", "positive"),
    A(PS + " --grid eps_ee_u=0.1:1:3 --log ''", "--log", "parameter name"),
    A(PS + " --grid eps_ee_u=0.1:1:3 --log eps_ee_u --log eps_ee_u", "eps_ee_u", "twice"),
    A(PS + " --grid eps_ee_u=0:1:1000000", "1,000,000 points", "CEVNS_HF_MAX_GRID_POINTS"),
    A(PS + " --grid eps_ee_u=0:1:1000 --grid eps_ee_d=0:1:1000", "1,000,000 points", "cap"),
    A(PS + " --grid eps_ee_u=0:1:99999999999999999999", "points", "CEVNS_HF_MAX_GRID_POINTS"),
    A(PS + " --grid eps_ee_u=0:10:3", "eps_ee_u", "[-5, 5]"),
    A(PS + " --grid 'eps ee=0:1:2'", "'eps ee'", "valid parameters"),
    A(PS + " --grid eps_ee_u=0:1:2 --fixed eps_ee_u=0.1", "eps_ee_u", "grid axis and fixed"),
    A(PS + " --grid eps_ee_u=0:1:2 --fixed eps_ee_d=0_1", "'0_1'"),
    A(PS + " --grid eps_ee_u=0:1:2 --fixed nope=1", "nope", "valid parameters"),
    A(PS + " --grid eps_ee_u=0:1:2 --fixed eps_ee_d", "name=value"),
    A("patchset --experiment csi2021 --family sterile --grid ue4_sq=0:0.9:4 --grid umu4_sq=0:0.9:4 -o {tmp}/n", "1.8"),
    A("patchset --experiment csi2021 --family sterile --grid ue4_sq=0:0.9:4 --fixed umu4_sq=0.9 -o {tmp}/n", "1.8"),
    A("patchset --experiment csi2021 --family neutron_radius --grid r_n=0.5:1.5:3 -o {tmp}/n", "r_n", "1.55885"),
    A("patchset --experiment csi2021 --family nsi --grid eps_ee_u=0:1:2 -o {tmp}/existing.json", "existing.json"),
    A("patchset --experiment csi2021 --family nsi --grid eps_ee_u=0:1:2 -o {tmp}/grid", "BkgOnly.json", "--force"),
    A("patchset --experiment nope --family nsi --grid eps_ee_u=0:1:2 -o {tmp}/n", "nope", "csi2021"),
    A("patchset --experiment csi2021 --grid eps_ee_u=0:1:2 -o {tmp}/n", "--family"),
    A("patchset --experiment csi2021 --family nsi -o {tmp}/n", "--grid"),
    # -- scan
    A("scan --experiment csi2021 --hypothesis-family nope --grid x=0:1:3", "nope", "valid families"),
    A(SC + " --grid eps_xx=0:1:3", "eps_xx", "valid parameters"),
    A(SC1 + " --grid eps_ee_u=0:1:3", "eps_ee_u", "twice"),
    A(SC1 + " --profile eps_ee_u", "eps_ee_u", "grid axis and profiled"),
    A(SC1 + " --profile eps_ee_d --profile eps_ee_d", "eps_ee_d", "twice"),
    A(SC1 + " --profile nope", "nope", "valid parameters"),
    A(SC1 + " --profile eps_ee_d --log eps_ee_d", "eps_ee_d", "without an axis"),
    A(SC1 + " --profile eps_ee_d=0:1:0", "at least 1"),
    A(SC1 + " --profile eps_ee_d=0_1:1:3", "'0_1'"),
    A(SC1 + " --profile eps_ee_d=0:9:3", "eps_ee_d", "[-5, 5]"),
    A(SC1 + " --profile =0:1:3", "parameter name"),
    A(SC1 + " --log eps_mumu_u", "eps_mumu_u", "without an axis"),
    A(SC1 + " --fixed eps_ee_u=1", "eps_ee_u", "grid axis and fixed"),
    A(SC1 + " --fixed eps_ee_d=0.1 --profile eps_ee_d", "profiled once and not also fixed"),
    A(SC1 + " --workers 0", "--workers", "[1, 256]"),
    A(SC1 + " --workers 1_0", "--workers", "whole number"),
    A(SC1 + " --workers 100000", "--workers", "256"),
    A(SC1 + " --workers 2 --scheduler tcp://1.2.3.4:8786", "--workers", "--scheduler"),
    A(SC1 + " --scheduler 'not an address'", "scheduler address", "tcp://10.0.0.1:8786"),
    A(SC1 + " --scheduler tcp://", "scheduler address", "HOST"),
    A(SC1 + " --scheduler foo://host:1", "'foo://host:1'", "tcp, tls"),
    A(SC1 + " --scheduler host:99999", "PORT in 1-65535"),
    A(SC1 + " --scheduler :8786", "scheduler address"),
    A(SC1 + " --scheduler tcp://host:port", "scheduler address"),
    A(SC1 + " --scheduler ''", "scheduler address"),
    A(SC1 + " --chunk 0", "--chunk"),
    A(SC1 + " --chunk abc", "--chunk", "whole number"),
    A(SC1 + " -o {tmp}/existing.json", "existing.json", "--force"),
    A(SC1 + " -o {tmp}/dangling.json", "dangling.json", "--force"),
    A(SC1 + " -o {tmp}/adir", "adir", "directory"),
    A(SC1 + " --binning nope", "nope", "paper", "fine"),
    A("scan --experiment lar2020 --hypothesis-family nsi --grid eps_ee_u=0:1:3 --binning fine", "--binning"),
    A("scan --experiment csi2021 --hypothesis-family sterile --grid ue4_sq=0:0.9:3 --grid umu4_sq=0:0.9:3", "1.8"),
    A("scan --experiment csi2021 --hypothesis-family light_vector --grid mass_mev=0:10:3", "mass_mev", "(0, 100000]"),
    A("scan --experiment csi2021 --hypothesis-family light_vector --grid mass_mev=-1:10:3 --log mass_mev", "positive"),
    A("scan --experiment csi2021 --hypothesis-family weak_mixing --grid sin2_theta_w=0:1:300000", "300,000 points"),
    A(SC1 + " --stream {tmp}/s --profile eps_ee_d", "--stream", "--profile"),
    A(SC1 + " --stream {tmp}/s -o {tmp}/x.json", "--stream", "--output"),
    A(SC1 + " --stream {tmp}/s --hepdata {tmp}/h", "--stream", "--hepdata"),
    A(SC1 + " --stream {tmp}/existing.json", "existing.json", "is a file"),
    A(SC1 + " --stream {tmp}/streamed", "scan.json", "--force"),
    A(SC1 + " --stream {tmp}/s --fixed eps_ee_d=9", "eps_ee_d", "[-5, 5]"),
    A(SC1 + " --stream {tmp}/s --chunk 0", "--chunk"),
    A(SC1 + " --stream {tmp}/s --scheduler foo://h:1", "'foo://h:1'", "tcp, tls"),
    A(SC + " --grid eps_ee_u=0:9:3 --stream {tmp}/s --workers 2", "eps_ee_u", "[-5, 5]"),
    A(
        SC + " --grid eps_ee_u=-1:1:300 --grid eps_ee_d=-1:1:300 --grid eps_mumu_u=-1:1:300 --stream {tmp}/s",
        "27,000,000 points",
        "CEVNS_HF_MAX_STREAM_POINTS",
    ),
    A("scan --experiment csi2021 --hypothesis-family nsi", "--grid"),
    # -- limit
    A(LI + " --cl 1.5", "--cl", "(0, 1)"),
    A(LI + " --cl 0", "--cl", "(0, 1)"),
    A(LI + " --cl 1", "--cl", "(0, 1)"),
    A(LI + " --cl nan", "--cl", "finite"),
    A(LI + " --cl 0_9", "--cl", "'0_9'"),
    A(LI + " --cl ninety", "--cl", "not a number"),
    A(LI + " --method bayes", "bayes", "profile", "cls"),
    A(LI + " --reference inf", "--reference", "finite"),
    A(LI + " --reference 1_0", "--reference", "'1_0'"),
    A(LI + " --fixed mu_nu_e=0_1", "'0_1'"),
    A(LI + " --fixed nope=1", "nope", "valid parameters"),
    A("limit --experiment csi2021 --hypothesis-family nope --parameter x", "nope", "valid families"),
    A("limit --experiment csi2021 --hypothesis-family nsi --parameter nope", "nope", "valid parameters"),
    A(LI + " --method fc", "--method fc", "--grid"),
    A(LI + " --method fc --grid 0:1e-8", "LO:HI:N"),
    A(LI + " --method fc --grid 0:1e-8:5 --toys 3", "--toys"),
    A(LI + " --method fc --grid -1:1e-8:5", "mu_nu_mu", "physical range"),
    A(LI + " --method profile --grid 0:1e-8:5", "--grid", "--method fc"),
    A(LI + " --method fc --grid 0:1e-8:5 --fixed mu_nu_mu=0", "mu_nu_mu", "fixed"),
    A(
        "limit --experiment csi2021 --hypothesis-family neutron_radius --parameter r_n_cs --method fc --grid 4:6:5",
        "r_n_cs",
        "polynomial",
    ),
    # -- Feldman-Cousins scans
    A(SC1 + " --grid eps_ee_d=0:1:3 --grid eps_mumu_u=0:1:3 --fc", "--fc", "1 or 2"),
    A(SC1 + " --fc --profile eps_ee_d", "--fc", "--profile"),
    A(SC1 + " --fc --toys 5", "--toys"),
    A(SC1 + " --fc --seed -1", "--seed"),
    A("scan --experiment csi2021 --hypothesis-family sterile --grid dm41_ev2=1:10:3 --fc", "dm41_ev2", "polynomial"),
    # -- run
    A("run --config {tmp}/missing.yaml", "missing.yaml", "not found"),
    A("run --config {tmp}/adir", "adir", "directory"),
    A(RUN + " --workers 0", "--workers"),
    A(RUN + " --workers 2 --scheduler host:1", "--workers", "--scheduler"),
    A(RUN + " --scheduler 'bad address'", "scheduler address"),
    A(RUN + " --output-dir {tmp}/existing.json", "existing.json"),
    A(RUN + " --output-dir {tmp}/out", "results.json", "--force"),
    A(RUN + " --output-dir {tmp}/linked", "results.json", "--force"),
    A(RUN + " --output-dir {tmp}/blocked", "results.json", "directory"),
    # -- run configurations: reading
    B(b"version: 1\nscans: []\n# \xff\xfe\n", "not UTF-8", "0xff", name="latin1"),
    B(b"\x00\x01\x02\x03" * 8, "run.yaml", name="binary"),
    B(b"version: 1\nscans: []\n" + b"#" * 1_000_001, "larger than", name="huge"),
    C("[" * 1000 + "]" * 1000, "deeper than"),
    C("a: " + "{a: " * 200 + "1" + "}" * 200, "deeper than"),
    C(
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
        "expands to more than",
    ),
    C("a: &a [1, *a]\n", "recursive alias"),
    C("version: [1\n", "not valid YAML"),
    C("version: 1\nscans: [\n\t]\n", "not valid YAML"),
    C("version: 1\nscans: []\nx: \x07\n", "not valid YAML"),
    C("version: 1\nscans: []\n--- \nversion: 1\n", "not valid YAML"),
    C("!!python/object/apply:os.system ['true']\n", "not valid YAML"),
    C("version: 1\nversion: 1\nscans: []\n", "'version' twice"),
    C(_scan("eps_ee_u: {lo: 0, lo: 1, hi: 1, n: 3}"), "'lo' twice"),
    C("", "(top level)", "object"),
    C("[]\n", "(top level)", "object"),
    C("42\n", "(top level)", "object"),
    C("just text\n", "(top level)", "object"),
    C("version: 1\nscans: []\nwhen: 2020-01-01\n", "when", "date"),
    C("version: 1\nscans: []\n1: x\n", "key 1", "text"),
    C("version: 1\nscans: []\n? [a, b]\n: x\n", "not valid YAML"),
    C("version: 1\nscans: []\nb: !!binary aGVsbG8=\n", "bytes"),
    C("version: 1\nscans: []\ns: !!set {a, b}\n", "set"),
    C("version: 1\nscans: []\nt: 2020-01-01T00:00:00Z\n", "datetime"),
    # -- run configurations: schema
    C("version: 2\nscans: []\n", "version", "1 was expected"),
    C("version: 1\n", "'scans' is a required"),
    C("version: 1\nscans: {}\n", "scans", "array"),
    C("version: 1\nbogus: 1\nscans: []\n", "bogus", "Additional properties"),
    C("version: 1\nsm_fits: [nope]\nscans: []\n", "sm_fits/0", "csi2021"),
    C("version: 1\nsm_fits: csi2021\nscans: []\n", "sm_fits", "array"),
    C("version: 1\npredictions: [csi2021+]\nscans: []\n", "predictions/0"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1}"), "'n' is a required"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 0}"), "grid/eps_ee_u/n", "minimum"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 1.5}"), "grid/eps_ee_u/n", "integer"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: true}"), "grid/eps_ee_u/n", "integer"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: '5'}"), "grid/eps_ee_u/n", "integer"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 200000}"), "grid/eps_ee_u/n", "100000"),
    C(_scan("eps_ee_u: {lo: '0', hi: 1, n: 3}"), "grid/eps_ee_u/lo", "number"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 3, log: yes please}"), "log", "boolean"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 3, step: 1}"), "step", "Additional properties"),
    C(_scan("eps_ee_u: {lo: 1" + "0" * 400 + ", hi: 1, n: 3}"), "too large"),
    C(_scan("eps_ee_u: {lo: .inf, hi: 1, n: 3}"), "lo", "finite"),
    C(_scan("eps_ee_u: {lo: .nan, hi: 1, n: 3}"), "lo", "finite"),
    C(_scan(""), "grid", "non-empty"),
    C(_scan(f"eps_ee_u: {AX}, eps_ee_d: {AX}, eps_mumu_u: {AX}"), "grid", "too many properties"),
    C(_scan(f"eps_ee_u: {AX}", ", fixed: {eps_ee_d: '0.1'}"), "fixed/eps_ee_d", "number"),
    C(_scan(f"eps_ee_u: {AX}", ", profile: eps_ee_d"), "profile", "array"),
    C(_scan(f"eps_ee_u: {AX}").replace("name: a", "name: a b"), "name", "does not match"),
    C(_scan(f"eps_ee_u: {AX}").replace("name: a", "name: ../x"), "name", "does not match"),
    C(_scan(f"eps_ee_u: {AX}").replace("csi2021", "xyz"), "experiment", "csi2021"),
    C(_scan(f"eps_ee_u: {AX}").replace("family: nsi", "family: 3"), "family", "string"),
    # -- run configurations: names, grids, points
    C(_scan("eps_ee_u: " + AX, ", feldman_cousins: {toys: 5}"), "feldman_cousins", "toys"),
    C(_scan("eps_ee_u: " + AX, ", feldman_cousins: {points: 5}"), "feldman_cousins", "toys"),
    C(_scan("eps_ee_u: " + AX + ", eps_ee_d: " + AX, ", feldman_cousins: {toys: 50}"), "feldman_cousins", "1D"),
    C(_scan("eps_ee_u: " + AX, ", feldman_cousins: {toys: 50}", kind="patchsets"), "feldman_cousins", "patchsets"),
    C(_scan("r_n_cs: {lo: 4, hi: 6, n: 3}", ", feldman_cousins: {toys: 50}", family="neutron_radius"), "polynomial"),
    C(_scan("eps_ee_u: " + AX, ", feldman_cousins: {toys: 50, range: [1, 0]}"), "range", "lo < hi"),
    C(_scan("eps_ee_u: " + AX, ", feldman_cousins: {toys: 50, range: [0, 9]}"), "eps_ee_u", "physical range"),
    C(_scan(f"eps_ee_u: {AX}", family="nope"), "nope", "valid families"),
    C(_scan(f"eps_xx: {AX}"), "eps_xx", "valid parameters"),
    C(_scan("eps_ee_u: {lo: 0, hi: 9, n: 3}"), "scans a", "eps_ee_u", "[-5, 5]"),
    C(_scan("eps_ee_u: {lo: -1, hi: 1, n: 3, log: true}"), "logarithmic", "positive"),
    C(_scan("eps_ee_u: {lo: 1, hi: 0, n: 3}"), "lo < hi"),
    C(_scan("eps_ee_u: {lo: 1, hi: 1, n: 3}"), "lo < hi"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 1}"), "1 value"),
    C(_scan("eps_ee_u: {lo: 0, hi: 1, n: 1000}, eps_ee_d: {lo: 0, hi: 1, n: 1000}"), "1,000,000 points", "cap"),
    C(_scan("ue4_sq: {lo: 0, hi: 0.9, n: 4}, umu4_sq: {lo: 0, hi: 0.9, n: 4}", family="sterile"), "1.8", "<= 1"),
    C(_scan("ue4_sq: {lo: 0, hi: 0.9, n: 4}", ", fixed: {umu4_sq: 0.9}", family="sterile"), "1.8"),
    C(_scan("r_n: {lo: 0.5, hi: 1.5, n: 3}", family="neutron_radius"), "r_n", "1.55885"),
    C(_scan("r_n: {lo: 4, hi: 6, n: 3}", ", fixed: {r_n_cs: 5}", family="neutron_radius"), "r_n_cs"),
    C(_scan(f"eps_ee_u: {AX}", ", fixed: {eps_ee_u: 0.1}"), "grid axis and fixed"),
    C(_scan(f"eps_ee_u: {AX}", ", fixed: {eps_ee_d: 9}"), "eps_ee_d", "[-5, 5]"),
    C(_scan(f"eps_ee_u: {AX}", ", fixed: {nope: 1}"), "nope", "valid parameters"),
    C(_scan(f"eps_ee_u: {AX}", ", profile: [eps_ee_u]"), "grid axis and profiled"),
    C(_scan(f"eps_ee_u: {AX}", ", profile: [eps_ee_d, eps_ee_d]"), "profiled once"),
    C(_scan(f"eps_ee_u: {AX}", ", profile: [nope]"), "nope", "valid parameters"),
    C(_scan(f"eps_ee_u: {AX}", ", profile: [eps_ee_d]", kind="patchsets"), "patchset", "profile"),
    C(_scan(f"mu_nu_mu: {AX}", family="magnetic_moment", kind="patchsets"), "mu_nu_mu", "1e-06"),
    C(DUP_SCAN, "scan name 'wm'", "twice"),
    C(GOOD.replace("[csi2021]", "[csi2021, csi2021]"), "sm_fits entry 'csi2021'", "twice"),
    C(DUP_PS, "patchset name 'a'", "twice"),
]


def _layout(tmp: Path) -> None:
    (tmp / "existing.json").write_text("{}\n")
    (tmp / "dangling.json").symlink_to(tmp / "nowhere.json")
    (tmp / "adir").mkdir()
    (tmp / "grid").mkdir()
    (tmp / "grid" / "BkgOnly.json").write_text("{}\n")
    (tmp / "good.yaml").write_text(GOOD)
    for name in ("out", "linked", "blocked"):
        (tmp / name / "results").mkdir(parents=True)
    (tmp / "out" / "results" / "results.json").write_text("{}\n")
    (tmp / "linked" / "results" / "results.json").symlink_to(tmp / "nowhere.json")
    (tmp / "blocked" / "results" / "results.json").mkdir()
    (tmp / "streamed").mkdir()
    (tmp / "streamed" / "scan.json").write_text("{}\n")


def _snapshot(root: Path) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            key = str(path.relative_to(root))
            if path.is_symlink():
                out[key] = ("link", os.readlink(path))
            elif path.is_dir():
                out[key] = ("dir",)
            else:
                stat = path.stat()
                out[key] = ("file", stat.st_size, stat.st_mtime_ns, path.read_bytes())
    return out


def test_catalogue_is_large_enough() -> None:
    assert len(CASES) >= 150


@pytest.mark.parametrize(("kind", "case", "expect"), CASES)
def test_bad_input(tmp_path: Path, kind: str, case: Any, expect: tuple[str, ...]) -> None:
    _layout(tmp_path)
    if kind == "config":
        (tmp_path / "run.yaml").write_bytes(case)
        argv = ["run", "--config", str(tmp_path / "run.yaml"), "--output-dir", str(tmp_path / "fresh")]
    else:
        argv = [a.replace("{tmp}", str(tmp_path)) for a in shlex.split(case)]
    before = _snapshot(tmp_path)
    result = CliRunner().invoke(cli, argv)
    text = result.output
    assert result.exit_code == 2, text
    assert "Traceback" not in text
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in text.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, text
    for part in expect:
        assert part in errors[0], (part, errors[0])
    assert _snapshot(tmp_path) == before
