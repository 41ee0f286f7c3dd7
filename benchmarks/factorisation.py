"""Benchmark: every registered factoriser on an MSD-shaped play matrix.

Generates plays shaped like the Taste Profile (power-law listener activity and song
popularity; by default the full 48,373,586 plays over 1.02M users and 384k tracks), then,
for each factoriser of ``msd_tagging.listening.factorisers`` in its own process (so each
peak is its own), fits it in rounds with the project's held-out early stopping (one play
of 10,000 listeners held out, ranked against 100 random tracks) and records seconds per
iteration, the process's peak memory and the held-out AUC after each round. BPR, the
project's default, is the named baseline: every ratio is against it, measured in the same
run.

Usage::

    python benchmarks/factorisation.py [--plays 48373586] [--models bpr,als,lmf]
    python benchmarks/factorisation.py --models bpr,warp --max-rounds 2 --out factorisation_warp

Writes ``benchmarks/results/factorisation.{json,md}`` (and the curves' figure).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.framework.run_record import commit_label, machine_label

FULL_PLAYS = 48_373_586
USERS, TRACKS = 1_019_318, 384_546
HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SCRATCH = HERE / "_scratch"
# Rounds per factoriser: what fits the benchmark's time on 2 cores at the full shape.
ROUNDS = {"bpr": (5, 20), "als": (3, 12), "lmf": (2, 6), "warp": (1, 4)}  # (iterations per check, cap)


def generate(n_plays: int, seed: int = 0) -> tuple[pd.DataFrame, int, int]:
    rng = np.random.default_rng(seed)
    scale = n_plays / FULL_PLAYS
    users, tracks = int(USERS * scale) or 1, int(TRACKS * min(1.0, 2 * scale)) or 1
    activity = rng.pareto(1.5, size=users) + 1
    user_idx = rng.choice(users, size=n_plays, p=activity / activity.sum()).astype(np.int32)
    popularity = 1 / np.arange(1, tracks + 1) ** 0.8
    track_idx = rng.choice(tracks, size=n_plays, p=popularity / popularity.sum()).astype(np.int32)
    plays = pd.DataFrame(
        {
            "user_idx": user_idx,
            "track_idx": track_idx,
            "play_count": np.minimum(rng.zipf(2.0, n_plays), 500).astype(np.int32),
        }
    )
    return plays.drop_duplicates(["user_idx", "track_idx"], ignore_index=True), users, tracks


def child(name: str, matrix_path: Path, factors: int, threads: int, max_rounds: int | None = None) -> dict:
    """One factoriser, alone in this process: rounds of fitting, a held-out check each (at
    most ``max_rounds``)."""
    import scipy.sparse as sp

    from msd_tagging.listening.factorisation import EarlyStopping, _hold_out, _sampled_auc
    from msd_tagging.listening.factorisers import FACTORISERS, full_factors

    matrix = sp.load_npz(matrix_path).tocsr()
    check, cap = ROUNDS.get(name, (5, 20))
    cap = min(cap, check * max_rounds) if max_rounds else cap
    factoriser = FACTORISERS[name]
    config = factoriser.config(factors=factors, iterations=cap, num_threads=threads)
    stopping = EarlyStopping(enabled=True, check_every=check, holdout_users=10_000, negatives=100, seed=0)
    train, users, held = _hold_out(matrix, stopping)
    negatives = np.random.default_rng(1).integers(0, matrix.shape[1], size=(len(users), stopping.negatives))
    before_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the matrix and hold-out's peak
    model = factoriser.build(config)
    rows, done = [], 0
    while done < cap:
        model.iterations = min(check, cap - done)
        started = time.perf_counter()
        factoriser.fit(model, train)
        seconds = time.perf_counter() - started
        done += model.iterations
        auc = _sampled_auc(full_factors(model, "user")[users], full_factors(model, "item"), held, negatives)
        rows.append({"iteration": done, "seconds_per_iteration": seconds / model.iterations, "heldout_auc": auc})
        print(f"{name}: iteration {done}, {seconds / model.iterations:.1f} s/iteration, held-out AUC {auc:.4f}",
              flush=True)  # fmt: skip
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"factoriser": name, "config": {"factors": factors, "num_threads": threads}, "rounds": rows,
            "peak_rss_mb": peak, "peak_before_fit_mb": before_fit}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=FULL_PLAYS)
    parser.add_argument("--models", default="bpr,als,lmf")
    parser.add_argument("--factors", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--matrix", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--max-rounds", type=int, help="at most this many fit-and-check rounds per factoriser")
    parser.add_argument("--out", default="factorisation", help="results name under benchmarks/results/")
    parser.add_argument("--markdown-only", action="store_true", help="rewrite the .md and .png from the .json")
    args = parser.parse_args()
    out = RESULTS / args.out
    if args.markdown_only:
        record = json.loads(out.with_suffix(".json").read_text())
        out.with_suffix(".md").write_text(markdown(record))
        _figure(record, out.with_suffix(".png"))
        return 0
    if args.child:
        print("RESULT " + json.dumps(child(args.child, args.matrix, args.factors, args.threads, args.max_rounds)))
        return 0

    import scipy.sparse as sp

    from msd_tagging.listening.factorisation import play_matrix

    SCRATCH.mkdir(exist_ok=True)
    started = time.perf_counter()
    plays, n_users, n_tracks = generate(args.plays)
    matrix = play_matrix(plays, n_users, n_tracks, "log1p")
    matrix_path = SCRATCH / f"plays_{args.plays}.npz"
    sp.save_npz(matrix_path, matrix, compressed=False)
    print(f"{matrix.nnz:,} plays, {n_users:,} users, {n_tracks:,} tracks in {time.perf_counter() - started:.0f} s")
    results = []
    for name in args.models.split(","):
        done = subprocess.run(
            [sys.executable, __file__, "--child", name, "--matrix", str(matrix_path), "--factors", str(args.factors),
             "--threads", str(args.threads), *(["--max-rounds", str(args.max_rounds)] if args.max_rounds else [])],
            capture_output=True, text=True, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
        )  # fmt: skip
        print(done.stdout.replace("RESULT ", "")[-600:], done.stderr[-2000:] if done.returncode else "")
        line = next((ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")), None)
        if line is None:
            raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
        results.append(json.loads(line.removeprefix("RESULT ")))
    matrix_path.unlink()
    record = {
        "commit": commit_label(HERE.parent),
        "machine": machine_label(),
        "plays": int(matrix.nnz),
        "users": n_users,
        "tracks": n_tracks,
        "factors": args.factors,
        "threads": args.threads,
        "max_rounds": args.max_rounds,
        "baseline": "bpr",
        "results": results,
    }
    RESULTS.mkdir(exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(record))
    _figure(record, out.with_suffix(".png"))
    print(out.with_suffix(".md").read_text())
    return 0


def markdown(record: dict) -> str:
    """The results as the Markdown table the README renders."""
    rows = {r["factoriser"]: r for r in record["results"]}
    base = rows.get(record["baseline"])
    lines = [
        f"# Factorisers at the MSD shape: {record['plays']:,} plays, {record['users']:,} listeners, "
        f"{record['tracks']:,} tracks",
        "",
        f"`python benchmarks/factorisation.py`, commit `{record['commit']}`, {record['machine']}; "
        f"{record['factors']} factors, {record['threads']} threads, each factoriser alone in its process. Held-out AUC: one play of 10,000 listeners ranked "
        "against 100 random tracks (chance 0.5); the plays are drawn, so the AUC shows learning, not quality.",
        "",
        "| factoriser | s / iteration | vs BPR | peak memory | vs BPR | held-out AUC (iterations) |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in rows.items():
        per = float(np.median([x["seconds_per_iteration"] for x in r["rounds"]]))
        base_per = float(np.median([x["seconds_per_iteration"] for x in base["rounds"]])) if base else per
        curve = ", ".join(f"{x['heldout_auc']:.3f} ({x['iteration']})" for x in r["rounds"])
        lines.append(
            f"| `{name}` | {per:.1f} | {per / base_per:.2f} | {r['peak_rss_mb'] / 1024:.2f} GB | "
            f"{r['peak_rss_mb'] / (base['peak_rss_mb'] if base else r['peak_rss_mb']):.2f} | {curve} |"
        )
    factors_gb = (record["users"] + record["tracks"]) * record["factors"] * 4 / 1024**3
    lines += [
        "",
        "Peak memory is the process's `ru_maxrss`. Loading the play matrix and holding out plays peak first, at "
        "the same point for every factoriser; a peak above that is the factoriser's own. Their factors take "
        f"{factors_gb:.1f} GB ((users + tracks) × {record['factors']} float32). BPR is the named baseline of both ratios.",
    ]
    return "\n".join(lines) + "\n"


def _figure(record: dict, path: Path = RESULTS / "factorisation.png") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    for r in record["results"]:
        ax.plot([x["iteration"] for x in r["rounds"]], [x["heldout_auc"] for x in r["rounds"]], marker="o",
                label=r["factoriser"])  # fmt: skip
    ax.set(xlabel="iterations", ylabel="held-out sampled AUC", title="Factorisers at the MSD shape (drawn plays)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    raise SystemExit(main())
