"""The decoded-image cache: one decode per image and process, a bounded memory, unchanged batches."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bau.pipeline.cache import DecodedImageCache
from bau.pipeline.loaders import build_train_loader, read_rgb
from tests.pipeline.test_loaders import assert_same_batches, collect, run_config, train_set  # noqa: F401


def counting_decoder(sizes: dict[str, tuple[int, int]]):
    calls: list[str] = []

    def decode(path: str) -> Image.Image:
        calls.append(path)
        return Image.new("RGB", sizes[path])

    return decode, calls


def test_each_image_is_decoded_once():
    decode, calls = counting_decoder({"a": (4, 2), "b": (4, 2)})
    cache = DecodedImageCache(decode, budget_bytes=1000)
    first = [cache.get(p) for p in ("a", "b", "a", "b", "a")]
    assert calls == ["a", "b"]
    assert first[0] is first[2] is first[4] and first[1] is first[3]
    assert len(cache) == 2 and cache.used_bytes == 2 * 4 * 2 * 3


def test_images_past_the_budget_are_decoded_at_every_request():
    decode, calls = counting_decoder({"a": (4, 2), "b": (4, 2), "c": (1, 1)})
    cache = DecodedImageCache(decode, budget_bytes=4 * 2 * 3 + 5)  # room for a, not for b
    for path in ("a", "b", "a", "b", "c", "c"):
        cache.get(path)
    assert calls == ["a", "b", "b", "c", "c"]  # once full, nothing more is kept
    assert len(cache) == 1 and cache.used_bytes == 24


def test_zero_budget_keeps_nothing():
    decode, calls = counting_decoder({"a": (4, 2)})
    cache = DecodedImageCache(decode, budget_bytes=0)
    cache.get("a"), cache.get("a")
    assert calls == ["a", "a"] and len(cache) == 0
    with pytest.raises(ValueError, match="budget_bytes must be >= 0"):
        DecodedImageCache(decode, budget_bytes=-1)


def test_the_loader_caches_with_workers_0_only(train_set):  # noqa: F811
    assert build_train_loader(train_set, run_config(0), seed=3).loader.dataset.cache is not None
    assert build_train_loader(train_set, run_config(2), seed=3).loader.dataset.cache is None
    assert build_train_loader(train_set, run_config(0), seed=3, cache_bytes=0).loader.dataset.cache is None


def test_cached_loader_gives_the_batches_of_the_uncached_one(train_set):  # noqa: F811
    cached = build_train_loader(train_set, run_config(0), seed=3)
    plain = build_train_loader(train_set, run_config(0), seed=3, cache_bytes=0)
    for epoch in range(3):  # from the 2nd epoch on, the images come from the cache
        assert_same_batches(collect(cached, epoch, 4, True), collect(plain, epoch, 4, True))
    cache = cached.loader.dataset.cache
    assert 0 < len(cache) <= len(train_set.items)
    path = next(iter(cache.images))
    decoded, resized = cache.images[path]
    assert np.array_equal(np.asarray(decoded), np.asarray(read_rgb(path)))
    model = run_config(0)["model"]
    assert resized.size == (model["width"], model["height"])
