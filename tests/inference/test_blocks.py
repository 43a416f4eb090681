"""Channels that share no nuisance are profiled block by block: same minimum as the joint fit."""

from __future__ import annotations

import numpy as np

from cevns_hf.inference.blocks import blocks
from cevns_hf.inference.profile import HypothesisLikelihood


def test_csi_and_lar_are_separate_blocks_and_the_minimum_is_the_joint_one() -> None:
    model = HypothesisLikelihood.build(("csi2021", "lar2020"), "nsi")
    lik = model.likelihood
    rng = np.random.default_rng(1)
    values = {"eps_ee_u": rng.uniform(-0.3, 0.3, 24), "eps_ee_d": rng.uniform(-0.3, 0.3, 24)}
    rows, to_poi = model._basis_rows(values)  # the batch the scans use
    batch = rows.fold(to_poi(values))
    split = blocks(batch.parts, lik.shapes, len(lik.nuisances))
    names = [{lik.nuisances[k][:5] for k in b.nuisances} for b in split]
    assert names == [{"alpha"}, {"beta_"}]
    assert [b.bins.size for b in split] == [99, 120]
    by_block = lik.profile(batch, model.theta0)
    joint = lik._profile_joint(batch, model.theta0)  # the reference: all channels together
    both = by_block.converged & joint.converged
    assert both.sum() >= 20
    np.testing.assert_allclose(by_block.twice_nll[both], joint.twice_nll[both], rtol=0, atol=1e-7)
    # the sum of the blocks' minima is the joint likelihood at the combined nuisances
    np.testing.assert_allclose(lik.twice_nll(batch, by_block.theta), by_block.twice_nll, rtol=1e-12)


def test_toys_with_per_row_data_split_the_same_way() -> None:
    model = HypothesisLikelihood.build(("csi2021", "lar2020"), "weak_mixing")
    lik = model.likelihood
    batch, _, _ = model.basis_batch(("sin2_theta_w",), ((0.2, 0.3),))
    y = np.zeros((6, 1))
    folded = batch.fold(y)
    theta = np.broadcast_to(model.theta0, (6, model.theta0.size))
    data = np.random.default_rng(2).poisson(lik.expected(folded, theta)).astype(float)
    aux = np.random.default_rng(3).normal(model.theta0, 1.0, size=(6, model.theta0.size))
    toy = lik.with_data(folded, data, aux)
    by_block = lik.profile(toy, theta)
    joint = lik._profile_joint(toy, theta)
    assert by_block.converged.all()
    np.testing.assert_allclose(by_block.twice_nll, joint.twice_nll, rtol=0, atol=1e-7)
