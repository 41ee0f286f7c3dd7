"""Benchmark: log-mel extraction per core, and across processes.

On the same files, per file, in one process:

* decode floor: ``soundfile.read`` alone (the named baseline);
* naive path: ``librosa.load(path, sr=16000)`` then ``librosa.feature.melspectrogram``
  then ``log10(1 + 10000·x)``, file by file;
* ours: ``msd_tagging.audio.check_and_extract`` (decode, downmix, soxr resample, damage
  checks, log-mel).

The three are timed file by file in turn, each file several times, and each keeps its
best time per file, so slow drift of the machine hits all three alike.

Sets of files: 6-s 16 kHz mono MP3s like the demo's and 30-s 44.1 kHz stereo MP3s like
7digital's, both rendered by the demo synthesiser and encoded with libsndfile; with
``--real-dir``, 30-s 44.1 kHz stereo MP3 previews cut from the real recordings in that
folder (e.g. Debian's ``wesnoth-1.16-music``). Then soxr's quality presets on the previews:
their cost and how far their log-mels stand from librosa's (``librosa.load`` resamples
with soxr HQ). Then the feature store's extraction with 1 and with 2 processes.

Usage::

    python benchmarks/feature_extraction.py [--demo-files 120] [--preview-files 40] [--real-dir DIR]
        [--json benchmarks/results/feature_extraction.json]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

from msd_tagging.framework.run_record import commit_label, machine_label


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


def cut_previews(source: Path, folder: Path, n: int, seconds: float = 30.0) -> list[Path]:
    """30-s stereo MP3 previews cut from the middle of the real recordings in ``source``."""
    folder.mkdir(parents=True)
    paths = []
    for recording in sorted(p for p in source.rglob("*") if p.suffix.lower() in {".ogg", ".flac", ".wav", ".mp3"}):
        with sf.SoundFile(recording) as handle:
            rate, frames = handle.samplerate, handle.frames
            if frames < seconds * rate or handle.channels != 2 or rate != 44100:
                continue
            handle.seek(max(0, (frames - int(seconds * rate)) // 2))
            clip = handle.read(int(seconds * rate), dtype="float32")
        path = folder / f"{recording.stem}.mp3"
        sf.write(path, clip, rate, format="MP3")
        paths.append(path)
        if len(paths) == n:
            break
    return paths


def paired_ms(functions: dict, paths: list[Path], repeat: int = 5) -> dict[str, float]:
    """Mean over files of each function's best time per file (ms), timed in turn file by file."""
    for function in functions.values():
        function(paths[0])  # warm caches, filters, imports
    best = {name: np.full(len(paths), np.inf) for name in functions}
    for _ in range(repeat):
        for i, path in enumerate(paths):
            for name, function in functions.items():
                started = time.perf_counter()
                function(path)
                best[name][i] = min(best[name][i], time.perf_counter() - started)
    return {name: float(times.mean() * 1000) for name, times in best.items()}


def resampler_qualities(paths: list[Path]) -> dict[str, dict]:
    """soxr presets on the previews: ms per preview, and the largest log-mel difference from librosa's."""
    import librosa
    import soxr

    from msd_tagging.audio.signal import MelConfig, log_mel

    mel = MelConfig()
    clips = [sf.read(path, dtype="float32", always_2d=True) for path in paths[:8]]
    monos = [((x[:, 0] + x[:, 1]) * np.float32(0.5), rate) for x, rate in clips]
    references = [
        np.log10(
            1
            + 10000
            * librosa.feature.melspectrogram(
                y=librosa.resample(m, orig_sr=rate, target_sr=16000), sr=16000, n_fft=512, hop_length=256, n_mels=96
            )
        )
        for m, rate in monos
    ]
    out = {}
    for quality in ("VHQ", "HQ", "MQ", "LQ", "QQ"):
        times, worst = [], 0.0
        for (m, rate), reference in zip(monos, references, strict=True):
            soxr.resample(m, rate, 16000, quality=quality)
            started = time.perf_counter()
            y = soxr.resample(m, rate, 16000, quality=quality)
            times.append(time.perf_counter() - started)
            worst = max(worst, float(np.abs(log_mel(y, mel) - reference).max()))
        out[quality] = {"ms": float(np.median(times) * 1000), "max_abs_log_mel_difference": worst}
    return out


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


def markdown(record: dict) -> str:
    """The results file's report, rendered from its figures."""
    lines = [
        "# Log-mel extraction",
        "",
        f"`python benchmarks/feature_extraction.py`, commit `{record['commit']}`, {record['machine']}, "
        f"librosa {record['librosa']}, one BLAS thread per process. Each path timed file by file in turn, "
        "best of 5 per file, mean over files.",
        "",
        "Per file, one process (baseline: the decode floor, `soundfile.read` alone):",
        "",
        "| files | n | decode ms | naive librosa ms | ours ms | ours / decode | naive / ours |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, f in record["sets"].items():
        lines.append(
            f"| {name} | {f['files']} | {f['decode_ms']:.1f} | {f['naive_ms']:.1f} | {f['ours_ms']:.1f} | "
            f"**{f['ours_over_decode']:.2f}** | {f['naive_ms'] / f['ours_ms']:.2f} |"
        )
    lines += [
        "",
        "Goal ours / decode ≤ 1.35 on 30-s 44.1 kHz stereo previews. Above the decode, ours spends the soxr "
        "resample and the log-mel (window, float32 FFT, power, mel matrix, log), and a channel sum.",
        "",
        "soxr's presets on the previews (`librosa.load` resamples with HQ, as ours does): cost of one 30-s "
        "mono resample, and the largest difference of the resulting log-mel from librosa's:",
        "",
        "| preset | ms | max abs log-mel difference |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {q} | {f['ms']:.2f} | {f['max_abs_log_mel_difference']:.2g} |" for q, f in record["resampler"].items()
    ]
    pool, store = record["pool"], record["store"]
    lines += [
        "",
        f"Across processes, {pool['previews']} previews in a warmed pool: 1 process {pool['one_process_s']:.2f} s, "
        f"2 processes {pool['two_processes_s']:.2f} s, {pool['one_process_s'] / pool['two_processes_s']:.2f}×. "
        f"Through the feature store end to end ({store['previews']} previews, about 2 s of worker start-up included): "
        f"{store['one_process_s']:.2f} s vs {store['two_processes_s']:.2f} s.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--demo-files", type=int, default=120)
    parser.add_argument("--preview-files", type=int, default=40)
    parser.add_argument("--real-dir", type=Path, help="real recordings to cut 30-s 44.1 kHz stereo previews from")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
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
        if args.real_dir:
            sets["real music previews (30 s, 44.1 kHz stereo)"] = cut_previews(
                args.real_dir, scratch / "real", args.preview_files
            )
        record = {
            "machine": machine_label(),
            "librosa": librosa.__version__,
            "sets": {},
        }
        print(f"{record['machine']}, librosa {librosa.__version__}")
        print(
            f"{'files':45} {'decode ms':>10} {'naive ms':>9} {'ours ms':>8} {'ours/decode':>12} {'naive/decode':>13} {'naive/ours':>11}"
        )
        for name, paths in sets.items():
            ms = paired_ms({"decode": floor, "naive": naive, "ours": ours}, paths)
            d, n, o = ms["decode"], ms["naive"], ms["ours"]
            record["sets"][name] = {
                "files": len(paths),
                **{f"{k}_ms": v for k, v in ms.items()},
                "ours_over_decode": o / d,
            }
            print(f"{name:45} {d:10.1f} {n:9.1f} {o:8.1f} {o / d:12.2f} {n / d:13.2f} {n / o:11.2f}")
        print(
            "(per file, one process; ratios against the decode floor measured in the same run; goal ours/decode <= 1.35)"
        )
        previews = (
            sets.get("real music previews (30 s, 44.1 kHz stereo)") or sets["7digital-like (30 s, 44.1 kHz stereo)"]
        )
        record["resampler"] = resampler_qualities(previews)
        print("\nsoxr preset on a 30-s preview: ms, largest |log-mel - librosa's| (ours uses HQ, as librosa.load)")
        for quality, figures in record["resampler"].items():
            print(f"  {quality:4} {figures['ms']:6.2f} ms  {figures['max_abs_log_mel_difference']:.2e}")

        paths = sets["7digital-like (30 s, 44.1 kHz stereo)"]
        work = [str(p) for p in paths] * 5
        one = _throughput(work, workers=1)
        two = _throughput(work, workers=2)
        print(
            f"\nsteady state, {len(work)} previews in a warmed pool: 1 process {one:.2f} s, 2 processes {two:.2f} s, "
            f"speed-up {one / two:.2f}x (goal >= 1.8x)"
        )
        record["pool"] = {"previews": len(work), "one_process_s": one, "two_processes_s": two}

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
        record["store"] = {"previews": len(jobs), "one_process_s": timings[1], "two_processes_s": timings[2]}
        if args.json:
            import json

            record["commit"] = commit_label(Path(__file__).resolve().parents[1])
            args.json.write_text(json.dumps(record, indent=2) + "\n")
            args.json.with_suffix(".md").write_text(markdown(record))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
