"""Architectures, head outputs, registry, optimizer groups and checkpoint loading."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bau.errors import ConfigError, TrainingError
from bau.io import torch_save
from bau.models import create_model, list_models, load_model, param_groups, register_model
from bau.models.head import BNNeck
from bau.models.pooling import GeM
from tests.models.helpers import images, tiny_resnet

# ------------------------------------------------------------------ GeM and head


def test_gem_hand_case():
    gem = GeM()
    assert isinstance(gem.p, nn.Parameter) and gem.p.shape == (1,) and gem.p.item() == 3.0
    x = torch.tensor([[[[1.0, 2.0], [3.0, -5.0]]]])  # the negative value is clamped to 1e-6
    expected = ((1 + 8 + 27 + 1e-18) / 4) ** (1 / 3)
    assert gem(x).shape == (1, 1, 1, 1)
    assert gem(x).item() == pytest.approx(expected, rel=1e-6)


def test_gem_on_a_single_cell_is_identity():
    x = torch.rand(2, 5, 1, 1) + 0.1
    torch.testing.assert_close(GeM()(x), x)


def test_bnneck_bias_frozen():
    bn = BNNeck(8)
    assert bn.weight.requires_grad and not bn.bias.requires_grad
    assert torch.equal(bn.weight, torch.ones(8)) and torch.equal(bn.bias, torch.zeros(8))
    assert bn.momentum == 0.1 and bn.eps == 1e-5


def test_train_and_eval_outputs():
    model = tiny_resnet(num_classes=5).train()
    x = images(4, 0)
    emb, f, logits = model(x)
    assert emb.shape == (4, 512) and f.shape == (4, 512) and logits.shape == (4, 5)
    bn = F.batch_norm(emb, None, None, model.bn_neck.weight, model.bn_neck.bias, training=True)
    torch.testing.assert_close(f, F.normalize(bn))
    torch.testing.assert_close(logits, bn @ model.classifier.weight.t())  # from the un-normalised BN output
    assert model.classifier.bias is None
    model.eval()
    out = model(x)
    emb = model.pool(model.base(x)).flatten(1)  # backbone BN on running statistics too
    running = (emb - model.bn_neck.running_mean) / torch.sqrt(model.bn_neck.running_var + 1e-5)
    torch.testing.assert_close(out, F.normalize(running), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out.norm(dim=1), torch.ones(4))


def test_no_classifier():
    model = tiny_resnet(num_classes=0).train()
    assert model(images(2, 0)).logits is None
    assert not any(k.startswith("classifier") for k in model.state_dict())


# ------------------------------------------------------------------ architectures


def test_resnet50_structure_and_reference_keys():
    model = create_model("resnet50", 7)
    assert model.feat_dim == 2048 and model.model_config == {
        "arch": "resnet50",
        "num_classes": 7,
        "height": 256,
        "width": 128,
    }
    base = model.base
    for index, channels in ((5, 256), (7, 512), (9, 1024)):
        norm = base[index]
        assert isinstance(norm, nn.InstanceNorm2d) and norm.num_features == channels
        assert not norm.affine and not norm.track_running_stats
    assert isinstance(base[11], GeM) and isinstance(model.pool, GeM)
    assert base[10][0].conv2.stride == (1, 1) and base[10][0].downsample[0].stride == (1, 1)
    # Total stride 16 (last stride 1): a 64x32 input gives a 4x2 map before pooling.
    with torch.no_grad():
        assert base[:11].eval()(torch.zeros(1, 3, 64, 32)).shape == (1, 2048, 4, 2)
    keys = set(model.state_dict())
    reference = {
        "base.0.weight",
        "base.1.running_var",
        "base.4.0.conv1.weight",
        "base.10.2.bn3.bias",
        "base.11.p",
        "pool.p",
        "bn_neck.weight",
        "bn_neck.num_batches_tracked",
        "classifier.weight",
    }
    assert reference <= keys
    assert all(
        k.startswith(
            (
                "base.0.",
                "base.1.",
                "base.4.",
                "base.6.",
                "base.8.",
                "base.10.",
                "base.11.",
                "pool.",
                "bn_neck.",
                "classifier.",
            )
        )
        for k in keys
    )


def test_resnet18_structure():
    model = tiny_resnet()
    assert model.feat_dim == 512
    assert [model.base[i].num_features for i in (5, 7, 9)] == [64, 128, 256]
    assert model.base[10][0].conv1.stride == (1, 1) and model.base[10][0].downsample[0].stride == (1, 1)


@pytest.mark.parametrize(
    ("arch", "widths"), [("resnet18_half", (32, 64, 128, 256)), ("resnet18_tiny", (16, 32, 64, 64))]
)
def test_slim_resnet18_structure_and_no_imagenet_weights(arch: str, widths: tuple[int, ...]) -> None:
    model = create_model(arch, 3, height=32, width=16).train()
    assert model.feat_dim == widths[3]
    # the stem is as narrow as layer1 (timm's own stem is always 64 wide), so no 1x1 downsample there
    assert model.base[0].out_channels == model.base[1].num_features == widths[0]
    assert model.base[4][0].downsample is None
    assert [model.base[i].num_features for i in (5, 7, 9)] == list(widths[:3])
    assert model.base[10][0].conv1.stride == (1, 1) and model.base[10][0].downsample[0].stride == (1, 1)
    emb, f, logits = model(images(2, 0))
    assert emb.shape == (2, widths[3]) and logits.shape == (2, 3)
    with pytest.raises(ConfigError, match=rf"{arch} has no ImageNet weights.*model.pretrained=none"):
        create_model(arch, 3, pretrained="imagenet")


def test_mobilenetv2_construction_and_forward():
    torch.manual_seed(0)
    model = create_model("mobilenetv2", 3, height=64, width=32).train()
    assert model.feat_dim == 1792 and isinstance(model.pool, GeM)
    emb, f, logits = model(images(2, 0))
    assert emb.shape == (2, 1792) and logits.shape == (2, 3)
    assert any(isinstance(m, nn.ReLU6) for m in model.base.modules())


def test_vitbase_construction_and_forward():
    # 32x16 input = a 2 x 1 patch grid (256x128 gives 16 x 8 the same way, at 8x the test time).
    model = create_model("vitbase", 3, height=32, width=16).train()
    assert model.feat_dim == 768 and isinstance(model.pool, nn.Identity)
    assert model.base.patch_embed.grid_size == (2, 1) and model.base.pos_embed.shape == (1, 3, 768)
    assert model.base.patch_embed.proj.kernel_size == (16, 16) and model.base.patch_embed.proj.stride == (16, 16)
    drop = [getattr(block.drop_path1, "drop_prob", 0.0) for block in model.base.blocks]
    assert len(drop) == 12 and drop[0] == 0.0 and drop[-1] == pytest.approx(0.1)
    assert drop[6] == pytest.approx(0.1 * 6 / 11)
    assert model.base.norm.eps == 1e-6 and model.base.blocks[0].attn.qkv.bias is not None
    emb, f, logits = model(torch.randn(2, 3, 32, 16))
    assert emb.shape == (2, 768) and logits.shape == (2, 3)
    model.eval()
    with torch.no_grad():
        x = torch.randn(2, 3, 32, 16)
        tokens = model.base.forward_features(x)  # CLS token after the final LayerNorm is the embedding
        torch.testing.assert_close(model.pool(model.base(x)), tokens[:, 0])


def test_vittiny_has_vitbases_structure_at_192_dimensions():
    model = create_model("vittiny", 3, height=64, width=32).train()
    assert model.feat_dim == 192 and isinstance(model.pool, nn.Identity)
    assert model.base.patch_embed.grid_size == (4, 2) and model.base.pos_embed.shape == (1, 9, 192)
    assert len(model.base.blocks) == 12 and model.base.blocks[0].attn.num_heads == 3
    assert model.base.blocks[-1].drop_path1.drop_prob == pytest.approx(0.1) and model.base.norm.eps == 1e-6
    emb, f, logits = model(torch.randn(2, 3, 64, 32))
    assert emb.shape == (2, 192) and logits.shape == (2, 3)
    with pytest.raises(ConfigError, match="vittiny needs multiples of 16"):
        create_model("vittiny", 3, height=64, width=40)


def test_vitbase_needs_multiples_of_16():
    with pytest.raises(ConfigError, match="multiples of 16"):
        create_model("vitbase", 3, height=250, width=128)


def test_unknown_arch():
    with pytest.raises(
        ConfigError,
        match=r"unknown architecture 'resnet101'; choose one of mobilenetv2, resnet18, resnet18_half, resnet18_tiny, resnet50, vitbase, vittiny",
    ):
        create_model("resnet101", 3)
    assert list_models() == [
        "mobilenetv2",
        "resnet18",
        "resnet18_half",
        "resnet18_tiny",
        "resnet50",
        "vitbase",
        "vittiny",
    ]


def test_register_twice_is_refused():
    def resnet18(num_classes, *, height, width):  # same name as a registered architecture
        raise AssertionError

    with pytest.raises(ValueError, match="registered twice"):
        register_model(resnet18)


# ------------------------------------------------------------------ optimizer groups


def test_param_groups_match_the_reference():
    model = tiny_resnet()
    groups = param_groups(model, lr=3.5e-4, weight_decay=5e-4)
    trainable = [p for p in model.parameters() if p.requires_grad]
    assert len(groups) == len(trainable) == len(list(model.parameters())) - 1
    assert all(len(g["params"]) == 1 and g["lr"] == 3.5e-4 and g["weight_decay"] == 5e-4 for g in groups)
    grouped = {id(g["params"][0]) for g in groups}
    assert id(model.bn_neck.bias) not in grouped
    for p in (model.base[11].p, model.pool.p, model.classifier.weight, model.bn_neck.weight, model.base[1].weight):
        assert id(p) in grouped
    torch.optim.Adam(groups)  # accepted as is


# ------------------------------------------------------------------ load_model


def save(path, model, **extra):
    torch_save(
        path,
        {
            "format": "bau-checkpoint-v1",
            "epoch": 3,
            "model_config": model.model_config,
            "model": model.state_dict(),
            **extra,
        },
    )


def trained_tiny_model():
    model = tiny_resnet(num_classes=4, seed=1).train()
    model(images(4, 5))  # moves the BN running statistics away from their initial values
    return model.eval()


def test_load_model_round_trip(tmp_path):
    model = trained_tiny_model()
    save(tmp_path / "c.pth", model)
    loaded, checkpoint = load_model(tmp_path / "c.pth")
    assert not loaded.training and checkpoint["epoch"] == 3
    assert loaded.model_config == model.model_config
    x = images(2, 6)
    torch.testing.assert_close(loaded(x), model(x))


def test_load_model_without_classifier_and_ddp_prefix(tmp_path):
    model = trained_tiny_model()
    torch_save(
        tmp_path / "c.pth",
        {
            "format": "bau-checkpoint-v1",
            "epoch": 1,
            "model_config": model.model_config,
            "model": {f"module.{k}": v for k, v in model.state_dict().items()},
        },
    )
    loaded, _ = load_model(tmp_path / "c.pth", num_classes=0)
    assert loaded.classifier is None
    x = images(2, 7)
    torch.testing.assert_close(loaded(x), model(x))


def test_load_model_errors(tmp_path):
    model = trained_tiny_model()
    save(tmp_path / "c.pth", model)
    with pytest.raises(TrainingError, match="classifier for 4 identities, not 9"):
        load_model(tmp_path / "c.pth", num_classes=9)
    broken = dict(model.state_dict())
    broken.pop("pool.p")
    torch_save(
        tmp_path / "b.pth",
        {"format": "bau-checkpoint-v1", "epoch": 1, "model_config": model.model_config, "model": broken},
    )
    with pytest.raises(TrainingError, match=r"b\.pth: the saved weights do not fit"):
        load_model(tmp_path / "b.pth")
    torch_save(tmp_path / "n.pth", {"format": "bau-checkpoint-v1", "epoch": 1, "model": broken})
    with pytest.raises(TrainingError, match="has no model_config"):
        load_model(tmp_path / "n.pth")
