"""The prepared GPU check: the project's CUDA paths in one script, about 5 minutes on one GPU.

1. **VGG training on CUDA against the CPU**: the same seeded data and VGG, ``--epochs``
   epochs on each device; each epoch's training loss on CUDA (autocast in bfloat16 or
   float16) must be within ``--tolerance`` of the CPU's (float32). The data: the demo's
   log-mel store and labels when ``--features`` names a run's store (``data/04_feature/demo/
   logmel``, after ``kedro run --pipeline=hybrid --to-nodes=extract_features``), else drawn
   log-mels whose tags are band energies (learnable, seeded).
2. **implicit's GPU BPR at the MSD's shape** (``--plays``, 48M by default): the same play
   matrix fitted on CUDA and on the CPU for ``--bpr-iterations`` iterations, timed; the two
   are compared by the held-out AUC of their vectors (BPR samples at random: the vectors
   differ, their quality must not), within ``--auc-tolerance``.
3. **The pretrained networks' throughput** (``msd_musicnn``, ``msd_vgg``) on the device,
   against the device's measured float32 matmul rate.

Writes one JSON (``--out``, default ``benchmarks/results/gpu_check.json``): the device, the
versions, each part's figures and whether it passed. ``--cpu-only`` runs every part on the
CPU at a small size (what CI runs, about a minute): a smoke test of the script, not a
measurement.

Usage::

    python benchmarks/gpu_check.py                          # on a GPU machine
    python benchmarks/gpu_check.py --cpu-only --out /tmp/x.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from msd_tagging.framework.run_record import commit_label, machine_label

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _data(features: str | None, n_tracks: int, frames: int, n_mels: int, n_tags: int, seed: int):
    """``(train_x, train_y, valid_x, valid_y)``: a run's store and labels, or drawn ones."""
    if features:
        import pandas as pd

        from msd_tagging.audio.store import FeatureStore

        store = FeatureStore(features)
        labels = pd.read_parquet(
            Path(features).parents[2] / "03_primary" / Path(features).parent.name / "tag_labels.parquet"
        )
        labels = labels[labels["track_id"].isin(store.track_ids)].head(n_tracks)
        x = [np.asarray(store.features(t), dtype=np.float32) for t in labels["track_id"]]
        y = labels.drop(columns="track_id").to_numpy(dtype=np.float32)
    else:
        rng = np.random.default_rng(seed)
        x = [rng.standard_normal((n_mels, frames)).astype(np.float32) for _ in range(n_tracks)]
        bands = np.array_split(np.arange(n_mels), n_tags)
        energy = np.array([[xi[b].mean() for b in bands] for xi in x])
        y = (energy > np.median(energy, axis=0)).astype(np.float32)
    cut = int(len(x) * 0.8)
    return x[:cut], y[:cut], x[cut:], y[cut:]


def training(device: str, args) -> dict:
    """Per-epoch training loss of the same seeded VGG on ``device`` and on the CPU."""
    from msd_tagging.models.configs import VGGConfig
    from msd_tagging.models.training import TrainConfig, train

    train_x, train_y, valid_x, valid_y = _data(args.features, args.tracks, args.frames, 96, 16, 0)
    model = VGGConfig(n_mels=96, n_tags=train_y.shape[1], channels=(16, 32, 32), pools=((2, 4), (2, 4), (2, 4)))
    losses, seconds = {}, {}
    for where in dict.fromkeys(["cpu", device]):
        config = TrainConfig(chunk_frames=min(args.frames, 188), max_epochs=args.epochs, patience=args.epochs,
                             device=where, allow_slow_cpu=True, milestones=(args.epochs + 1,))  # fmt: skip
        started = time.perf_counter()
        result = train("vgg", model, config, train_x, train_y, valid_x, valid_y, progress=False)
        seconds[where] = time.perf_counter() - started
        losses[where] = [row["train_loss"] for row in result.history]
    gap = float(np.max(np.abs(np.subtract(losses[device], losses["cpu"])))) if device != "cpu" else 0.0
    return {"device": device, "epochs": args.epochs, "tracks": len(train_x) + len(valid_x),
            "data": args.features or "drawn log-mels", "train_loss": losses, "seconds": seconds,
            "largest_loss_gap": gap, "tolerance": args.tolerance, "passed": gap <= args.tolerance}  # fmt: skip


def bpr(use_gpu: bool, args) -> dict:
    """implicit's BPR on the GPU and the CPU, same matrix: seconds and held-out AUC."""
    import implicit.gpu
    import scipy.sparse as sp

    from factorisation import generate
    from msd_tagging.listening.factorisation import EarlyStopping, _hold_out, _sampled_auc
    from msd_tagging.listening.factorisers import FACTORISERS, BPRConfig, full_factors

    plays, users, tracks = generate(args.plays)
    matrix = sp.csr_matrix((np.log1p(plays["play_count"].to_numpy(np.float32)),
                            (plays["user_idx"], plays["track_idx"])), shape=(users, tracks))  # fmt: skip
    stopping = EarlyStopping(holdout_users=10_000, negatives=100, seed=0)
    train_matrix, held_users, held = _hold_out(matrix, stopping)
    negatives = np.random.default_rng(1).integers(0, tracks, size=(len(held_users), stopping.negatives))
    out = {"plays": int(matrix.nnz), "users": users, "tracks": tracks, "iterations": args.bpr_iterations,
           "implicit_has_cuda": bool(implicit.gpu.HAS_CUDA)}  # fmt: skip
    for where in (["gpu"] if use_gpu else []) + ["cpu"]:
        config = BPRConfig(factors=200, iterations=args.bpr_iterations, use_gpu=where == "gpu", num_threads=0)
        model = FACTORISERS["bpr"].build(config)
        started = time.perf_counter()
        FACTORISERS["bpr"].fit(model, train_matrix)
        out[f"{where}_seconds"] = time.perf_counter() - started
        out[f"{where}_heldout_auc"] = _sampled_auc(full_factors(model, "user")[held_users], full_factors(model, "item"),
                                                   held, negatives)  # fmt: skip
    if use_gpu:
        out["auc_gap"] = abs(out["gpu_heldout_auc"] - out["cpu_heldout_auc"])
        out["speedup"] = out["cpu_seconds"] / out["gpu_seconds"]
        out["passed"] = out["auc_gap"] <= args.auc_tolerance
    else:
        out["passed"] = out["cpu_heldout_auc"] > 0.5
    return out


def throughput(device: str, seconds: float) -> dict:
    """The pretrained networks' patches per second on ``device``, against its matmul rate."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from msd_tagging.models.pretrained import pretrained_record
    from msd_tagging.models.tagger import Tagger

    def rate(fn, flops):
        fn()
        if device != "cpu":
            torch.cuda.synchronize()
        calls, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds or calls < 3:
            fn()
            calls += 1
        if device != "cpu":
            torch.cuda.synchronize()
        return flops * calls / (time.perf_counter() - started) / 1e9

    n = 4096 if device != "cpu" else 1024
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    peak = rate(lambda: a @ b, 2 * n**3)
    out = {"device": device, "matmul_gflops": peak, "networks": {}}
    for name in ("msd_musicnn", "msd_vgg"):
        tagger = Tagger.load(pretrained_record(name), device)
        with torch.inference_mode(), FlopCounterMode(display=False) as counter:
            tagger.network(torch.randn(1, tagger.chunk_frames, 96, device=device))
        flops = counter.get_total_flops()
        batch = 256 if device != "cpu" else 8
        x = torch.randn(batch, tagger.chunk_frames, 96, device=device)
        with torch.inference_mode():
            gflops = rate(lambda x=x, net=tagger.network: net(x), flops * batch)
        out["networks"][name] = {"batch": batch, "gflops": gflops, "patches_per_second": gflops * 1e9 / flops,
                                 "fraction_of_matmul": gflops / peak}  # fmt: skip
    out["passed"] = all(v["patches_per_second"] > 0 for v in out["networks"].values())
    return out


def main(argv: list[str] | None = None) -> dict:
    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpu-only", action="store_true", help="every part on the CPU, small: a smoke test")
    parser.add_argument("--features", help="a run's log-mel store (data/04_feature/demo/logmel); default: drawn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--tracks", type=int, default=400)
    parser.add_argument("--frames", type=int, default=938)
    parser.add_argument("--tolerance", type=float, default=0.02, help="largest per-epoch loss gap, CUDA against CPU")
    parser.add_argument("--plays", type=int, default=48_000_000)
    parser.add_argument("--bpr-iterations", type=int, default=30)
    parser.add_argument("--auc-tolerance", type=float, default=0.02)
    parser.add_argument("--seconds", type=float, default=5.0, help="timing window of each throughput figure")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "gpu_check.json")
    args = parser.parse_args(argv)
    cuda = torch.cuda.is_available() and not args.cpu_only
    if not cuda:  # the smoke test's sizes
        args.tracks, args.frames, args.epochs = min(args.tracks, 60), min(args.frames, 376), min(args.epochs, 2)
        args.plays, args.bpr_iterations, args.seconds = min(args.plays, 200_000), min(args.bpr_iterations, 5), 0.5
    device = "cuda" if cuda else "cpu"
    started = time.perf_counter()
    record = {
        "commit": commit_label(HERE.parent),
        "machine": machine_label(),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu (smoke test: no measurement)",
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "mode": "gpu" if cuda else "cpu-only",
    }
    for part, run in (("training", lambda: training(device, args)), ("bpr", lambda: bpr(cuda, args)),
                      ("throughput", lambda: throughput(device, args.seconds))):  # fmt: skip
        try:
            record[part] = run()
        except Exception as exc:  # noqa: BLE001 - one part failing must not hide the others' figures
            record[part] = {"passed": False, "error": f"{type(exc).__name__}: {exc}"}
        print(f"{part}: {'passed' if record[part].get('passed') else 'FAILED'}", flush=True)
    record["seconds"] = time.perf_counter() - started
    record["passed"] = all(record[p].get("passed") for p in ("training", "bpr", "throughput"))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=1, default=float) + "\n")
    print(f"wrote {args.out} ({record['seconds']:.0f} s, {'passed' if record['passed'] else 'FAILED'})")
    return record


if __name__ == "__main__":
    main()
