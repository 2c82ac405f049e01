"""Pretrained weights: files written by the tests, name/shape matching, and the offline error paths (mocked)."""

from __future__ import annotations

import urllib.error

import pytest
import timm
import torch
import torch.nn.functional as F
import torchvision

from bau.errors import ConfigError
from bau.models import create_model
from bau.models.weights import load_matching, load_pretrained, read_weights_file
from tests.models.helpers import tiny_resnet


class NotATensor:
    pass


@pytest.fixture(scope="module")
def torchvision_resnet18_state():
    torch.manual_seed(3)
    return torchvision.models.resnet18(weights=None).state_dict()


def test_none_leaves_the_initialisation():
    model = tiny_resnet()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert load_pretrained(model, "none") is None
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_torchvision_file_loads_into_reference_names(tmp_path, torchvision_resnet18_state):
    path = tmp_path / "resnet18-imagenet.pth"
    torch.save(torchvision_resnet18_state, path)
    model = create_model("resnet18", 5, pretrained=str(path), height=32, width=16)
    state = model.state_dict()
    for source, mine in [
        ("conv1.weight", "base.0.weight"),
        ("bn1.running_var", "base.1.running_var"),
        ("layer1.0.conv1.weight", "base.4.0.conv1.weight"),
        ("layer2.1.bn2.bias", "base.6.1.bn2.bias"),
        ("layer3.0.downsample.0.weight", "base.8.0.downsample.0.weight"),
        ("layer4.1.conv2.weight", "base.10.1.conv2.weight"),
    ]:
        assert torch.equal(state[mine], torchvision_resnet18_state[source]), mine
    report = load_pretrained(tiny_resnet(), str(path))
    assert len(report.loaded) == len(torchvision_resnet18_state) - 2
    assert report.skipped == {"fc.weight": "not in the model", "fc.bias": "not in the model"}
    assert set(report.missing) == {"base.11.p", "pool.p", "classifier.weight"} | {
        f"bn_neck.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    }


def test_reference_checkpoint_with_module_prefix_and_nesting(tmp_path):
    source = tiny_resnet(num_classes=5, seed=7)
    with torch.no_grad():
        source.pool.p.fill_(2.5)
    path = tmp_path / "best.pth"
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}, "epoch": 60}, path)
    model = tiny_resnet(num_classes=5, seed=8)
    report = load_pretrained(model, str(path))
    assert report.missing == [] and report.skipped == {}
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in model.state_dict().items())


def test_shape_mismatch_is_skipped_and_reported(tmp_path, caplog):
    source = tiny_resnet(num_classes=9, seed=7)
    path = tmp_path / "other_classes.pth"
    torch.save(source.state_dict(), path)
    model = tiny_resnet(num_classes=5, seed=8)
    before = model.classifier.weight.clone()
    with caplog.at_level("WARNING", logger="bau.models.weights"):
        report = load_pretrained(model, str(path))
    assert report.skipped == {"classifier.weight": "shape (9, 512) != model's (5, 512)"}
    assert report.missing == ["classifier.weight"]
    assert torch.equal(model.classifier.weight, before)
    assert torch.equal(model.base[0].weight, source.base[0].weight)
    assert "classifier.weight (shape (9, 512) != model's (5, 512))" in caplog.text


def test_missing_unreadable_and_foreign_files(tmp_path):
    with pytest.raises(ConfigError, match=r"weights file .*nowhere\.pth does not exist"):
        create_model("resnet18", 2, pretrained=str(tmp_path / "nowhere.pth"))
    unsafe = tmp_path / "pickled.pth"
    torch.save({"model": NotATensor()}, unsafe)
    with pytest.raises(ConfigError, match=r"cannot read .*pickled\.pth .*weights_only=True"):
        read_weights_file(unsafe)
    empty = tmp_path / "empty.pth"
    torch.save({"epoch": 3}, empty)
    with pytest.raises(ConfigError, match=r"empty\.pth holds no tensors"):
        read_weights_file(empty)
    foreign = tmp_path / "foreign.pth"
    torch.save({"encoder.weight": torch.zeros(3)}, foreign)
    with pytest.raises(ConfigError, match=r"no tensor of .*foreign\.pth matches a parameter of model.arch resnet18"):
        create_model("resnet18", 2, pretrained=str(foreign))


def test_safetensors_file(tmp_path, torchvision_resnet18_state):
    from safetensors.torch import save_file

    path = tmp_path / "model.safetensors"
    save_file({k: v.contiguous() for k, v in torchvision_resnet18_state.items()}, path)
    model = create_model("resnet18", 0, pretrained=str(path), height=32, width=16)
    assert torch.equal(model.base[0].weight, torchvision_resnet18_state["conv1.weight"])


def test_imagenet_resnet_uses_torchvision_weights(monkeypatch, torchvision_resnet18_state):
    requested = []

    def fake_get_state_dict(self, *args, **kwargs):
        requested.append(str(self))
        return torchvision_resnet18_state

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", fake_get_state_dict)
    model = create_model("resnet18", 3, pretrained="imagenet", height=32, width=16)
    assert requested == ["ResNet18_Weights.IMAGENET1K_V1"]
    assert torch.equal(model.base[10][1].bn2.weight, torchvision_resnet18_state["layer4.1.bn2.weight"])


def test_imagenet_unreachable_torchvision(monkeypatch):
    def offline(self, *args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models.WeightsEnum, "get_state_dict", offline)
    with pytest.raises(ConfigError) as info:
        load_pretrained(tiny_resnet(), "imagenet")
    message = str(info.value)
    assert (
        "ResNet18_Weights.IMAGENET1K_V1" in message
        and "https://download.pytorch.org/models/resnet18-f37072fd.pth" in message
    )
    assert "no network" in message and "set model.pretrained to its path" in message


def test_imagenet_unreachable_timm(monkeypatch):
    model = create_model("mobilenetv2", 0, height=32, width=16)

    def offline(*args, **kwargs):
        raise OSError("We couldn't connect to 'https://huggingface.co'")

    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(ConfigError) as info:
        load_pretrained(model, "imagenet")
    message = str(info.value)
    assert "mobilenetv2_140.ra_in1k" in message and "mobilenetv2_140_ra-21a4e913.pth" in message
    assert (
        "huggingface.co/timm/mobilenetv2_140.ra_in1k" in message
        and "set model.pretrained to the file's path" in message
    )


def test_vit_file_position_embedding_is_resized_bilinearly(tmp_path):
    model = create_model("vitbase", 0, height=32, width=16)  # a 2 x 1 patch grid
    g = torch.Generator().manual_seed(0)
    pos_embed = torch.randn(1, 1 + 14 * 14, 768, generator=g)
    cls_token = torch.randn(1, 1, 768, generator=g)
    path = tmp_path / "jx_vit_base_p16_224.pth"
    torch.save({"pos_embed": pos_embed, "cls_token": cls_token, "head.weight": torch.zeros(1000, 768)}, path)
    report = load_pretrained(model, str(path))
    assert set(report.loaded) == {"base.pos_embed", "base.cls_token"} and list(report.skipped) == ["head.weight"]
    # TransReID: CLS kept, the 14 x 14 grid resized to 2 x 1 by bilinear interpolation (align_corners False).
    grid = pos_embed[0, 1:].reshape(14, 14, 768).permute(2, 0, 1).unsqueeze(0)
    resized = (
        F.interpolate(grid, size=(2, 1), mode="bilinear", align_corners=False)
        .squeeze(0)
        .permute(1, 2, 0)
        .reshape(2, 768)
    )
    expected = torch.cat([pos_embed[0, :1], resized]).unsqueeze(0)
    torch.testing.assert_close(model.base.pos_embed.detach(), expected)
    assert torch.equal(model.base.cls_token.detach(), cls_token)


def test_load_matching_maps_timm_names(tmp_path):
    model = create_model("mobilenetv2", 0, height=32, width=16)
    weight = torch.full_like(model.base.conv_stem.weight, 0.5)
    report = load_matching(model, {"conv_stem.weight": weight}, "a timm state dict")
    assert report.loaded == ["base.conv_stem.weight"] and torch.equal(model.base.conv_stem.weight, weight)


def timm_state(name: str, seed: int, **kwargs) -> dict[str, torch.Tensor]:
    """A randomly initialised timm model's state dict (the same for the same seed), in timm's names."""
    torch.manual_seed(seed)
    return timm.create_model(name, pretrained=False, **kwargs).state_dict()


def test_timm_mobilenetv2_file_loads_every_backbone_tensor_and_not_its_head(tmp_path):
    state = timm_state("mobilenetv2_140", seed=4)  # with timm's 1000-class ImageNet head
    path = tmp_path / "mobilenetv2_140.pth"
    torch.save(state, path)
    # 1000 identities: the ImageNet head has the re-ID classifier's shape, and must still not load
    model = create_model("mobilenetv2", 1000, pretrained=str(path), height=64, width=32)
    report = load_pretrained(model, str(path))
    backbone = {k for k in state if not k.startswith("classifier.")}
    assert set(report.loaded) == {f"base.{k}" for k in backbone}
    assert all(torch.equal(model.state_dict()[f"base.{k}"], state[k]) for k in backbone)
    assert report.skipped == {"classifier.weight": "not in the model", "classifier.bias": "not in the model"}
    assert not torch.equal(model.classifier.weight, state["classifier.weight"])
    assert set(report.missing) == {"pool.p", "classifier.weight"} | {
        f"bn_neck.{k}" for k in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
    }


def test_own_checkpoint_of_mobilenetv2_round_trips_with_module_prefix(tmp_path):
    torch.manual_seed(1)
    source = create_model("mobilenetv2", 7, height=64, width=32)
    path = tmp_path / "best.pth"
    torch.save({f"module.{k}": v for k, v in source.state_dict().items()}, path)
    model = create_model("mobilenetv2", 7, pretrained=str(path), height=64, width=32)
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in model.state_dict().items())


@pytest.mark.parametrize(
    ("arch", "tag", "checked"),
    [
        ("mobilenetv2", "mobilenetv2_140.ra_in1k", ["conv_stem.weight", "blocks.6.0.conv_pwl.weight", "bn2.bias"]),
        ("vitbase", "vit_base_patch16_224.orig_in21k_ft_in1k", ["cls_token", "blocks.11.mlp.fc2.weight", "norm.bias"]),
        (
            "vittiny",
            "vit_tiny_patch16_224.augreg_in21k_ft_in1k",
            ["cls_token", "blocks.11.mlp.fc2.weight", "norm.bias"],
        ),
    ],
)
def test_imagenet_backbones_use_the_timm_weights(monkeypatch, arch, tag, checked):
    """``imagenet`` asks timm for the pretrained tag (mocked: timm would download it) and loads
    every backbone tensor, the ViT's position embedding resized to the model's grid."""
    real_create = timm.create_model
    requested = []

    def offline_create(name, pretrained=False, **kwargs):
        if not pretrained:
            return real_create(name, pretrained=False, **kwargs)
        requested.append((name, kwargs))
        torch.manual_seed(9)
        return real_create(name.split(".")[0], pretrained=False, **kwargs)

    expected = timm_state(tag.split(".")[0], seed=9, num_classes=0)
    monkeypatch.setattr(timm, "create_model", offline_create)
    model = create_model(arch, 3, pretrained="imagenet", height=64, width=32)
    assert requested == [(tag, {"num_classes": 0})]
    state = model.state_dict()
    for key in checked:
        assert torch.equal(state[f"base.{key}"], expected[key]), key
    if arch.startswith("vit"):  # 14 x 14 grid + CLS -> 4 x 2 + CLS, CLS kept
        assert state["base.pos_embed"].shape == (1, 1 + 4 * 2, model.feat_dim)
        assert torch.equal(state["base.pos_embed"][:, 0], expected["pos_embed"][:, 0])
