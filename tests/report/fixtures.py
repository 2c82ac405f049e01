"""Realistic fixture data for the report tests: metrics JSON, training logs, feature files
with clustered identities and tiny images, laid out as the workflow writes them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from bau.io import write_json


def metrics_dict(
    maps: list[float] | float,
    rank1s: list[float] | float,
    *,
    dataset: str = "cuhk03",
    synthetic: bool = True,
    selection: str = "last",
    max_rank: int = 20,
) -> dict:
    """A metrics JSON as `bau evaluate` writes it: one split per value (fractions)."""
    maps, rank1s = np.atleast_1d(maps).astype(float), np.atleast_1d(rank1s).astype(float)
    splits = []
    for split, (m, r1) in enumerate(zip(maps, rank1s)):
        # a CMC that starts at Rank-1 and saturates towards 1
        cmc = 1.0 - (1.0 - r1) * np.exp(-0.15 * np.arange(max_rank))
        splits.append(
            {
                "split": split,
                "mAP": m,
                "mINP": m / 2,
                "rank1": r1,
                "rank5": cmc[4],
                "rank10": cmc[9],
                "cmc": cmc.tolist(),
                "num_query": 10,
                "num_gallery": 50,
            }
        )
    summary = {
        key: {"mean": float(np.mean([s[key] for s in splits])), "std": float(np.std([s[key] for s in splits]))}
        for key in ("mAP", "mINP", "rank1", "rank5", "rank10")
    }
    return {
        "dataset": dataset,
        "checkpoint": "runs/x/checkpoints/epoch_006.pth",
        "epoch": 6,
        "selection": selection,
        "synthetic": synthetic,
        "num_splits": len(splits),
        "rerank": False,
        "flip": False,
        "splits": splits,
        "summary": summary,
        "cmc": np.mean([s["cmc"] for s in splits], axis=0).tolist(),
    }


def write_losses(path: Path, *, epochs: int = 6, iters: int = 40, with_bau_terms: bool = True, seed: int = 0) -> Path:
    """A losses.jsonl with decreasing, noisy terms (null for terms the run does not use)."""
    rng = np.random.default_rng(seed)
    lines = []
    for epoch in range(1, epochs + 1):
        for it in range(1, iters + 1):
            step = (epoch - 1) * iters + it
            decay = np.exp(-step / (epochs * iters / 3))
            terms = {
                "ce": 5.0 * decay + 1.0 + 0.15 * rng.standard_normal(),
                "tri": 0.3 * decay + 0.02 + 0.03 * rng.standard_normal(),
                "align": 0.4 * decay + 0.05 + 0.02 * rng.standard_normal() if with_bau_terms else None,
                "uniform": -2.0 - 1.5 * (1 - decay) + 0.05 * rng.standard_normal() if with_bau_terms else None,
                "domain": -1.5 - 1.0 * (1 - decay) + 0.05 * rng.standard_normal() if with_bau_terms else None,
            }
            total = (
                terms["ce"]
                + terms["tri"]
                + sum(
                    1.5 * v if k == "align" else v
                    for k, v in terms.items()
                    if k in ("align", "uniform", "domain") and v is not None
                )
            )
            lines.append({"epoch": epoch, "iter": it, "step": step, "lr": 3.5e-4, "loss": total, **terms})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def write_images(root: Path, count: int, seed: int = 0) -> list[str]:
    """``count`` tiny person-shaped images (relative paths under ``root``)."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(count):
        colour = rng.integers(40, 230, size=3)
        pixels = np.full((32, 16, 3), 200, dtype=np.uint8)
        pixels[4:30, 4:12] = colour
        relative = f"images/{i:04d}.png"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(root / relative)
        paths.append(relative)
    return paths


def clustered_features(
    num_ids: int, per_id: int, dim: int = 32, spread: float = 0.35, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalised features clustered by identity: (feats N x dim, pids)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_ids, dim))
    pids = np.repeat(np.arange(1, num_ids + 1), per_id)
    feats = centres[pids - 1] + spread * rng.standard_normal((len(pids), dim)) * np.sqrt(dim) / 4
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    return feats.astype(np.float32), pids


def write_features(
    path: Path, data_root: Path, *, num_ids: int = 12, per_id: int = 4, spread: float = 0.35, seed: int = 0
) -> Path:
    """A features npz of a target test set: per identity one query (camera 0), the rest gallery."""
    feats, pids = clustered_features(num_ids, per_id, spread=spread, seed=seed)
    camids = np.tile(np.arange(per_id), num_ids)
    is_query = camids == 0
    paths = np.array(write_images(data_root, len(pids), seed=0))
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, feats=feats, pids=pids, camids=camids, paths=paths, is_query=is_query)
    return path


def write_results(results: Path, protocol: str, target: str, method: str, metrics: dict, seed: int = 1) -> Path:
    path = results / protocol / target / method / f"seed{seed}" / "metrics.json"
    write_json(path, metrics)
    return path
