"""Per-view BatchNorm: 'separate' = the reference's two-GPU DataParallel, 'joint' = one mixed pass."""

from __future__ import annotations

import pytest
import torch

from bau.models.views import forward_views, frozen_bn_statistics
from tests.models.helpers import bn_buffers, images, tiny_resnet


@pytest.fixture(scope="module")
def setup():
    return fresh(), images(4, 1), images(4, 2) * 2 + 0.5  # the strong views have other statistics


def fresh():
    return tiny_resnet(seed=0).train()  # same weights every time


def assert_outputs_equal(a, b):
    for x, y in zip(a, b):
        torch.testing.assert_close(x, y)


def test_separate_normalises_each_view_alone_and_tracks_weak_only(setup):
    base, x_w, x_s = setup
    model, weak_alone, strong_alone = fresh(), fresh(), fresh()
    out_w, out_s = forward_views(model, x_w, x_s, "separate")
    assert_outputs_equal(out_w, weak_alone(x_w))
    assert_outputs_equal(out_s, strong_alone(x_s))
    after, expected = bn_buffers(model), bn_buffers(weak_alone)
    assert after.keys() == expected.keys() and len(after) > 0
    for key in after:
        torch.testing.assert_close(after[key], expected[key], rtol=0, atol=0)
    assert after["bn_neck.num_batches_tracked"].item() == 1
    assert not torch.equal(after["bn_neck.running_mean"], bn_buffers(strong_alone)["bn_neck.running_mean"])


def test_separate_gradients_are_the_sum_of_both_passes(setup):
    base, x_w, x_s = setup
    model, reference = fresh(), fresh()
    out_w, out_s = forward_views(model, x_w, x_s, "separate")
    (out_w.logits.sum() + out_s.f.pow(2).sum() + out_w.emb.mean()).backward()
    ref_w = reference(x_w)
    with frozen_bn_statistics(reference):
        ref_s = reference(x_s)
    (ref_w.logits.sum() + ref_s.f.pow(2).sum() + ref_w.emb.mean()).backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        if p.requires_grad:
            torch.testing.assert_close(p.grad, q.grad, msg=name)


def test_joint_mixes_statistics(setup):
    base, x_w, x_s = setup
    separate, joint = fresh(), fresh()
    out_w, _ = forward_views(separate, x_w, x_s, "separate")
    joint_w, joint_s = forward_views(joint, x_w, x_s, "joint")
    assert joint_w.emb.shape == out_w.emb.shape and joint_s.logits.shape == out_w.logits.shape
    assert not torch.allclose(joint_w.f, out_w.f)
    assert not torch.allclose(bn_buffers(joint)["bn_neck.running_mean"], bn_buffers(separate)["bn_neck.running_mean"])
    # 'joint' is exactly one pass over the concatenation.
    whole = fresh()(torch.cat([x_w, x_s]))
    torch.testing.assert_close(torch.cat([joint_w.f, joint_s.f]), whole.f)


def test_joint_without_classifier_keeps_none_logits():
    model = tiny_resnet(num_classes=0).train()
    out_w, out_s = forward_views(model, images(2, 3), images(2, 4), "joint")
    assert out_w.logits is None and out_s.logits is None


def test_frozen_bn_statistics_leaves_buffers_and_restores_tracking(setup):
    base, x_w, _ = setup
    model = fresh()
    before = bn_buffers(model)
    with frozen_bn_statistics(model):
        model(x_w)
    for key, value in bn_buffers(model).items():
        assert torch.equal(value, before[key]), key
    assert all(m.track_running_stats for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    model(x_w)  # tracking is back on
    assert bn_buffers(model)["bn_neck.num_batches_tracked"].item() == before["bn_neck.num_batches_tracked"].item() + 1


def test_frozen_bn_statistics_keeps_eval_mode_layers_on_running_statistics(setup):
    base, x_w, _ = setup
    model = fresh().eval()
    expected = model(x_w)
    with frozen_bn_statistics(model):
        torch.testing.assert_close(model(x_w), expected)


def test_unknown_mode_and_eval_mode_are_refused(setup):
    base, x_w, x_s = setup
    with pytest.raises(ValueError, match="train.bn_views must be one of separate, joint"):
        forward_views(base, x_w, x_s, "split")
    with pytest.raises(ValueError, match="needs the model in train mode"):
        forward_views(fresh().eval(), x_w, x_s)
