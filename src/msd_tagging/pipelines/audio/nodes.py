"""Nodes of the audio side: plan extraction, report damage, train, score."""

from __future__ import annotations

import dataclasses
import logging

import numpy as np
import pandas as pd

from msd_tagging.audio.signal import DECODER_PREFIX, STATUSES
from msd_tagging.audio.store import ExtractionPlan, FeatureStore, FeatureStoreWriter
from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.figures import with_note
from msd_tagging.core.provenance import digest
from msd_tagging.core.tracks import SPLITS, TrackTable
from msd_tagging.models.training import CheckpointStore, TrainConfig
from msd_tagging.params import AudioParams, FiguresParams, IngestionParams
from msd_tagging.scoring.evaluation import require_positives
from msd_tagging.scoring.scores import score_table, tag_columns

logger = logging.getLogger(__name__)


def extract_features(
    tracks: pd.DataFrame, raw_data: dict, feature_store: FeatureStoreWriter, params: AudioParams
) -> pd.DataFrame:
    """Decode every catalogue track with an audio file, in a split or not (empty ones too,
    so they are reported)
    and write its log-mel into the store, in parallel and resumably; the store's manifest.

    The raw data's identity goes with the store, so features of a redrawn demo world are
    never mixed with stale ones.
    """
    has_file = tracks["audio_status"].isin(["ok", "empty"])
    jobs = tuple(zip(tracks.loc[has_file, "track_id"], tracks.loc[has_file, "audio_path"], strict=True))
    plan = ExtractionPlan(
        jobs=jobs,
        mel=params.mel,
        damage=params.damage,
        tracks_per_shard=params.extraction.tracks_per_shard,
        workers=params.extraction.workers,
        source=str(raw_data.get("fingerprint", "external")),
        scheduler=params.dask_scheduler,
    )
    return feature_store.extract(plan)


def embed_tracks(features: FeatureStore, embedding_store, params: AudioParams) -> pd.DataFrame:
    """The pooled pretrained embedding of every track with features (``audio.embeddings``;
    by default the head's model when ``audio.model_source`` is ``head``, else nothing is
    computed and the manifest is empty), into the embedding store, resumably.

    Returns:
        The store's manifest (``track_id, shard``).
    """
    from types import SimpleNamespace

    from msd_tagging.models.pretrained import check_preprocessing, pretrained_record

    model = params.embedding_model
    if model is None:
        logger.info(
            "No embeddings needed (audio.model_source=%s, audio.embeddings.model=%s).",
            params.model_source,
            params.embeddings.model,
        )
        return pd.DataFrame({"track_id": pd.Series(dtype=object), "shard": pd.Series(dtype=object)})
    record = pretrained_record(model)
    check_preprocessing(record, (features.config or {}).get("mel", {}), f"audio.embeddings ({model})")
    settings = SimpleNamespace(
        with_std=params.embeddings.with_std,
        tracks_per_shard=params.embeddings.tracks_per_shard,
        device=params.train.device,
        dask_scheduler=params.dask_scheduler,
    )
    return embedding_store.embed(features, model, record, settings)


def feature_report(features: FeatureStore, tracks: pd.DataFrame, ingestion: IngestionParams) -> dict:
    """Counts by status and the damaged files by reason, with paths and details (at most
    ``ingestion.report_max_listed`` listed per reason)."""
    limit = ingestion.report_max_listed
    manifest = features.manifest
    in_split = tracks["split"].isin(SPLITS).to_numpy()
    no_file = tracks[~tracks["audio_status"].isin(["ok", "empty"]).to_numpy() & in_split]
    not_tried = tracks[tracks["audio_status"].isin(["ok", "empty"]) & ~tracks["track_id"].isin(manifest["track_id"])]
    damaged = manifest[manifest["status"] != "ok"]
    said = manifest["detail"].fillna("").str.contains(DECODER_PREFIX, regex=False)  # what the C decoder printed
    return {
        "store": str(features.root),
        "config": features.config,
        "status_counts": {s: int((manifest["status"] == s).sum()) for s in STATUSES},
        "with_features": int((manifest["n_frames"] > 0).sum()),
        "damaged": {
            status: [
                {"track_id": t, "path": p, "detail": d, "features_kept": bool(n > 0)}
                for t, p, d, n in zip(g["track_id"], g["path"], g["detail"], g["n_frames"], strict=True)
            ][:limit]
            for status, g in damaged.groupby("status")
        },
        "no_audio_file": {
            "count": int(len(no_file)),
            "track_ids": no_file["track_id"].tolist()[:limit],
        },
        "not_extracted": not_tried["track_id"].tolist()[:limit],
        "decoder_messages": {
            "count": int(said.sum()),
            "files": [
                {"track_id": t, "path": p, "status": st, "message": d[d.index(DECODER_PREFIX) :]}
                for t, p, st, d in zip(
                    *(manifest.loc[said, c] for c in ("track_id", "path", "status", "detail")), strict=True
                )
            ][:limit],
        },
    }


def _split_arrays(features: FeatureStore, tag_labels: pd.DataFrame, tracks: pd.DataFrame, split: str):
    ids, labels = TrackTable(tracks, tag_labels).split(split, among=features.track_ids)
    return [features.lazy(t) for t in ids], labels  # read as training draws chunks: never all in memory


def train_tagger(
    features: FeatureStore,
    tag_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    checkpoint: CheckpointStore,
    params: AudioParams,
) -> tuple[dict, pd.DataFrame]:
    """``audio.model_source: train``: ``audio.architecture`` (shaped by ``audio.model``; the
    VGG by default) trained on the training split's log-mels, stopping early on validation
    PR-AUC, resuming from its checkpoint.

    Returns:
        The model record (:func:`~msd_tagging.models.registry.model_record`) and the
        per-epoch history.
    """
    from msd_tagging.models.registry import model_record
    from msd_tagging.models.training import train

    model_config = dataclasses.replace(params.model, n_tags=tag_labels.shape[1] - 1)
    config = params.train
    train_x, train_y = _split_arrays(features, tag_labels, tracks, "train")
    valid_x, valid_y = _split_arrays(features, tag_labels, tracks, "valid")
    tags = tag_columns(tag_labels)
    require_positives(train_y, tags, "train")
    require_positives(valid_y, tags, "valid")
    logger.info("Training on %d tracks, validating on %d.", len(train_x), len(valid_x))
    # A checkpoint is resumed only for the same features and labels.
    ids = [TrackTable(tracks).ids(s, among=features.track_ids) for s in ("train", "valid")]
    key = digest(features.config, *ids, train_y, valid_y)
    result = train(
        params.architecture, model_config, config, train_x, train_y, valid_x, valid_y, checkpoint, data_key=key
    )
    preprocessing = {**((features.config or {}).get("mel") or {}), "patch_frames": config.chunk_frames}
    provenance = {"source": "trained by msd-tagging's train_tagger node", "stopped": result.stopped}
    model = model_record(params.architecture, model_config, result.model_state, tags, preprocessing, provenance)
    return model, pd.DataFrame(result.history)


def fit_head(embeddings, tag_labels: pd.DataFrame, tracks: pd.DataFrame, params: AudioParams) -> dict:
    """``audio.model_source: head``: a head on the stored embeddings (``audio.head``),
    fitted on the training split, chosen on validation; the model record."""
    from msd_tagging.models import heads
    from msd_tagging.models.pretrained import pretrained_record
    from msd_tagging.models.registry import model_record

    name = params.head.embedding
    base = pretrained_record(name)
    if embeddings.config is None or embeddings.config.get("model") != name:
        raise MSDDataError(
            f"audio.model_source=head reads {name} embeddings, but the embedding store holds "
            f"{(embeddings.config or {}).get('model') or 'none'}",
            fix="rerun embed_tracks (kedro run --pipeline=hybrid), which fills the store for the head's model",
        )
    tags = tag_columns(tag_labels)
    arrays = {}
    for split in ("train", "valid"):
        ids, labels = TrackTable(tracks, tag_labels).split(split, among=embeddings.track_ids)
        require_positives(labels, tags, split)
        arrays[split] = (embeddings.rows(ids)[:, : _width(base)], labels)
    fitted = heads.fit_head(*arrays["train"], *arrays["valid"], params.head, name)
    logger.info(
        "Head on %s embeddings: %s kept (validation %s), trained on %d tracks.",
        name,
        fitted.kind,
        ", ".join(f"{k} {q:.4f}" for k, q in fitted.validation.items()),
        len(arrays["train"][0]),
    )
    provenance = {
        "source": f"a {fitted.kind} head on {name} embeddings, trained by msd-tagging's train_tagger node",
        "embedding": name,
        "kind": fitted.kind,
        "validation": fitted.validation,
        "criterion": "macro (ROC-AUC + PR-AUC) / 2 on validation",
    }
    return model_record("head", fitted.config, fitted.state_dict, tags, base["preprocessing"], provenance)


def _width(record: dict) -> int:
    """The embedding size of a pretrained model (the mean part of a stored row)."""
    from msd_tagging.models.registry import build

    config = record["config"]
    if "backend_units" in config:
        return int(config["backend_units"])
    return int(build(record["architecture"], config).config.flat_size())


def take_pretrained(features: FeatureStore, tag_labels: pd.DataFrame, params: AudioParams) -> dict:
    """``audio.model_source: msd_vgg | msd_musicnn``: that pretrained MSD tagger, no
    training, checked against the run's features and tags; in the run's tag order."""
    from msd_tagging.models.pretrained import check_preprocessing, check_tags, in_tag_order, pretrained_record

    source = params.model_source
    record = pretrained_record(source)
    where = f"audio.model_source={source}"
    check_preprocessing(record, (features.config or {}).get("mel", {}), where)
    tags = tag_columns(tag_labels)
    check_tags(record, tags, where)
    logger.info("%s: no training; the audio side scores with %s.", where, record["provenance"]["source"])
    return in_tag_order(record, tags)


def plot_training(history: pd.DataFrame, figures: FiguresParams):
    """Loss and validation metrics per epoch (the ``train`` audio sub-pipeline only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
    left.plot(history["epoch"], history["train_loss"], marker="o")
    left.set(xlabel="epoch", ylabel="training BCE loss", title="Loss")
    right.plot(history["epoch"], history["valid_roc_auc"], marker="o", label="ROC-AUC")
    right.plot(history["epoch"], history["valid_pr_auc"], marker="o", label="PR-AUC")
    right.set(xlabel="epoch", ylabel="macro", title="Validation")
    right.legend()
    fig.tight_layout()
    return with_note(fig, figures.note)


def score_embeddings(
    model: dict, embeddings, tracks: pd.DataFrame, params: AudioParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A head's tag probabilities for every catalogue track with a stored embedding, and
    the embedding it read (listening is predicted from it for tracks nobody has played)."""
    from msd_tagging.models.tagger import Tagger

    stored = set(embeddings.track_ids)
    ids = [t for t in tracks["track_id"] if t in stored]
    empty = (np.zeros((0, len(model["tags"])), np.float32), np.zeros((0, 0), np.float32))
    outputs = Tagger.load(model, params.train.device).predict_from_embeddings(embeddings.rows(ids)) if ids else empty
    probabilities, embedded = outputs
    return score_table(ids, probabilities, model["tags"]), embedding_table(ids, embedded)


def score_audio(
    model: dict, features: FeatureStore, tracks: pd.DataFrame, params: AudioParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tag probabilities of every catalogue track with features, in a split or not (mean
    over covering chunks): the tagged catalogue tags them all. The model's embedding of
    each track comes out of the same pass (the mean over windows of its penultimate layer):
    listening is predicted from it for tracks nobody has played
    (:mod:`msd_tagging.listening.from_audio`).

    Tracks are scored in passes of ``audio.scoring.tracks_per_task``, so memory stays bounded
    at any catalogue size. With ``dask_scheduler`` set, the passes run on the Dask
    cluster's workers, which read the feature store from the same (shared) path.

    Returns:
        The score table (``track_id`` + tags) and the embedding table (``track_id, e000, …``).
    """
    train, dask_scheduler = params.train, params.dask_scheduler
    size = params.scoring.tracks_per_task
    ids = tracks.loc[tracks["track_id"].isin(features.track_ids), "track_id"].tolist()
    empty = (np.zeros((0, len(model["tags"])), np.float32), np.zeros((0, 0), np.float32))
    if dask_scheduler:
        from distributed import Client

        parts = [ids[i : i + size] for i in range(0, len(ids), size)]
        with Client(dask_scheduler) as client:
            logger.info(
                "Scoring %d tracks in %d tasks on the Dask cluster at %s.", len(ids), len(parts), dask_scheduler
            )
            shipped = client.scatter(model, broadcast=True)
            futures = [
                client.submit(score_partition, shipped, str(features.root), part, train, pure=False) for part in parts
            ]
            outputs = _joined(client.gather(futures)) if parts else empty
    else:  # in passes of tracks_per_task tracks: 2.4M chunks of the MSD never sit in memory at once
        from msd_tagging.models.tagger import Tagger

        tagger = Tagger.load(model, train.device)  # once, not per pass
        parts = [_predict(tagger, features, ids[i : i + size], train) for i in range(0, len(ids), size)]
        outputs = _joined(parts) if parts else empty
    probabilities, embedded = outputs
    return score_table(ids, probabilities, model["tags"]), embedding_table(ids, embedded)


def embedding_table(ids, embeddings: np.ndarray) -> pd.DataFrame:
    """``track_id, e000, …`` (float32) from embeddings ``[len(ids), d]``."""
    table = pd.DataFrame(embeddings.astype(np.float32), columns=[f"e{i:03d}" for i in range(embeddings.shape[1])])
    table.insert(0, "track_id", np.asarray(ids, dtype=object))
    return table


def _joined(parts) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([p for p, _ in parts]), np.concatenate([e for _, e in parts])


def score_partition(
    model: dict, features: FeatureStore | str, ids: list[str], train: TrainConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities ``[len(ids), n_tags]`` and embeddings ``[len(ids), d]`` of ``ids``;
    runs locally or on a Dask worker (``features`` is then the store's path)."""
    from msd_tagging.models.tagger import Tagger

    if not isinstance(features, FeatureStore):
        features = FeatureStore(features)
    return _predict(Tagger.load(model, train.device), features, ids, train)


def _predict(tagger, features: FeatureStore, ids: list[str], train: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    return tagger.predict_and_embed([features.features(t) for t in ids], train.eval_batch_size)
