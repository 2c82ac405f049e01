"""Identity sampler: batches of P identities x K consecutive images (docs/reference.md §2.8).

The algorithm is the reference's (Torchreid's). Its randomness comes from a NumPy generator
seeded by ``(seed, epoch, pass index)`` only, so a resumed run sees the same batches:
:meth:`RandomIdentitySampler.set_epoch` starts an epoch at pass 0 and every new iteration of
the sampler in that epoch (the loader restarting when the data is exhausted) takes the next
pass index.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np


class RandomIdentitySampler:
    """Dataset indices in batches of ``batch_size // num_instances`` identities x ``num_instances``.

    Under ``num_replicas`` processes each rank takes, from every global batch, its own
    ``P / num_replicas`` whole identities (rank r gets the r-th group, in the batch's order), so
    the ranks' batches concatenated in rank order are the single-process batch.
    """

    def __init__(
        self,
        pids: Sequence[int],
        batch_size: int,
        num_instances: int,
        seed: int = 1,
        *,
        num_replicas: int = 1,
        rank: int = 0,
    ) -> None:
        if num_instances < 1 or batch_size < num_instances or batch_size % num_instances:
            raise ValueError(f"batch_size={batch_size} must be a positive multiple of num_instances={num_instances}")
        self.num_instances = num_instances
        self.num_pids_per_batch = batch_size // num_instances
        if num_replicas < 1 or not 0 <= rank < num_replicas:
            raise ValueError(f"rank={rank} is not in [0, num_replicas={num_replicas})")
        if self.num_pids_per_batch % num_replicas:
            raise ValueError(
                f"{self.num_pids_per_batch} identities per batch cannot be split into whole identities "
                f"over {num_replicas} processes; make batch_size / num_instances a multiple of {num_replicas}"
            )
        self.num_replicas = num_replicas
        self.rank = rank
        self.seed = seed
        self.index_dic: dict[int, list[int]] = {}  # insertion order = order of first appearance
        for index, pid in enumerate(pids):
            self.index_dic.setdefault(int(pid), []).append(index)
        self.pids = list(self.index_dic)
        self.epoch = 0
        self.pass_index = 0
        self._cache: tuple[tuple[int, int], list[int]] | None = None

    @property
    def num_pids(self) -> int:
        return len(self.pids)

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch``: the next iteration is its pass 0."""
        self.epoch = epoch
        self.pass_index = 0

    def __iter__(self) -> Iterator[int]:
        indices = self.pass_indices(self.epoch, self.pass_index)
        self.pass_index += 1
        return iter(indices)

    def __len__(self) -> int:
        """Length of the next pass (exact: computed from its seed)."""
        return len(self.pass_indices(self.epoch, self.pass_index))

    def pass_indices(self, epoch: int, pass_index: int) -> list[int]:
        """This rank's indices of pass ``pass_index`` of ``epoch``: a pure function of the seed."""
        key = (epoch, pass_index)
        if self._cache is None or self._cache[0] != key:
            batches = self.global_batches(np.random.default_rng([self.seed, epoch, pass_index]))
            self._cache = key, [index for batch in batches for index in self._rank_part(batch)]
        return self._cache[1]

    def global_batches(self, rng: np.random.Generator) -> list[list[int]]:
        """The reference's algorithm: each batch lists P distinct identities' K indices in turn."""
        k = self.num_instances
        chunks: list[list[list[int]]] = []  # per identity (in self.pids order): its chunks of K
        for pid in self.pids:
            idxs = np.asarray(self.index_dic[pid])
            if len(idxs) < k:  # too few images: K draws with replacement
                idxs = rng.choice(idxs, size=k, replace=True)
            idxs = rng.permutation(idxs)
            chunks.append([idxs[i : i + k].tolist() for i in range(0, len(idxs) - k + 1, k)])

        chunks_left = np.array([len(c) for c in chunks])
        available = np.arange(len(chunks))  # identities still holding chunks, in order
        batches: list[list[int]] = []
        while len(available) >= self.num_pids_per_batch:
            chosen = available[rng.choice(len(available), size=self.num_pids_per_batch, replace=False)]
            batches.append([index for i in chosen for index in chunks[i].pop(0)])
            chunks_left[chosen] -= 1
            if not chunks_left[chosen].all():
                available = available[chunks_left[available] > 0]
        return batches  # identities still holding chunks when fewer than P remain are dropped

    def _rank_part(self, batch: list[int]) -> list[int]:
        per_rank = len(batch) // self.num_replicas  # whole identities: P / num_replicas of them
        return batch[self.rank * per_rank : (self.rank + 1) * per_rank]
