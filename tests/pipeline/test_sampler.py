"""RandomIdentitySampler (docs/reference.md §2.8): batch structure, padding, dropping, seeding, ranks."""

from __future__ import annotations

from collections import Counter

import pytest

from bau.pipeline.sampler import RandomIdentitySampler


def make_pids(counts: list[int]) -> list[int]:
    """Dataset pids: identity i has counts[i] images; identities interleaved, not sorted."""
    pids = [pid for pid, n in enumerate(counts) for _ in range(n)]
    return pids[::2] + pids[1::2]


def batches(sampler: RandomIdentitySampler, batch_size: int) -> list[list[int]]:
    indices = list(sampler)
    assert len(indices) % batch_size == 0
    return [indices[i : i + batch_size] for i in range(0, len(indices), batch_size)]


COUNTS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 2, 4, 4, 6, 3, 10, 1, 5]


def test_every_batch_is_p_distinct_identities_of_k_consecutive_images() -> None:
    pids = make_pids(COUNTS)
    b, k = 12, 3
    sampler = RandomIdentitySampler(pids, b, k, seed=4)
    result = batches(sampler, b)
    assert len(result) >= 3
    for batch in result:
        groups = [batch[i : i + k] for i in range(0, b, k)]
        owners = [{pids[index] for index in group} for group in groups]
        assert all(len(owner) == 1 for owner in owners)  # K consecutive of one identity
        assert len({owner.pop() for owner in owners}) == b // k  # P distinct identities


def test_identities_in_order_of_first_appearance() -> None:
    assert RandomIdentitySampler([5, 3, 5, 1, 3, 9], 4, 2).pids == [5, 3, 1, 9]


def test_small_identities_are_padded_with_replacement() -> None:
    # Identity 0 has 1 image, identity 1 has 2: each gives one chunk of K = 4 drawn with replacement.
    pids = [0] + [1, 1] + [2] * 4 + [3] * 4
    sampler = RandomIdentitySampler(pids, 8, 4, seed=1)
    seen = {0: Counter(), 1: Counter()}
    for epoch in range(30):
        sampler.set_epoch(epoch)
        for batch in batches(sampler, 8):
            for group in (batch[:4], batch[4:]):
                owner = pids[group[0]]
                if owner in seen:
                    seen[owner].update(group)
    assert seen[0] and set(seen[0]) == {0}  # its only image, 4 times
    assert set(seen[1]) == {1, 2}
    assert sum(seen[0].values()) % 4 == 0


def test_leftover_images_are_dropped() -> None:
    # Identity 0 has 6 images and K = 4: one chunk of 4 distinct images, 2 images unused per pass.
    pids = [0] * 6 + [1] * 4
    sampler = RandomIdentitySampler(pids, 8, 4, seed=3)
    for epoch in range(10):
        sampler.set_epoch(epoch)
        (batch,) = batches(sampler, 8)
        group = batch[:4] if pids[batch[0]] == 0 else batch[4:]
        assert len(set(group)) == 4 and all(pids[i] == 0 for i in group)


def test_hand_worked_case() -> None:
    # K = 4, P = 2. A (indices 0-7) has two chunks, B (8-11) and C (12-15) one each.
    # If the first batch draws {B, C}, only A remains (< P) and its two chunks are dropped: 1 batch.
    # If it draws A with B (or C), the second batch is A's other chunk with C (or B): 2 batches.
    pids = [0] * 8 + [1] * 4 + [2] * 4
    sampler = RandomIdentitySampler(pids, 8, 4, seed=0)
    outcomes = set()
    for epoch in range(40):
        sampler.set_epoch(epoch)
        result = batches(sampler, 8)
        owners = [sorted({pids[i] for i in batch}) for batch in result]
        if len(result) == 1:
            assert owners == [[1, 2]]
        else:
            assert sorted(map(tuple, owners)) == [(0, 1), (0, 2)]
            assert sorted(result[0] + result[1]) == list(range(16))  # every image once
        outcomes.add(len(result))
    assert outcomes == {1, 2}


def test_tiny_case_exact() -> None:
    # Two identities of K = 2 images, P = 2: one batch, each identity's images together.
    sampler = RandomIdentitySampler([7, 7, 9, 9], 4, 2)
    (batch,) = batches(sampler, 4)
    assert {frozenset(batch[:2]), frozenset(batch[2:])} == {frozenset({0, 1}), frozenset({2, 3})}


def test_determinism_per_seed_and_epoch() -> None:
    pids = make_pids(COUNTS)

    def epoch_passes(seed: int, epoch: int) -> list[list[int]]:
        sampler = RandomIdentitySampler(pids, 8, 2, seed=seed)
        sampler.set_epoch(epoch)
        return [list(sampler), list(sampler)]

    assert epoch_passes(1, 3) == epoch_passes(1, 3)
    first, second = epoch_passes(1, 3)
    assert first != second  # each pass within an epoch is new
    assert epoch_passes(1, 4)[0] != first
    assert epoch_passes(2, 3)[0] != first


def test_set_epoch_rewinds_to_first_pass() -> None:
    # A resumed run: a fresh sampler set to epoch 5 replays what a long-running one did in epoch 5.
    pids = make_pids(COUNTS)
    running = RandomIdentitySampler(pids, 8, 2, seed=9)
    for epoch in range(6):
        running.set_epoch(epoch)
        passes = [list(running) for _ in range(epoch % 3 + 1)]
    resumed = RandomIdentitySampler(pids, 8, 2, seed=9)
    resumed.set_epoch(5)
    assert [list(resumed) for _ in range(3)] == passes


def test_len_is_the_next_pass_length() -> None:
    pids = make_pids(COUNTS)
    sampler = RandomIdentitySampler(pids, 12, 3, seed=2)
    for epoch in range(5):
        sampler.set_epoch(epoch)
        for _ in range(2):
            expected = len(sampler)
            assert len(list(sampler)) == expected


def test_ranks_split_each_batch_into_whole_identities() -> None:
    pids = make_pids(COUNTS)
    b, k, replicas = 12, 3, 2
    full = RandomIdentitySampler(pids, b, k, seed=5)
    ranks = [RandomIdentitySampler(pids, b, k, seed=5, num_replicas=replicas, rank=r) for r in range(replicas)]
    for epoch in (0, 1):
        for sampler in (full, *ranks):
            sampler.set_epoch(epoch)
        global_batches = batches(full, b)
        parts = [batches(sampler, b // replicas) for sampler in ranks]
        assert all(len(p) == len(global_batches) for p in parts)
        for i, batch in enumerate(global_batches):
            assert parts[0][i] + parts[1][i] == batch  # rank order = the single-process batch
            for part in (parts[0][i], parts[1][i]):
                groups = [part[j : j + k] for j in range(0, len(part), k)]
                assert all(len({pids[x] for x in g}) == 1 for g in groups)
            assert not {pids[x] for x in parts[0][i]} & {pids[x] for x in parts[1][i]}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": 10, "num_instances": 4}, "multiple of num_instances"),
        ({"batch_size": 2, "num_instances": 4}, "multiple of num_instances"),
        ({"batch_size": 12, "num_instances": 4, "num_replicas": 2}, "whole identities"),
        ({"batch_size": 16, "num_instances": 4, "num_replicas": 2, "rank": 2}, "rank=2"),
    ],
)
def test_invalid_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RandomIdentitySampler([0, 1, 2, 3], **kwargs)
