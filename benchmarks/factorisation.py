"""Benchmark: BPR factorisation, our node vs raw implicit, on an MSD-shaped play matrix.

Generates plays shaped like the Taste Profile (power-law listener activity and song
popularity; default 21.7M plays over 1.02M users and 384k tracks), then times

* raw implicit: ``BayesianPersonalizedRanking.fit`` on a prebuilt CSR (the named baseline);
* ours, factorisation: ``msd_tagging.listening.factorise`` on the same CSR;
* ours, whole node: ``factorise_plays`` from the plays table (CSR build and output frame
  included),

with the same settings (200 factors, 2 threads), and extrapolates per-epoch time to the
full 48,373,586-row Taste Profile.

Usage::

    python benchmarks/factorisation.py [--plays 21700000] [--iterations 2]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd

FULL_PLAYS = 48_373_586
USERS, TRACKS = 1_019_318, 384_546


def generate(n_plays: int, seed: int = 0) -> pd.DataFrame:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plays", type=int, default=21_700_000)
    parser.add_argument("--iterations", type=int, default=2)
    parser.add_argument("--factors", type=int, default=200)
    args = parser.parse_args()

    from implicit.cpu.bpr import BayesianPersonalizedRanking

    from msd_tagging.listening.factorisation import BPRConfig, factorise, play_matrix
    from msd_tagging.mapping import IdMaps
    from msd_tagging.pipelines.listening.nodes import factorise_plays

    started = time.perf_counter()
    plays, n_users, n_tracks = generate(args.plays)
    print(
        f"generated {len(plays):,} distinct (user, track) plays, {n_users:,} users, {n_tracks:,} tracks in {time.perf_counter() - started:.0f} s"
    )
    matrix = play_matrix(plays, n_users, n_tracks, "log1p")
    config = BPRConfig(factors=args.factors, iterations=args.iterations, seed=0, num_threads=2)

    timings = {}
    started = time.perf_counter()
    raw = BayesianPersonalizedRanking(
        factors=config.factors,
        learning_rate=config.learning_rate,
        regularization=config.regularization,
        iterations=config.iterations,
        num_threads=2,
        random_state=0,
    )
    raw.fit(matrix, show_progress=False)
    timings["raw implicit (baseline)"] = time.perf_counter() - started

    started = time.perf_counter()
    factorise(matrix, config)
    timings["ours: factorise()"] = time.perf_counter() - started

    from dataclasses import asdict

    maps = IdMaps.build(users=[f"u{i}" for i in range(n_users)], tracks=[f"t{i}" for i in range(n_tracks)])
    started = time.perf_counter()
    factorise_plays(plays, maps, {"weighting": "log1p", "bpr": asdict(config)})  # (vectors, curve)
    timings["ours: factorise_plays node"] = time.perf_counter() - started

    base = timings["raw implicit (baseline)"]
    print(
        f"\n{len(plays):,} plays, {args.factors} factors, {args.iterations} iterations, 2 threads, {os.cpu_count()} cores"
    )
    print(f"{'':30} {'seconds':>8} {'s/epoch':>8} {'vs raw':>7}")
    for name, seconds in timings.items():
        print(f"{name:30} {seconds:8.1f} {seconds / args.iterations:8.1f} {seconds / base:7.2f}")
    per_epoch = base / args.iterations
    print(
        f"(goal: node <= 1.1x raw)\nextrapolated to the full Taste Profile ({FULL_PLAYS:,} rows): about "
        f"{per_epoch * FULL_PLAYS / len(plays):.0f} s per epoch, {per_epoch * FULL_PLAYS / len(plays) * 300 / 3600:.1f} h for the demo's 300 iterations, "
        "assuming time linear in plays (BPR samples one (user, positive, negative) triple per play)"
    )


if __name__ == "__main__":
    main()
