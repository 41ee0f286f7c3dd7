"""Tagging new audio: decode, check, log-mel, VGG, top tags per file."""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.audio import DamageConfig, MelConfig, check_and_extract
from msd_tagging.errors import MSDDataError

logger = logging.getLogger(__name__)


def find_audio(input_dir: str, pattern: str, recursive: bool) -> list[Path]:
    """Files under ``input_dir`` matching ``pattern``, sorted; errors say how to point it."""
    root = Path(input_dir)
    if not root.is_dir():
        raise MSDDataError(
            f"tag_audio.input_dir {str(root)!r} is not a folder",
            path=root,
            fix="pass the folder of audio files: kedro run --pipeline=tag_audio --params=tag_audio.input_dir=/path/to/mp3s",
        )
    files = sorted(p for p in (root.rglob(pattern) if recursive else root.glob(pattern)) if p.is_file())
    if not files:
        raise MSDDataError(
            f"no file matches {pattern!r} under {str(root)!r}" + ("" if recursive else " (subfolders not searched)"),
            path=root,
            fix="check tag_audio.pattern (e.g. '*.mp3', '*.wav') and tag_audio.recursive",
        )
    return files


def tag_audio_files(model: dict, params: dict, audio: dict) -> tuple[pd.DataFrame, dict]:
    """Top tags of every audio file in ``params["input_dir"]``.

    Damaged files (empty, not audio, truncated, too short, silent) are kept in the output
    with their status and no tags, and counted in the report; they never stop the run.

    Returns:
        One row per file: ``file`` (relative to the folder), ``status``, ``detail``,
        ``seconds``, then ``tag_1, probability_1 … tag_k, probability_k``; and a report.
    """
    import torch
    from tqdm.auto import tqdm

    from msd_tagging.models.training import load_tagger, predict

    files = find_audio(params["input_dir"], params["pattern"], params["recursive"])
    if params.get("limit"):
        files = files[: int(params["limit"])]
    mel = MelConfig(**audio["mel"])
    damage = DamageConfig(**{**audio["damage"], "expected_seconds": params["expected_seconds"]})
    network, device = load_tagger(model, audio["train"]["device"])
    tags = np.asarray(model["tags"])
    top_k = min(int(params["top_k"]), len(tags))
    root = Path(params["input_dir"])

    rows: list[dict] = []
    batch: list[tuple[int, np.ndarray]] = []

    def flush() -> None:
        with torch.random.fork_rng(devices=[]):
            probabilities = predict(network, [x for _, x in batch], model["chunk_frames"], audio["train"]["eval_batch_size"], device)
        for (row, _), p in zip(batch, probabilities, strict=True):
            best = np.argsort(-p, kind="stable")[:top_k]
            for rank, t in enumerate(best, start=1):
                rows[row][f"tag_{rank}"] = tags[t]
                rows[row][f"probability_{rank}"] = round(float(p[t]), 4)
        batch.clear()

    for path in tqdm(files, desc="tag_audio", unit="file", disable=None):
        features, status, detail = check_and_extract(path, mel, damage)
        rows.append({"file": path.relative_to(root).as_posix(), "status": status, "detail": detail})
        if features is not None:
            rows[-1]["seconds"] = round(features.shape[1] * mel.hop_length / mel.sample_rate, 2)
            # The feature store keeps float16: round the same way, so a file scores as in training.
            batch.append((len(rows) - 1, features.astype(np.float16).astype(np.float32)))
            if len(batch) >= params["batch_files"]:
                flush()
    if batch:
        flush()

    columns = ["file", "status", "detail", "seconds"] + [f"{k}_{r}" for r in range(1, top_k + 1) for k in ("tag", "probability")]
    table = pd.DataFrame(rows).reindex(columns=columns)
    counts = Counter(table["status"])
    tagged = int(table["tag_1"].notna().sum())
    report = {
        "input_dir": str(root),
        "files": len(table),
        "tagged": tagged,
        "statuses": dict(counts),
        "skipped": table.loc[table["tag_1"].isna(), ["file", "status", "detail"]].to_dict("records")[: params["report_max_listed"]],
    }
    logger.info("tag_audio: %d of %d files tagged; %s.", tagged, len(table), ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())))
    return table, report
