"""Memory bank: class-mean initialisation, the vectorised update = the reference's sequential loop, round trips."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from bau.training.memory import MemoryBank, occurrence_rank


def sequential_update(features, f, y, m):
    """docs/reference.md §4.3 step 5, literally: one sample at a time, in batch order."""
    features = features.clone()
    for x, label in zip(f, y.tolist()):
        features[label] = m * features[label] + (1 - m) * x
        features[label] = features[label] / features[label].norm()
    return features


def test_from_features_hand_case():
    features = torch.tensor([[0.6, 0.8], [1.0, 0.0], [0.0, 1.0]])
    memory = MemoryBank.from_features(features, [0, 0, 1], class_domains=[1, 0], num_classes=2)
    # class 0: mean of (0.6, 0.8) and (1, 0) = (0.8, 0.4) -> normalised; class 1: (0, 1)
    expected = torch.tensor([[0.8, 0.4], [0.0, 1.0]])
    torch.testing.assert_close(memory.features, F.normalize(expected, dim=1))
    assert memory.labels.tolist() == [1, 0]
    assert memory.momentum == 0.1


def test_from_features_rejects_classes_without_samples():
    unit = F.normalize(torch.ones(3, 3), dim=1)
    with pytest.raises(ValueError, match=r"classes without any sample \(first ones: \[1\]\)"):
        MemoryBank.from_features(unit[:2], [0, 2], class_domains=[0, 0, 0], num_classes=3)
    with pytest.raises(ValueError, match="2 class domains for 3 classes"):
        MemoryBank.from_features(unit, [0, 1, 2], class_domains=[0, 0], num_classes=3)


def test_from_features_refuses_features_that_are_not_unit_rows():
    # The extractor's features are unit rows; anything else would silently weight the mean.
    with pytest.raises(ValueError, match=r"L2-normalised rows .*norms in \[1, 5\]"):
        MemoryBank.from_features(torch.tensor([[3.0, 4.0], [1.0, 0.0]]), [0, 1], class_domains=[0, 0], num_classes=2)


def test_occurrence_rank_hand_case():
    assert occurrence_rank(torch.tensor([5, 3, 5, 5, 3, 7])).tolist() == [0, 0, 1, 2, 1, 0]


def test_update_hand_case():
    memory = MemoryBank(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]), momentum=0.5)
    memory.update(torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([0, 0]))
    # step 1: 0.5 (1, 0) + 0.5 (0, 1) -> (1, 1)/sqrt2; step 2: 0.5 (1, 1)/sqrt2 + 0.5 (1, 0), normalised
    s = 0.5 / 2**0.5
    expected = F.normalize(torch.tensor([s + 0.5, s]), dim=0)
    torch.testing.assert_close(memory.features[0], expected)
    torch.testing.assert_close(memory.features[1], torch.tensor([0.0, 1.0]))  # untouched


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_update_equals_sequential_loop(seed, dtype):
    g = torch.Generator().manual_seed(seed)
    num_classes, dim = 12, 8
    start = F.normalize(torch.randn(num_classes, dim, generator=g, dtype=dtype), dim=1)
    # Repeated, non-consecutive labels, K up to 5 occurrences, some classes absent.
    y = torch.randint(0, 7, (20,), generator=g)
    f = F.normalize(torch.randn(20, dim, generator=g, dtype=dtype), dim=1)
    assert occurrence_rank(y).max() >= 2
    memory = MemoryBank(start, torch.zeros(num_classes, dtype=torch.long))
    memory.features = memory.features.to(dtype)
    memory.update(f, y, momentum=0.1)
    torch.testing.assert_close(memory.features, sequential_update(start, f, y, 0.1))


def test_update_reference_batch_layout_and_default_momentum():
    # The sampler's layout: each identity K = 4 times in a row; momentum taken from the bank.
    g = torch.Generator().manual_seed(9)
    start = F.normalize(torch.randn(10, 6, generator=g), dim=1)
    y = torch.tensor([3, 3, 3, 3, 7, 7, 7, 7, 0, 0, 0, 0])
    f = F.normalize(torch.randn(12, 6, generator=g), dim=1)
    memory = MemoryBank(start, torch.zeros(10, dtype=torch.long), momentum=0.3)
    memory.update(f, y)
    torch.testing.assert_close(memory.features, sequential_update(start, f, y, 0.3))


def test_state_dict_round_trip(tmp_path):
    g = torch.Generator().manual_seed(1)
    memory = MemoryBank(F.normalize(torch.randn(5, 4, generator=g), dim=1), torch.tensor([0, 0, 1, 1, 2]))
    assert set(memory.state_dict()) == {"features", "labels"}
    path = tmp_path / "memory.pth"
    torch.save({"memory": memory.state_dict()}, path)
    loaded = torch.load(path, weights_only=True)["memory"]
    restored = MemoryBank.from_state_dict(loaded, momentum=0.2)
    torch.testing.assert_close(restored.features, memory.features)
    assert torch.equal(restored.labels, memory.labels) and restored.labels.dtype == torch.long
    assert restored.momentum == 0.2
    other = MemoryBank(torch.zeros(5, 4), torch.zeros(5, dtype=torch.long))
    other.load_state_dict(loaded)
    torch.testing.assert_close(other.features, memory.features)


def _train_set(tmp_path):
    """Five one-colour images of three identities; sorted-path order differs from list order."""
    from collections import namedtuple

    from PIL import Image

    TrainItem = namedtuple("TrainItem", "path pid camid domain")  # the fields of bau.datasets.multisource.TrainItem

    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 10, 0), (0, 0, 0)]
    items = []
    for i, (colour, pid) in enumerate(zip(colours, [0, 1, 2, 0, 1])):
        path = tmp_path / f"img{4 - i}.jpg"
        Image.new("RGB", (16, 32), colour).save(path)
        items.append(TrainItem(str(path), pid, 0, [0, 1, 1, 0, 1][i]))

    class TrainSet:
        num_classes = 3
        class_domains = [0, 1, 1]

    TrainSet.items = items
    return TrainSet


def _initial_memory(tmp_path):
    from bau.models import create_model
    from bau.training.trainer import initial_memory

    train_set = _train_set(tmp_path)
    torch.manual_seed(0)
    model = create_model("resnet18", 3, height=32, width=16).train()
    cfg = {
        "model": {"height": 32, "width": 16},
        "eval": {"batch_size": 2},
        "data": {"workers": 0},
        "method": {"memory_momentum": 0.1},
    }
    return model, train_set, initial_memory(model, train_set, cfg, torch.device("cpu"))


def test_initial_memory_uses_class_means_of_eval_features(tmp_path):
    model, train_set, memory = _initial_memory(tmp_path)
    items = train_set.items
    assert model.training  # mode restored
    assert memory.momentum == 0.1

    from PIL import Image

    from bau.pipeline.transforms import build_test_transform

    transform = build_test_transform(32, 16)
    model.eval()
    with torch.no_grad():
        feats = model(torch.stack([transform(Image.open(item.path).convert("RGB")) for item in items]))
    expected = MemoryBank.from_features(feats, [item.pid for item in items], [0, 1, 1], 3)
    torch.testing.assert_close(memory.features, expected.features, atol=1e-5, rtol=1e-5)
    assert memory.labels.tolist() == [0, 1, 1]


def test_initial_memory_is_built_from_the_extractors_features(tmp_path):
    """One feature extraction in the project: the memory is the class means of extract_features'
    fp32 output over the training images in sorted-path order, bit for bit."""
    from bau.evaluation import extract_features

    model, train_set, memory = _initial_memory(tmp_path)
    items = sorted(train_set.items, key=lambda item: item.path)
    feats = extract_features(
        model, [item.path for item in items], height=32, width=16, batch_size=2, amp=False, progress=False
    )
    expected = MemoryBank.from_features(feats, [item.pid for item in items], [0, 1, 1], 3)
    assert torch.equal(memory.features, expected.features)
    assert torch.equal(memory.labels, expected.labels)
