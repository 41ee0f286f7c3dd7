"""Benchmark: ``tag_audio`` with the torch ports against musicnn's own TensorFlow tagger.

On the same real recordings, in one run, end to end (process start, decoding and model
loading included), for ``msd_vgg`` and ``msd_musicnn``:

* ours: ``kedro run --pipeline=tag_audio --params=tag_audio.model=M,tag_audio.top_k=50``;
* the peer (the named baseline): musicnn 0.1.0's ``extractor`` under TensorFlow, as its
  ``top_tags`` runs it (one graph and session per file), in a throwaway environment that
  has TensorFlow and the musicnn wheel (``--tf-python``; see tools/convert_musicnn.py),
  with float32 features (``benchmarks/_musicnn_tf.py --float32``).

Speed is audio duration over wall time (× real time), and ours over the peer. Parity is
the largest difference, over files and the 50 tags, between the two mean tag
probabilities of a file (goal at most 0.01). Writes ``--json`` and a Markdown report beside it.

Usage::

    python benchmarks/pretrained_tagging.py --audio-dir DIR [--files 8] [--tf-python /tmp/tfenv/bin/python]
        [--json benchmarks/results/pretrained_tagging.json]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from msd_tagging.framework.run_record import commit_label, machine_label

PROJECT = Path(__file__).resolve().parents[1]
MODELS = {"msd_vgg": "MSD_vgg", "msd_musicnn": "MSD_musicnn"}
AUDIO = {".ogg", ".mp3", ".flac", ".wav"}


def longest(folder: Path, n: int) -> list[Path]:
    files = [p for p in folder.rglob("*") if p.suffix.lower() in AUDIO]
    return sorted(files, key=lambda p: -sf.info(p).duration)[:n]


def ours(folder: Path, model: str) -> tuple[float, float | None, dict]:
    """Wall seconds, node seconds and per-file probabilities of ``tag_audio`` with ``model``."""
    params = (
        f"tag_audio.input_dir={folder},tag_audio.pattern=ogg|mp3|flac|wav,tag_audio.model={model},tag_audio.top_k=50"
    )
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipeline=tag_audio", f"--params={params}"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"tag_audio failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    node = re.search(r"node tag_audio_files: ([\d.]+) s", done.stdout + done.stderr)
    table = pd.read_csv(PROJECT / "data" / "07_model_output" / "demo" / "tag_audio.csv")
    files = {
        row["file"]: {row[f"tag_{i}"]: row[f"probability_{i}"] for i in range(1, 51)} for _, row in table.iterrows()
    }
    return wall, float(node.group(1)) if node else None, files


def peer(tf_python: str, paths: list[Path], model: str) -> tuple[float, float, dict, list[str]]:
    """Wall seconds (TensorFlow import included), tagging seconds and per-file probabilities."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "out.json"
        started = time.perf_counter()
        subprocess.run(
            [
                tf_python,
                str(Path(__file__).parent / "_musicnn_tf.py"),
                "--float32",
                "--models",
                model,
                "--out",
                str(out),
            ]
            + [str(p) for p in paths],
            check=True,
            capture_output=True,
        )
        wall = time.perf_counter() - started
        record = json.loads(out.read_text())
    return wall, record[model]["seconds"], record[model]["files"], record["tags"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--audio-dir", type=Path, required=True, help="real recordings (e.g. Debian's wesnoth-1.16-music)"
    )
    parser.add_argument("--files", type=int, default=8, help="the longest N files")
    parser.add_argument("--tf-python", default="/tmp/tfenv/bin/python")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    paths = longest(args.audio_dir, args.files)
    minutes = sum(sf.info(p).duration for p in paths) / 60
    record = {
        "machine": machine_label(),
        "commit": commit_label(PROJECT),
        "files": [p.name for p in paths],
        "audio_minutes": minutes,
        "models": {},
    }
    print(f"{len(paths)} files, {minutes:.1f} min of audio; {record['machine']}")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        for p in paths:
            (folder / p.name).symlink_to(p.resolve())
        for model, checkpoint in MODELS.items():
            tf_wall, tf_seconds, tf_files, tags = peer(args.tf_python, paths, checkpoint)
            wall, node, files = ours(folder, model)
            gap = max(
                abs(files[name][t] - p) for name, probs in tf_files.items() for t, p in zip(tags, probs, strict=True)
            )
            record["models"][model] = {
                "ours_wall_s": wall,
                "ours_node_s": node,
                "peer_wall_s": tf_wall,
                "peer_tagging_s": tf_seconds,
                "max_abs_probability_difference": gap,
            }
            print(
                f"{model:12} ours {wall:6.1f} s ({minutes * 60 / wall:5.0f}x real time)  musicnn TF {tf_wall:6.1f} s "
                f"({minutes * 60 / tf_wall:5.0f}x)  ours/peer speed {tf_wall / wall:.2f}x  max |p - p_TF| {gap:.1e}"
            )
    if args.json:
        args.json.write_text(json.dumps(record, indent=2) + "\n")
        args.json.with_suffix(".md").write_text(markdown(record))


def markdown(record: dict) -> str:
    seconds = record["audio_minutes"] * 60
    lines = [
        "# Pretrained taggers: the torch ports against musicnn's TensorFlow tagger",
        "",
        f"`python benchmarks/pretrained_tagging.py`, commit `{record['commit']}`, {record['machine']}. "
        f"{len(record['files'])} real recordings (Battle for Wesnoth's orchestral music, Debian's "
        f"`wesnoth-1.16-music`, 44.1 kHz stereo Ogg Vorbis), {record['audio_minutes']:.1f} min of audio. "
        "Wall time of one process each, end to end: start-up, decoding, features, model loading, tagging. "
        "The peer is musicnn 0.1.0 under TensorFlow 2.21 (one graph and session per file, as its "
        "`top_tags`), with float32 features.",
        "",
        "| model | ours s | ours × real time | musicnn TF s | musicnn × real time | ours vs peer speed | max abs probability difference |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for model, m in record["models"].items():
        lines.append(
            f"| `{model}` | {m['ours_wall_s']:.1f} | {seconds / m['ours_wall_s']:.0f}× | {m['peer_wall_s']:.1f} | "
            f"{seconds / m['peer_wall_s']:.0f}× | **{m['peer_wall_s'] / m['ours_wall_s']:.2f}×** | "
            f"{m['max_abs_probability_difference']:.1e} |"
        )
    lines += [
        "",
        "Probabilities are compared over every file and all 50 tags; ours are written with 4 decimals. Goal: "
        "at most 0.01, and ours at least as fast.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
