"""Speed and memory of ``bau.metrics.evaluate_rank`` against a reference-style evaluator.

The reference-style evaluator does what the original code (open-reid's ``evaluation_metrics``)
does: the full query x gallery distance matrix, a full ``np.argsort`` of it for mAP and another
for CMC, and scikit-learn's ``average_precision_score`` per query (mINP is added to its CMC loop,
as AGW computes it, to compare that metric too).

Features are generated with the structure of real re-ID features: identities made of a few
clusters (poses), a per-camera offset (same-camera images look alike), noise and distractor
identities that appear only in the gallery; 2048-d, L2-normalised; the metrics come out in the
range of real cross-domain results (e.g. Market-1501 size: mAP ~57 %, rank-1 ~92 %). Sizes: CUHK03-NP, Market-1501
and MSMT17 query x gallery counts.

The features of a size are generated once and saved; every measurement runs in a fresh
subprocess that loads them (so its peak resident memory, ``ru_maxrss``, is its own: Python,
torch, the features, the evaluator) and prints the resident memory with the data loaded and
the peak. Methods are run interleaved (ours, reference, ours, ...)
because the machine may be shared.

    python benchmarks/eval_speed.py --threads 2 --repeats 3
    taskset -c 0,1 python benchmarks/eval_speed.py --sizes market1501 cuhk03
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

# name: (queries, gallery, identities, cameras)
SIZES: dict[str, tuple[int, int, int, int]] = {
    "cuhk03": (1400, 5332, 700, 2),
    "market1501": (3368, 15913, 750, 6),
    "msmt17": (11659, 82161, 3060, 15),
}
DIM = 2048
LATENT = 48  # features vary in a low-dimensional space, as learned features do
POSE, CAMERA, NOISE = 0.6, 0.6, 0.6  # scales relative to the identity (gives CUHK03 mAP ~68 %)
DISTRACTOR_FRACTION = 0.2
DATA_KEYS = ("qf", "gf", "q_pids", "g_pids", "q_cams", "g_cams")


def generate(name: str, seed: int = 0) -> dict[str, np.ndarray]:
    """Query/gallery features, pids and camids of the size of dataset ``name``.

    latent = identity + one of 3 poses of that identity + camera offset + noise (48-d),
    mapped to 2048-d by a fixed random projection plus a little isotropic noise.
    """
    num_q, num_g, num_ids, num_cams = SIZES[name]
    rng = np.random.default_rng(seed)
    q_pids = np.arange(num_q) % num_ids
    num_distractors = int(DISTRACTOR_FRACTION * num_g)
    g_pids = np.concatenate(
        [np.arange(num_g - num_distractors) % num_ids, num_ids + rng.integers(0, num_ids, num_distractors)]
    )
    q_cams, g_cams = rng.integers(0, num_cams, num_q), rng.integers(0, num_cams, num_g)
    identity = rng.standard_normal((2 * num_ids, LATENT), dtype=np.float32)
    pose = POSE * rng.standard_normal((2 * num_ids, 3, LATENT), dtype=np.float32)
    camera = CAMERA * rng.standard_normal((num_cams, LATENT), dtype=np.float32)
    projection = rng.standard_normal((LATENT, DIM), dtype=np.float32) / np.float32(np.sqrt(LATENT))

    def features(pids: np.ndarray, cams: np.ndarray) -> np.ndarray:
        out = np.empty((len(pids), DIM), dtype=np.float32)
        for start in range(0, len(pids), 4096):  # bounded temporaries
            p, c = pids[start : start + 4096], cams[start : start + 4096]
            noise = NOISE * rng.standard_normal((len(p), LATENT), dtype=np.float32)
            latent = identity[p] + pose[p, rng.integers(0, 3, len(p))] + camera[c] + noise
            spread = rng.standard_normal((len(p), DIM), dtype=np.float32) * np.float32(0.3 / np.sqrt(DIM))
            out[start : start + len(p)] = _unit(latent @ projection + np.linalg.norm(latent, axis=1, keepdims=True) * spread)
        return out

    return {
        "qf": features(q_pids, q_cams),
        "gf": features(g_pids, g_cams),
        "q_pids": q_pids,
        "g_pids": g_pids,
        "q_cams": q_cams,
        "g_cams": g_cams,
    }


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def reference_style(qf, gf, q_pids, g_pids, q_cams, g_cams, max_rank: int = 50) -> dict[str, Any]:
    """The original evaluator's algorithm: full matrix, full argsorts, sklearn AP per query."""
    import torch
    from sklearn.metrics import average_precision_score

    x, y = torch.from_numpy(qf), torch.from_numpy(gf)
    m, n = x.shape[0], y.shape[0]
    dist = x.pow(2).sum(1, keepdim=True).expand(m, n) + y.pow(2).sum(1, keepdim=True).expand(n, m).t()
    distmat = dist.addmm_(x, y.t(), beta=1, alpha=-2).numpy()

    indices = np.argsort(distmat, axis=1)
    matches = g_pids[indices] == q_pids[:, np.newaxis]
    aps = []
    for i in range(m):
        valid = (g_pids[indices[i]] != q_pids[i]) | (g_cams[indices[i]] != q_cams[i])
        y_true = matches[i, valid]
        if not np.any(y_true):
            continue
        aps.append(average_precision_score(y_true, -distmat[i][indices[i]][valid]))
    if not aps:
        raise RuntimeError("No valid query")

    indices = np.argsort(distmat, axis=1)  # the reference's cmc() sorts again
    matches = g_pids[indices] == q_pids[:, np.newaxis]
    first_match, inps, num_valid = np.zeros(max_rank), [], 0
    for i in range(m):
        valid = (g_pids[indices[i]] != q_pids[i]) | (g_cams[indices[i]] != q_cams[i])
        hits = np.nonzero(matches[i, valid])[0]
        if len(hits) == 0:
            continue
        num_valid += 1
        inps.append(len(hits) / (hits[-1] + 1))
        if hits[0] < max_rank:
            first_match[hits[0]] += 1
    return {"mAP": float(np.mean(aps)), "mINP": float(np.mean(inps)), "cmc": first_match.cumsum() / num_valid}


def measure(data_dir: str, method: str, threads: int) -> dict[str, Any]:
    """One timed evaluation of the data saved in ``data_dir`` (run in a fresh process by ``main``)."""
    import resource

    import torch

    torch.set_num_threads(threads)
    data = {key: np.load(Path(data_dir) / f"{key}.npy") for key in DATA_KEYS}
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    started = time.perf_counter()
    if method == "ours":
        from bau.metrics import evaluate_rank

        result = evaluate_rank(data["qf"], data["gf"], data["q_pids"], data["g_pids"], data["q_cams"], data["g_cams"])
    elif method == "reference":
        result = reference_style(**data)
    else:  # "distances": only the float32 distance GEMM, in our chunks: a bound for any exact evaluator
        from bau.metrics.rank import CHUNK_ELEMENTS, squared_euclidean_chunks

        qf, gf = torch.from_numpy(data["qf"]), torch.from_numpy(data["gf"])
        for _ in squared_euclidean_chunks(qf, gf, max(1, CHUNK_ELEMENTS // gf.shape[0])):
            pass
        result = {"mAP": float("nan"), "mINP": float("nan"), "cmc": []}
    seconds = time.perf_counter() - started
    return {
        "method": method,
        "seconds": seconds,
        "rss_before_gib": rss_before,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "mAP": result["mAP"],
        "mINP": result["mINP"],
        "cmc": [float(v) for v in result["cmc"]],
    }


def run_in_subprocess(data_dir: str, method: str, threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--child", data_dir, method, "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", choices=list(SIZES), default=list(SIZES))
    parser.add_argument("--repeats", type=int, default=3, help="runs per method and size (interleaved)")
    parser.add_argument("--threads", type=int, default=2, help="torch / BLAS threads of each run")
    parser.add_argument(
        "--skip-reference-above",
        type=float,
        default=2e8,
        metavar="N",
        help="skip the reference-style evaluator when query x gallery exceeds N distances "
        "(default 2e8: it needs > 12 GiB at MSMT17 size)",
    )
    parser.add_argument(
        "--distances-only",
        action="store_true",
        help="also time the distance computation alone (the GEMM that bounds any exact evaluator)",
    )
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.threads)))
        return 0

    print(f"{'size':<11} {'method':<10} {'Q x G':>15} {'seconds':>9} {'RSS data':>9} {'peak RSS':>9}")
    for name in args.sizes:
        with tempfile.TemporaryDirectory(prefix="eval_speed_") as data_dir:
            for key, array in generate(name).items():
                np.save(Path(data_dir) / f"{key}.npy", array)
            compare(name, data_dir, args)
    return 0


def compare(name: str, data_dir: str, args: argparse.Namespace) -> None:
    """Interleaved runs of every method on one size, then the summary lines."""
    num_q, num_g = SIZES[name][:2]
    methods = ["ours"]
    if num_q * num_g <= args.skip_reference_above:
        methods.append("reference")
    if args.distances_only:
        methods.append("distances")
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for _ in range(args.repeats):
        for method in methods:
            run = run_in_subprocess(data_dir, method, args.threads)
            runs[method].append(run)
            print(
                f"{name:<11} {method:<10} {f'{num_q} x {num_g}':>15} {run['seconds']:>8.2f}s "
                f"{run['rss_before_gib']:>7.2f}Gi {run['peak_rss_gib']:>7.2f}Gi",
                flush=True,
            )
    summarise(name, runs, args.skip_reference_above)


def summarise(name: str, runs: dict[str, list[dict[str, Any]]], skip_above: float) -> None:
    num_q, num_g = SIZES[name][:2]
    ours = runs["ours"][0]
    best = {m: min(r["seconds"] for r in rs) for m, rs in runs.items()}
    median = {m: float(np.median([r["seconds"] for r in rs])) for m, rs in runs.items()}
    peak = {m: max(r["peak_rss_gib"] for r in rs) for m, rs in runs.items()}
    print(f"{name}: mAP {100 * ours['mAP']:.2f}%  rank-1 {100 * ours['cmc'][0]:.2f}%  mINP {100 * ours['mINP']:.2f}%")
    print(f"{name}: ours min {best['ours']:.2f}s median {median['ours']:.2f}s, peak RSS {peak['ours']:.2f} GiB")
    if "distances" in runs:
        print(f"{name}: distances alone (GEMM) min {best['distances']:.2f}s median {median['distances']:.2f}s")
    if "reference" not in runs:
        print(f"{name}: reference-style evaluator skipped ({num_q} x {num_g} > --skip-reference-above {skip_above:.3g})")
        return
    ref = runs["reference"][0]
    print(
        f"{name}: reference-style min {best['reference']:.2f}s median {median['reference']:.2f}s, peak RSS "
        f"{peak['reference']:.2f} GiB; speed-up {best['reference'] / best['ours']:.1f}x (min), "
        f"{median['reference'] / median['ours']:.1f}x (median)"
    )
    print(
        f"{name}: largest difference: mAP {abs(ours['mAP'] - ref['mAP']):.3g}, "
        f"CMC {np.max(np.abs(np.subtract(ours['cmc'], ref['cmc']))):.3g}, mINP {abs(ours['mINP'] - ref['mINP']):.3g}"
    )


if __name__ == "__main__":
    sys.exit(main())
