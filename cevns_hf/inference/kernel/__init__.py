r"""The compiled profile engine: the projected Newton method of :mod:`cevns_hf.inference.newton`, row by row.

The numpy engine (:func:`cevns_hf.inference.newton.minimise` on the derivatives of
:mod:`cevns_hf.inference.groups`) works on whole batches: every Newton iteration makes (rows x nuisances x
bins) arrays, and its time goes into those passes over memory. This module computes the same thing one row at
a time in code compiled by numba (Lam, Pitrou & Seibert, LLVM-HPC 2015), with every intermediate in a few
kilobytes of scratch that stay in the cache:

* the model is :math:`\lambda_b = \sum_g c_g\, m_g(\mu)\, F_g(\theta)\, L_{gb}(\theta)` (the module docstring
  of :mod:`cevns_hf.inference.groups`): row weights :math:`c_g`, POI monomials :math:`m_g`, code4 normsys
  factors :math:`F_g` and code4p bodies :math:`L_g`, with the histosys entries kept as a sparse list of
  (group, nuisance) pairs;
* -2 ln L, its gradient and Hessian in the free parameters (nuisances, and the POIs of a free fit) are the
  analytic ones of :meth:`cevns_hf.inference.likelihood.Likelihood.derivatives` and
  :meth:`~cevns_hf.inference.likelihood.Likelihood.derivatives_free`;
* the minimisation is the algorithm of :func:`cevns_hf.inference.newton.minimise` step for step: the active
  set on the bounds, the Hessian shifted to a smallest eigenvalue of :math:`10^{-10}` times its largest
  diagonal element where it is less, the Newton step and the Armijo backtracking along the projected path
  (halvings, the longest accepted step), the same stopping rules.

* groups with the same normsys factors and POI exponents are merged once per row
  (:mod:`cevns_hf.inference.kernel.layout`), so the Newton iterations run over a few merged groups whatever
  the number of monomials of a polynomial basis;
* rows are spread over a thread pool (:func:`cevns_hf.inference.kernel.newton.threads`); each row is computed
  by one thread, so the results do not depend on the number of threads.

The numpy engine is the reference: ``tests/inference/test_kernel.py`` compares the two on scan rows,
rate-engine rows, toys, free multi-POI fits, workspaces and the linear mirror. The kernels are compiled on
first use and cached on disk (numba ``cache=True``).
"""

from __future__ import annotations

from cevns_hf.inference.kernel._jit import available, unavailable_reason
from cevns_hf.inference.kernel.layout import KernelParts, pack
from cevns_hf.inference.kernel.newton import minimise_rows

__all__ = ["KernelParts", "available", "minimise_rows", "pack", "unavailable_reason"]


def __dir__() -> list[str]:
    return __all__
