"""Tagging new audio: decode, check, log-mel, a tagger, top tags (and embeddings) per file."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from msd_tagging.audio.signal import DamageConfig, MelConfig
from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.mapping import IdMaps
from msd_tagging.core.progress import Progress
from msd_tagging.params import PATTERN_FIX, AudioParams, TagAudioParams

logger = logging.getLogger(__name__)


def find_audio(input_dir: str, pattern: str | list[str], recursive: bool) -> list[Path]:
    """Files under ``input_dir`` matching ``pattern`` (a glob or several, on the path
    relative to the folder), sorted; errors say how to point it.

    The folder is listed as the catalogue's audio folder is
    (:func:`~msd_tagging.datasets.audio.list_files`): linked folders followed once each,
    and every matching entry kept, FIFOs, devices and dangling links included, so that the
    report names each one it skips and why."""
    from msd_tagging.datasets.audio import list_files

    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    root = Path(input_dir)
    if not root.is_dir():
        raise MSDDataError(
            f"tag_audio.input_dir {str(root)!r} is not a folder",
            path=root,
            fix="pass the folder of audio files: kedro run --pipeline=tag_audio --params=tag_audio.input_dir=/path/to/mp3s",
        )
    listing = list_files(root, raw=True)
    files = []
    for shown, raw in zip(listing["path"], listing["relative"], strict=True):
        relative = PurePosixPath(shown)
        if not recursive and len(relative.parts) > 1:
            continue
        if any(relative.match(glob) for glob in patterns):
            files.append(root / raw)
    if not files:
        raise MSDDataError(
            f"no file matches {' or '.join(map(repr, patterns))} under {str(root)!r}"
            + ("" if recursive else " (subfolders not searched)"),
            path=root,
            fix="check tag_audio.pattern and tag_audio.recursive; " + PATTERN_FIX,
        )
    return sorted(files)


def tag_audio_files(
    trained: dict | None, config: TagAudioParams, audio: AudioParams, id_maps: IdMaps | None = None
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Top tags of every audio file in ``tag_audio.input_dir``.

    The tagger is ``tag_audio.model``: a pretrained MSD tagger shipped with the package, or
    ``run``, the run's own audio model (``trained``: the old name), in the run's vocabulary
    (``id_maps``'s tags) and on ``audio.mel``'s features. Damaged files (empty, unreadable,
    not audio, truncated, too short, silent, non-finite, not a file) are kept in the output
    with their status and no tags, and counted in the report; they never stop the run.

    Returns:
        One row per file: ``file`` (relative to the folder), ``status``, ``detail``,
        ``seconds``, then ``tag_1, probability_1 … tag_k, probability_k``; a report; and
        the embeddings (``file``, ``embedding_0`` …; no rows unless ``params["embeddings"]``).
    """
    from msd_tagging.models.tagger import Tagger

    mel = audio.mel
    model = _chosen_model(config.model, trained, mel)
    if config.model in ("run", "trained"):
        _check_vocabulary(model, id_maps)
    files = find_audio(config.input_dir, config.globs, config.recursive)[: config.limit or None]
    damage = dataclasses.replace(audio.damage, expected_seconds=config.expected_seconds)
    tagger = Tagger.load(model, audio.train.device)
    batch_size = audio.train.eval_batch_size
    logger.info("tag_audio: %s tagger (%s).", config.model, model.get("provenance", {}).get("source", "trained here"))
    top_k = min(config.top_k, len(tagger.tags))
    root = Path(config.input_dir)
    rows: list[dict] = []
    embedded: list[dict] = []
    pending: list[tuple[dict, np.ndarray]] = []  # decoded files waiting for one model pass
    held = 0.0  # their seconds of audio
    heard = [0.0]  # seconds decoded so far, for the heartbeat
    progress = Progress(
        len(files),
        "tag_audio",
        "file",
        every=config.heartbeat_seconds,
        logger=logger,
        extra=lambda: f"{heard[0] / 3600:.2f} h of audio",
    )
    with progress:
        for path in files:
            row, features = _examine(path, root, tagger, damage, config.max_seconds)
            rows.append(row)
            if features is not None:
                pending.append((row, features))
                seconds = features.shape[1] * mel.hop_length / mel.sample_rate
                held += seconds
                heard[0] += seconds
                if len(pending) >= config.batch_files or held >= config.batch_seconds:
                    embedded += _add_top_tags(tagger, pending, top_k, batch_size, config.embeddings)
                    pending, held = [], 0.0
            progress.update()
        if pending:
            embedded += _add_top_tags(tagger, pending, top_k, batch_size, config.embeddings)

    columns = ["file", "status", "detail", "seconds"] + [
        f"{k}_{r}" for r in range(1, top_k + 1) for k in ("tag", "probability")
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    return table, _report(table, root, config, model), pd.DataFrame(embedded, columns=None if embedded else ["file"])


def _report(table: pd.DataFrame, root: Path, config: TagAudioParams, model: dict) -> dict:
    """What was tagged, with which model, and every file skipped (up to ``report_max_listed``)."""
    counts = Counter(table["status"])
    tagged = int(table["tag_1"].notna().sum())
    logger.info(
        "tag_audio: %d of %d files tagged; %s.",
        tagged,
        len(table),
        ", ".join(f"{s}: {n}" for s, n in sorted(counts.items())),
    )
    return {
        "input_dir": str(root),
        "model": config.model,
        "provenance": {k: v for k, v in model.get("provenance", {}).items() if k != "licence_text"},
        "files": len(table),
        "tagged": tagged,
        "statuses": dict(counts),
        "skipped": table.loc[table["tag_1"].isna(), ["file", "status", "detail"]].to_dict("records")[
            : config.report_max_listed
        ],
    }


def _chosen_model(name: str, trained: dict | None, mel: MelConfig) -> dict:
    """The model record ``tag_audio.model`` names, checked against the run's log-mel settings."""
    from msd_tagging.models.pretrained import check_preprocessing, pretrained_record

    if name not in ("run", "trained"):
        record = pretrained_record(name)
    elif trained is None:
        raise MSDDataError(
            f"tag_audio.model is {name!r}, but this run has no audio model yet",
            fix="run `kedro run --pipeline=hybrid` first, or tag with a pretrained model: "
            "--params=tag_audio.model=msd_musicnn",
        )
    else:
        record = trained
    if "preprocessing" in record:  # models trained before it was recorded carry none
        check_preprocessing(record, mel.as_dict(), f"tag_audio.model={name}")
    return record


def _check_vocabulary(model: dict, id_maps: IdMaps | None) -> None:
    """Stop when the run's model was trained in another vocabulary than the run's now."""
    if id_maps is None or "tags" not in id_maps.maps:
        return  # no ingestion to compare with (a model brought from elsewhere)
    ours = list(id_maps.maps["tags"])
    theirs = list(model["tags"])
    if theirs != ours:
        raise MSDDataError(
            f"the run's audio model was trained on {len(theirs)} tags, but the run's vocabulary is now {len(ours)} "
            f"tags (the model lacks {sorted(set(ours) - set(theirs))[:5]}, the vocabulary {sorted(set(theirs) - set(ours))[:5]}"
            "): it was re-ingested after training.",
            fix="train again in this vocabulary (kedro run --pipeline=hybrid), or tag with a pretrained model: "
            "--params=tag_audio.model=msd_musicnn",
        )


def _examine(
    path: Path, root: Path, tagger, damage: DamageConfig, max_seconds: float | None
) -> tuple[dict, np.ndarray | None]:
    """One file's CSV row (status, detail, seconds) and its features
    (:meth:`~msd_tagging.models.tagger.Tagger.features_of`, the one-call API's), or ``None``
    when damaged. A name that is not valid UTF-8 is shown with ``\\x`` escapes, with status
    ``bad_name`` and no tags (renaming the file fixes it); a FIFO or a device is never opened."""
    from msd_tagging.datasets.audio import special_kind

    name = path.relative_to(root).as_posix()
    shown = os.fsencode(name).decode("utf-8", "backslashreplace")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return {"file": shown, "status": "bad_name", "detail": "the file name is not valid UTF-8: rename it"}, None
    special = special_kind(path)
    if special:  # never opened: a FIFO blocks, a device never ends
        return {"file": name, "status": "not_a_file", "detail": f"a {special}, not a file: never read"}, None
    features, status, detail = tagger.features_of(path, damage, max_seconds)
    if not path.exists():  # a dangling link: decoding cannot stat it
        status, detail = "missing", "a link to a file that does not exist"
    row = {"file": name, "status": status, "detail": detail}
    if features is None:
        return row, None
    row["seconds"] = round(features.shape[1] * tagger.mel.hop_length / tagger.mel.sample_rate, 2)
    return row, features


def _add_top_tags(
    tagger, pending: list[tuple[dict, np.ndarray]], top_k: int, batch_size: int, embeddings: bool
) -> list[dict]:
    """Score the pending files in one pass, write their top tags into their rows, and
    return their embedding rows (none unless ``embeddings``)."""
    features = [f for _, f in pending]
    if embeddings:
        probabilities, vectors = tagger.predict_and_embed(features, batch_size)
    else:
        probabilities, vectors = tagger.predict(features, batch_size), None
    tags = np.asarray(tagger.tags)
    for (row, _), p in zip(pending, probabilities, strict=True):
        best = np.argsort(-p, kind="stable")[:top_k]
        for rank, t in enumerate(best, start=1):
            row[f"tag_{rank}"] = tags[t]
            row[f"probability_{rank}"] = round(float(p[t]), 4)
    if vectors is None:
        return []
    return [
        {"file": row["file"], **{f"embedding_{j}": float(v) for j, v in enumerate(vector)}}
        for (row, _), vector in zip(pending, vectors, strict=True)
    ]
