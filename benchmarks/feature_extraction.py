"""Benchmark: log-mel extraction per core, and across processes.

On the same files, per file, in one process:

* decode floor: ``soundfile.read`` alone (the named baseline);
* naive path: ``librosa.load(path, sr=16000)`` then ``librosa.feature.melspectrogram``
  then ``log10(1 + 10000·x)``, file by file;
* ours: ``msd_tagging.audio.check_and_extract`` (decode, downmix, soxr resample, damage
  checks, log-mel).

Two sets of files, rendered by the demo synthesiser and encoded with libsndfile:
6-s 16 kHz mono MP3s like the demo's, and 30-s 44.1 kHz stereo MP3s like 7digital's.
Then the feature store's extraction with 1 and with 2 processes on the larger set.

Usage::

    python benchmarks/feature_extraction.py [--demo-files 120] [--preview-files 40]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf


def render_files(folder: Path, n: int, seconds: float, sample_rate: int, channels: int) -> list[Path]:
    from msd_tagging.demo.synth import render_track
    from msd_tagging.demo.world import DemoWorldConfig, build_world

    world = build_world(
        DemoWorldConfig(
            n_train=n,
            n_valid=0,
            n_test=0,
            n_extra=0,
            n_duplicates=0,
            n_users=50,
            n_scenes=2,
            n_mismatches=1,
            repeated_rows=1,
        )
    )
    folder.mkdir(parents=True)
    paths = []
    for i, row in enumerate(world.tracks.head(n).to_dict("records")):
        mono = render_track(row, sample_rate=sample_rate, seconds=seconds, seed=int(row["audio_seed"]))
        data = mono if channels == 1 else np.stack([mono, np.roll(mono, 7) * 0.9], axis=1)
        path = folder / f"{i:04d}.mp3"
        sf.write(path, data, sample_rate, format="MP3")
        paths.append(path)
    return paths


def per_file_ms(function, paths: list[Path], repeat: int = 2) -> float:
    function(paths[0])  # warm caches, filters, imports
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        for path in paths:
            function(path)
        best = min(best, (time.perf_counter() - started) / len(paths) * 1000)
    return best


def _extract(path: str) -> str:
    from msd_tagging.audio.signal import DamageConfig, MelConfig, check_and_extract

    return check_and_extract(path, MelConfig(), DamageConfig())[1]


def _warm(first: str) -> None:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    _extract(first)


def _throughput(work: list[str], workers: int) -> float:
    """Seconds for ``work`` after start-up: workers are spawned and warmed first."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    if workers == 1:
        _warm(work[0])
        started = time.perf_counter()
        for path in work:
            _extract(path)
        return time.perf_counter() - started
    with ProcessPoolExecutor(
        workers, mp_context=multiprocessing.get_context("spawn"), initializer=_warm, initargs=(work[0],)
    ) as pool:
        list(pool.map(_extract, work[:workers]))
        started = time.perf_counter()
        list(pool.map(_extract, work, chunksize=8))
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-files", type=int, default=120)
    parser.add_argument("--preview-files", type=int, default=40)
    args = parser.parse_args()

    import librosa

    from msd_tagging.audio.signal import DamageConfig, MelConfig, check_and_extract
    from msd_tagging.audio.store import ExtractionPlan, write_plan

    mel, damage = MelConfig(), DamageConfig()

    def floor(path):
        return sf.read(path, dtype="float32")

    def naive(path):
        y, sr = librosa.load(path, sr=16000)
        return np.log10(1 + 10000 * librosa.feature.melspectrogram(y=y, sr=sr, n_fft=512, hop_length=256, n_mels=96))

    def ours(path):
        features, status, _ = check_and_extract(path, mel, damage)
        assert status == "ok", status
        return features

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # per core: one BLAS thread for every path

    scratch = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    try:
        sets = {
            "demo clips (6 s, 16 kHz mono)": render_files(scratch / "demo", args.demo_files, 6.0, 16000, 1),
            "7digital-like (30 s, 44.1 kHz stereo)": render_files(
                scratch / "previews", args.preview_files, 30.0, 44100, 2
            ),
        }
        print(
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, librosa {librosa.__version__}"
        )
        print(
            f"{'files':40} {'decode ms':>10} {'naive ms':>9} {'ours ms':>8} {'ours/decode':>12} {'naive/decode':>13} {'naive/ours':>11}"
        )
        for name, paths in sets.items():
            d, n, o = per_file_ms(floor, paths), per_file_ms(naive, paths), per_file_ms(ours, paths)
            print(f"{name:40} {d:10.1f} {n:9.1f} {o:8.1f} {o / d:12.2f} {n / d:13.2f} {n / o:11.2f}")
        print(
            "(per file, one process; ratios against the decode floor measured in the same run; goal ours/decode <= 1.35)"
        )

        paths = sets["7digital-like (30 s, 44.1 kHz stereo)"]
        work = [str(p) for p in paths] * 5
        one = _throughput(work, workers=1)
        two = _throughput(work, workers=2)
        print(
            f"\nsteady state, {len(work)} previews in a warmed pool: 1 process {one:.2f} s, 2 processes {two:.2f} s, "
            f"speed-up {one / two:.2f}x (goal >= 1.8x)"
        )

        # End to end through the feature store, process start-up and shard writing included.
        root = paths[0].parent
        jobs = tuple((f"TRBENCH{i:011d}", paths[i % len(paths)].name) for i in range(10 * len(paths)))
        plan = ExtractionPlan(jobs=jobs, tracks_per_shard=max(1, len(jobs) // 16))
        timings = {}
        for workers in (1, 2):
            started = time.perf_counter()
            write_plan(replace(plan, workers=workers), scratch / f"store{workers}", root, progress=False)
            timings[workers] = time.perf_counter() - started
        print(
            f"feature store end to end, {len(jobs)} previews: 1 process {timings[1]:.2f} s, 2 processes {timings[2]:.2f} s, "
            f"speed-up {timings[1] / timings[2]:.2f}x (includes about 2 s of worker start-up: spawn, imports)"
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
