"""Nodes of the listening side."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.errors import MSDDataError
from msd_tagging.listening import (
    centroid_scores,
    check_centroid_params,
    factorisation_config,
    factorise,
    hybrid_scores,
    platt_calibrate,
    play_matrix,
    quantile_calibrate,
    warm_vectors,
)
from msd_tagging.mapping import IdMaps

logger = logging.getLogger(__name__)

# Ferraro et al. 2019, Table 1, MSD test split (macro).
PAPER_TABLE_1 = {
    "audio": {"method": "VGG (audio)", "roc_auc": 0.8672, "pr_auc": 0.2774},
    "mf": {"method": "MF-centroids", "roc_auc": 0.5879, "pr_auc": 0.0953},
    "hybrid": {"method": "Hybrid", "roc_auc": 0.8700, "pr_auc": 0.2830},
}


def factorise_plays(plays: pd.DataFrame, id_maps: IdMaps, params: dict) -> pd.DataFrame:
    """One MF vector per track of the ID map; tracks without plays are cold (no vector).

    Returns:
        ``track_id``, ``cold`` and ``f000 … f{d-1}`` plus ``bias`` (implicit's item bias).
    """
    config = factorisation_config(params)
    matrix = play_matrix(plays, id_maps.size("users"), id_maps.size("tracks"), params["weighting"])
    logger.info("BPR on %d users × %d tracks, %d plays, %d factors.", *matrix.shape, matrix.nnz, config.factors)
    factors = factorise(matrix, config)
    cold = np.asarray(matrix.getnnz(axis=0) == 0)
    factors[cold] = np.nan
    columns = [f"f{i:03d}" for i in range(config.factors)] + ["bias"]
    vectors = pd.DataFrame(factors, columns=columns)
    vectors.insert(0, "cold", cold)
    vectors.insert(0, "track_id", id_maps.ids("tracks").to_numpy())
    return vectors


def labels_for(tag_labels: pd.DataFrame, ids: pd.Series, tags: list[str], what: str) -> np.ndarray:
    """0/1 labels ``[len(ids), len(tags)]`` of ``ids``; an error names a track without labels."""
    labels = tag_labels.set_index("track_id").reindex(ids)[tags]
    missing = labels.index[labels.isna().any(axis=1)]
    if len(missing):
        raise MSDDataError(
            f"{len(missing)} {what} tracks have no tag labels, e.g. {missing[0]}",
            fix="rebuild tag_labels and the scores from the same split (kedro run --pipeline=hybrid)",
        )
    return labels.to_numpy(dtype=np.int8)


def training_side(
    warm: pd.DataFrame, audio_scores: pd.DataFrame, tracks: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Which rows of ``warm`` are training tracks with audio scores, and those scores."""
    split = warm["track_id"].map(tracks.set_index("track_id")["split"])
    audio = audio_scores.set_index("track_id")
    train = ((split == "train") & warm["track_id"].isin(audio.index)).to_numpy()
    return train, audio.loc[warm["track_id"][train]].to_numpy()


def mf_centroid_scores(
    track_vectors: pd.DataFrame,
    audio_scores: pd.DataFrame,
    tracks: pd.DataFrame,
    tag_labels: pd.DataFrame,
    params: dict,
) -> pd.DataFrame:
    """MF-centroid tag probabilities of every split track with a vector (cold tracks get none).

    The centroids come from the audio tagger's top training tracks (no labels). The
    cosines are then mapped to probabilities by ``params["calibration"]``: ``platt``
    fits a per-tag logistic map on the training tracks' cosines and tags, ``audio_quantiles``
    matches them to the audio tagger's training probabilities, ``cosine`` is ``(1 + cos) / 2``.
    Every mapping is increasing per tag, so the MF-centroids' own ranking metrics do not
    depend on it; the hybrid's do.
    """
    check_centroid_params(params)
    calibration = params["calibration"]
    tags = [c for c in audio_scores.columns if c != "track_id"]
    warm, vectors = warm_vectors(track_vectors, tracks["track_id"], use_bias=params["use_bias"])
    train, audio_train = training_side(warm, audio_scores, tracks)
    train_ids = warm["track_id"][train]
    if params["top_n"] >= train.sum():
        logger.warning(
            "listening.top_n=%d is not below the %d warm training tracks with audio scores: every "
            "tag's centroid averages the same tracks, so MF-centroids cannot tell tags apart. "
            "Lower listening.top_n (the paper: 50 of 201,680).",
            params["top_n"],
            int(train.sum()),
        )
    scores, _ = centroid_scores(
        vectors, np.flatnonzero(train), audio_train, params["top_n"], drop_fraction=params["drop_fraction"]
    )
    if calibration == "platt":
        labels = labels_for(tag_labels, train_ids, tags, "training")
        scores, base_rate = platt_calibrate(scores, scores[train], labels, c=params["platt_c"])
        if base_rate:
            logger.info(
                "MF-centroids: %d of %d tags get their training base rate (a constant) instead of a "
                "calibrated cosine: %s",
                len(base_rate),
                len(tags),
                ", ".join(f"{tags[t]} ({why})" for t, why in base_rate.items()),
            )
    elif calibration == "audio_quantiles":
        scores = quantile_calibrate(scores, scores[train], audio_train)
    out = pd.DataFrame(scores, columns=tags)
    out.insert(0, "track_id", warm["track_id"].to_numpy())
    logger.info(
        "MF-centroids: %d warm split tracks scored, centroids from the top %d of %d training tracks, %s calibration.",
        len(out),
        params["top_n"],
        int(train.sum()),
        calibration,
    )
    return out


def combine_scores(audio_scores: pd.DataFrame, mf_scores: pd.DataFrame) -> pd.DataFrame:
    """The hybrid: mean of audio and listening (MF-centroid, or any listening scorer's)
    scores; cold tracks fall back to audio."""
    return hybrid_scores(audio_scores, mf_scores)


def table_1(audio_metrics: dict, mf_metrics: dict, hybrid_metrics: dict) -> tuple[pd.DataFrame, str, dict]:
    """Table 1 of the paper with this run's figures beside the published MSD ones.

    Returns:
        The table as a DataFrame, as markdown, and as a JSON-able dict.
    """
    rows = []
    for key, metrics in (("audio", audio_metrics), ("mf", mf_metrics), ("hybrid", hybrid_metrics)):
        paper = PAPER_TABLE_1[key]
        rows.append(
            {
                "method": paper["method"],
                "roc_auc": metrics["roc_auc_macro"],
                "pr_auc": metrics["pr_auc_macro"],
                "tracks_scored": metrics["n_tracks_scored"],
                "tags_scored": metrics["n_tags_scored"],
                "paper_msd_roc_auc": paper["roc_auc"],
                "paper_msd_pr_auc": paper["pr_auc"],
            }
        )
    table = pd.DataFrame(rows)
    lines = [
        f"Table 1 — macro ROC-AUC / PR-AUC on the {audio_metrics['split']} split (this run) beside Ferraro et al. 2019 on MSD.",
        "",
        "| method | ROC-AUC | PR-AUC | tracks | tags | paper ROC-AUC | paper PR-AUC |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r.method} | {r.roc_auc:.4f} | {r.pr_auc:.4f} | {r.tracks_scored} | {r.tags_scored} | {r.paper_msd_roc_auc:.4f} | {r.paper_msd_pr_auc:.4f} |"
        for r in table.itertuples()
    ]
    lines += ["", "MF-centroids score only tracks with plays; the hybrid falls back to audio for the others."]
    return table, "\n".join(lines) + "\n", {"split": audio_metrics["split"], "rows": rows}
