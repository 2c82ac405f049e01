"""Speed and memory of ``bau.metrics.evaluate_rank`` against a reference-style evaluator and the bare GEMM.

In one run, for each size (CUHK03-NP, Market-1501 and MSMT17 query x gallery counts), the
same features go through:

* ``ours``: ``bau.metrics.evaluate_rank`` (exact mAP, CMC to rank 50, mINP);
* ``reference``: what the original code (open-reid's ``evaluation_metrics``, used by the
  official ``bau/evaluators.py``) does: the full query x gallery distance matrix, a full
  ``np.argsort`` of it for mAP and another for CMC, and scikit-learn's
  ``average_precision_score`` per query (mINP added to its CMC loop, as AGW computes it);
  skipped above ``--skip-reference-above`` distances (it needs > 12 GiB at MSMT17 size);
* ``gemm``: the bare float32 product ``qf @ gf.T`` in the same row chunks, into one reused
  buffer: the floor of any exact evaluator (every distance has to be computed);
* ``distances``: our distance chunks alone (``|q|^2 + |g|^2 - 2 q.g`` by ``addmm_``, the
  official formula whose numbers the metrics must reproduce).

With ``--rerank``, k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3) at Market-1501 size is
timed the same way: ``evaluate_rank(..., rerank=True)`` against ``dense-rerank``, the
straightforward dense numpy routine of the original code (``bau/utils/rerank.py``, Zhong et
al.'s published implementation: N x N distance, argsort and V matrices), followed by our
ranking of its distances. (``tests/metrics/dense_rerank.py``, a loop-by-loop transcription
for tests, would take hours at this size.)

Features are generated with the structure of real re-ID features: identities made of a few
clusters (poses), a per-camera offset (same-camera images look alike), noise and distractor
identities that appear only in the gallery; 2048-d, L2-normalised; the metrics come out in the
range of real cross-domain results (e.g. Market-1501 size: mAP ~57 %, rank-1 ~93 %).

The features of a size are generated once and saved; every measurement runs in a fresh
subprocess that loads them (so its peak resident memory, ``ru_maxrss``, is its own: Python,
torch, the features, the evaluator) and reports the resident memory with the data loaded
and the peak. Methods run interleaved (ours, reference, gemm, ours, ...) because the machine
may be shared; each run reports its wall and CPU seconds (all threads) and the 1-minute load
average when it started; summaries use the minimum over repeats. On a busy machine the CPU
time ratio is the steadier one (wall times there depend on what else runs).

    python benchmarks/eval_speed.py --threads 2 --repeats 3 --rerank
    python benchmarks/eval_speed.py --sizes cuhk03 market1501
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
            out[start : start + len(p)] = _unit(
                latent @ projection + np.linalg.norm(latent, axis=1, keepdims=True) * spread
            )
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


def dense_rerank(qf: np.ndarray, gf: np.ndarray, k1: int = 20, k2: int = 6, lambda_value: float = 0.3) -> np.ndarray:
    """The original code's k-reciprocal re-ranking (``bau/utils/rerank.py``), dense, in numpy.

    Its inputs, as ``examples/test.py`` builds them: the squared Euclidean q-g, q-q and g-g
    distance matrices (float32, from torch).
    """
    import torch

    from bau.metrics.distance import squared_euclidean

    q, g = torch.from_numpy(qf), torch.from_numpy(gf)
    q_g, q_q, g_g = (squared_euclidean(a, b).numpy() for a, b in ((q, g), (q, q), (g, g)))
    original_dist = np.concatenate([np.concatenate([q_q, q_g], axis=1), np.concatenate([q_g.T, g_g], axis=1)], axis=0)
    del q_g, q_q, g_g
    original_dist = np.power(original_dist, 2).astype(np.float32)
    original_dist = np.transpose(1.0 * original_dist / np.max(original_dist, axis=0))
    v = np.zeros_like(original_dist).astype(np.float32)
    initial_rank = np.argsort(original_dist).astype(np.int32)
    query_num, all_num = qf.shape[0], qf.shape[0] + gf.shape[0]
    half = int(np.around(k1 / 2.0))
    for i in range(all_num):
        forward = initial_rank[i, : k1 + 1]
        backward = initial_rank[forward, : k1 + 1]
        k_reciprocal = forward[np.where(backward == i)[0]]
        expansion = k_reciprocal
        for candidate in k_reciprocal:
            c_forward = initial_rank[candidate, : half + 1]
            c_backward = initial_rank[c_forward, : half + 1]
            c_reciprocal = c_forward[np.where(c_backward == candidate)[0]]
            if len(np.intersect1d(c_reciprocal, k_reciprocal)) > 2.0 / 3 * len(c_reciprocal):
                expansion = np.append(expansion, c_reciprocal)
        expansion = np.unique(expansion)
        weight = np.exp(-original_dist[i, expansion])
        v[i, expansion] = 1.0 * weight / np.sum(weight)
    original_dist = original_dist[:query_num]
    if k2 != 1:
        v_qe = np.zeros_like(v, dtype=np.float32)
        for i in range(all_num):
            v_qe[i, :] = np.mean(v[initial_rank[i, :k2], :], axis=0)
        v = v_qe
        del v_qe
    del initial_rank
    inv_index = [np.where(v[:, i] != 0)[0] for i in range(all_num)]
    jaccard_dist = np.zeros_like(original_dist, dtype=np.float32)
    for i in range(query_num):
        temp_min = np.zeros(shape=[1, all_num], dtype=np.float32)
        nonzero = np.where(v[i, :] != 0)[0]
        for k in nonzero:
            images = inv_index[k]
            temp_min[0, images] = temp_min[0, images] + np.minimum(v[i, k], v[images, k])
        jaccard_dist[i] = 1 - temp_min / (2.0 - temp_min)
    final_dist = jaccard_dist * (1 - lambda_value) + original_dist * lambda_value
    return final_dist[:query_num, query_num:]


METHODS = ("ours", "reference", "gemm", "distances", "ours-rerank", "dense-rerank")


def measure(data_dir: str, method: str, threads: int) -> dict[str, Any]:
    """One timed evaluation of the data saved in ``data_dir`` (run in a fresh process by ``main``)."""
    import resource

    import torch

    from bau.metrics import evaluate_distances, evaluate_rank
    from bau.metrics.distance import squared_euclidean_chunks
    from bau.metrics.rank import CHUNK_ELEMENTS

    torch.set_num_threads(threads)
    data = {key: np.load(Path(data_dir) / f"{key}.npy") for key in DATA_KEYS}
    labels = (data["q_pids"], data["g_pids"], data["q_cams"], data["g_cams"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    qf, gf = torch.from_numpy(data["qf"]), torch.from_numpy(data["gf"])
    chunk = max(1, CHUNK_ELEMENTS // gf.shape[0])  # evaluate_rank's default
    result = {"mAP": float("nan"), "mINP": float("nan"), "cmc": []}
    load = os.getloadavg()[0]
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    if method == "ours":
        result = evaluate_rank(qf, gf, *labels)
    elif method == "reference":
        result = reference_style(**data)
    elif method == "gemm":
        out = qf.new_empty((chunk, gf.shape[0]))
        for start in range(0, len(qf), chunk):
            rows = qf[start : start + chunk]
            torch.mm(rows, gf.t(), out=out[: len(rows)])
    elif method == "distances":
        for _ in squared_euclidean_chunks(qf, gf, chunk, reuse=True):
            pass
    elif method == "ours-rerank":
        result = evaluate_rank(qf, gf, *labels, rerank=True)
    elif method == "dense-rerank":
        result = evaluate_distances(dense_rerank(data["qf"], data["gf"]), *labels)
    else:
        raise ValueError(f"unknown method {method!r}; one of {METHODS}")
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    return {
        "method": method,
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "load": load,
        "rss_before_gib": rss_before,
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
        "mAP": float(result["mAP"]),
        "mINP": float(result["mINP"]),
        "cmc": [float(v) for v in result["cmc"]],
    }


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all its threads."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_in_subprocess(data_dir: str, method: str, threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    cmd = [sys.executable, __file__, "--child", data_dir, method, "--threads", str(threads)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def load_average() -> str:
    return "load average {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


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
        "--rerank",
        action="store_true",
        help="also time k-reciprocal re-ranking at Market-1501 size, ours against the dense original (minutes, ~9 GiB)",
    )
    parser.add_argument("--rerank-repeats", type=int, default=1, help="runs per re-ranking method")
    parser.add_argument("--child", nargs=2, metavar=("DATA_DIR", "METHOD"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(*args.child, args.threads)))
        return 0

    print(f"{args.threads} threads, {load_average()}", flush=True)
    print(
        f"{'size':<11} {'method':<13} {'Q x G':>15} {'seconds':>9} {'CPU s':>8} {'RSS data':>9} {'peak RSS':>9} {'load':>6}"
    )
    sizes = list(args.sizes) + (["market1501"] if args.rerank and "market1501" not in args.sizes else [])
    for name in sizes:
        methods = []
        if name in args.sizes:
            methods = ["ours", "gemm", "distances"]
            if SIZES[name][0] * SIZES[name][1] <= args.skip_reference_above:
                methods.insert(1, "reference")
        with tempfile.TemporaryDirectory(prefix="eval_speed_") as data_dir:
            for key, array in generate(name).items():
                np.save(Path(data_dir) / f"{key}.npy", array)
            if methods:
                summarise(name, compare(name, data_dir, methods, args.repeats, args.threads), args.skip_reference_above)
            if args.rerank and name == "market1501":
                runs = compare(name, data_dir, ["ours-rerank", "dense-rerank"], args.rerank_repeats, args.threads)
                summarise_rerank(name, runs)
    return 0


def compare(
    name: str, data_dir: str, methods: list[str], repeats: int, threads: int
) -> dict[str, list[dict[str, Any]]]:
    """Interleaved runs of ``methods`` on one size."""
    num_q, num_g = SIZES[name][:2]
    runs: dict[str, list[dict[str, Any]]] = {m: [] for m in methods}
    for _ in range(repeats):
        for method in methods:
            run = run_in_subprocess(data_dir, method, threads)
            runs[method].append(run)
            print(
                f"{name:<11} {method:<13} {f'{num_q} x {num_g}':>15} {run['seconds']:>8.2f}s "
                f"{run['cpu_seconds']:>7.2f}s {run['rss_before_gib']:>7.2f}Gi {run['peak_rss_gib']:>7.2f}Gi "
                f"{run['load']:>6.2f}",
                flush=True,
            )
    return runs


def summarise(name: str, runs: dict[str, list[dict[str, Any]]], skip_above: float) -> None:
    num_q, num_g = SIZES[name][:2]
    ours = runs["ours"][0]
    best = {m: min(r["seconds"] for r in rs) for m, rs in runs.items()}
    cpu = {m: min(r["cpu_seconds"] for r in rs) for m, rs in runs.items()}
    peak = {m: max(r["peak_rss_gib"] for r in rs) for m, rs in runs.items()}
    data = min(r["rss_before_gib"] for r in runs["ours"])
    print(f"{name}: mAP {100 * ours['mAP']:.2f}%  rank-1 {100 * ours['cmc'][0]:.2f}%  mINP {100 * ours['mINP']:.2f}%")
    print(
        f"{name}: min over {len(runs['ours'])} runs: ours {best['ours']:.2f}s, bare GEMM {best['gemm']:.2f}s, "
        f"distances (addmm) {best['distances']:.2f}s; ours / GEMM = {best['ours'] / best['gemm']:.2f}x, "
        f"ours / distances = {best['ours'] / best['distances']:.2f}x"
    )
    print(
        f"{name}: CPU time (all threads, min over runs; robust to other load): ours {cpu['ours']:.2f}s, "
        f"GEMM {cpu['gemm']:.2f}s, ours / GEMM = {cpu['ours'] / cpu['gemm']:.2f}x"
    )
    print(
        f"{name}: peak RSS ours {peak['ours']:.2f} GiB, GEMM {peak['gemm']:.2f} GiB "
        f"(process with the features loaded: {data:.2f} GiB)"
    )
    if "reference" not in runs:
        print(
            f"{name}: reference-style evaluator skipped ({num_q} x {num_g} > --skip-reference-above {skip_above:.3g})"
        )
    else:
        ref = runs["reference"][0]
        print(
            f"{name}: reference-style {best['reference']:.2f}s, peak RSS {peak['reference']:.2f} GiB; "
            f"reference / ours = {best['reference'] / best['ours']:.1f}x"
        )
        print(
            f"{name}: largest difference to the reference-style: mAP {abs(ours['mAP'] - ref['mAP']):.3g}, "
            f"CMC {np.max(np.abs(np.subtract(ours['cmc'], ref['cmc']))):.3g}, mINP {abs(ours['mINP'] - ref['mINP']):.3g}"
        )
    print(f"{name}: {load_average()}", flush=True)


def summarise_rerank(name: str, runs: dict[str, list[dict[str, Any]]]) -> None:
    best = {m: min(r["seconds"] for r in rs) for m, rs in runs.items()}
    peak = {m: max(r["peak_rss_gib"] for r in rs) for m, rs in runs.items()}
    ours, dense = runs["ours-rerank"][0], runs["dense-rerank"][0]
    print(
        f"{name} re-ranked: mAP {100 * ours['mAP']:.2f}% rank-1 {100 * ours['cmc'][0]:.2f}% (dense: mAP "
        f"{100 * dense['mAP']:.2f}%, rank-1 {100 * dense['cmc'][0]:.2f}%; difference {abs(ours['mAP'] - dense['mAP']):.2g})"
    )
    print(
        f"{name} re-ranked: ours {best['ours-rerank']:.1f}s, peak RSS {peak['ours-rerank']:.2f} GiB; dense "
        f"{best['dense-rerank']:.1f}s, peak RSS {peak['dense-rerank']:.2f} GiB; dense / ours = "
        f"{best['dense-rerank'] / best['ours-rerank']:.1f}x"
    )
    print(f"{name}: {load_average()}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
