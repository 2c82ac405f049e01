"""The domain gap of the synthetic benchmark: Market-1501 mAP of a model trained on the
Protocol-2 sources (MSMT17, CUHK03, CUHK-SYSU) against one trained on Market-1501 itself,
and against a random ranking (chance).

Both models are trained by ``bau train`` with the same settings: ResNet-18 from scratch,
64x32, batch 32 (8 identities x 4), lr 1e-3, 10 epochs x 40 iterations, the BAU method. The
two runs go in parallel, one thread each (about 3 minutes each on a quiet 2-core machine).

    python benchmarks/domain_gap.py --work /tmp/domain_gap [--scale tiny] [--seeds 1 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

SOURCES = {"market1501 (own training set)": "[market1501]", "P-2 sources (MS+C3+CS)": "[msmt17,cuhk03,cuhksysu]"}
SETTINGS = [
    "model.arch=resnet18",
    "model.pretrained=none",
    "model.height=64",
    "model.width=32",
    "train.batch_size=32",
    "train.num_instances=4",
    "train.lr=1.0e-3",
    "train.epochs=10",
    "train.iters=40",
    "train.warmup_epochs=1",
    "train.milestones=[8]",
    "train.eval_epochs=[]",
    "train.device=cpu",
    "data.targets=[market1501]",
    "data.workers=0",
    "eval.batch_size=128",
]


def bau(*args: str) -> list[str]:
    return [sys.executable, "-m", "bau", *args]


def train_all(work: Path, data: Path, seeds: list[int]) -> dict[tuple[str, int], float]:
    """Train every (sources, seed) pair, two at a time; returns the final Market mAP of each."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    jobs = []
    for seed in seeds:
        for name, sources in SOURCES.items():
            out = work / f"{sources.strip('[]').replace(',', '+')}_seed{seed}"
            overrides = [
                *SETTINGS,
                f"data.root={data}",
                f"data.splits_dir={work / 'splits'}",
                f"data.sources={sources}",
                f"seed={seed}",
            ]
            command = bau("train", "--out", str(out), *(x for o in overrides for x in ("--set", o)))
            jobs.append(((name, seed), out, command))
    results = {}
    for start in range(0, len(jobs), 2):
        batch = jobs[start : start + 2]
        running = [
            subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for *_, cmd in batch
        ]
        for (key, out, _), proc in zip(batch, running):
            _, err = proc.communicate()
            if proc.returncode:
                raise SystemExit(f"training {out} failed:\n{err[-2000:]}")
            final = json.loads((out / "final.json").read_text())
            results[key] = final["targets"]["market1501"]["last"]["mAP"]
    return results


def chance(data: Path, repeats: int = 200) -> float:
    """Mean mAP of random rankings of the Market-1501 test set."""
    import torch

    from bau.datasets import create_dataset
    from bau.metrics import evaluate_distances

    dataset = create_dataset("market1501", data)
    q, g = dataset.query, dataset.gallery
    labels = [i.pid for i in q], [i.pid for i in g], [i.camid for i in q], [i.camid for i in g]
    rng = np.random.default_rng(0)
    maps = [
        evaluate_distances(torch.from_numpy(rng.random((len(q), len(g)), dtype=np.float32)), *labels)["mAP"]
        for _ in range(repeats)
    ]
    return float(np.mean(maps))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="folder for the data and the runs")
    parser.add_argument("--scale", default="tiny", choices=["tiny", "small", "medium"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    data = args.work / "data"
    if not (data / "bau_synthetic.json").is_file():
        subprocess.run(bau("synth", "--out", str(data), "--scale", args.scale, "--seed", "1"), check=True)
    results = train_all(args.work, data, args.seeds)
    print(f"synthetic {args.scale} benchmark, Market-1501 test set, mAP after 400 iterations:")
    for (name, seed), mAP in sorted(results.items()):
        print(f"  trained on {name:<32} seed {seed}: {100 * mAP:5.1f}%")
    print(f"  random ranking (chance){'':<27}: {100 * chance(data):5.1f}%")


if __name__ == "__main__":
    main()
