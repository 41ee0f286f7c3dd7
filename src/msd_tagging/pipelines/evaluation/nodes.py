"""The shared evaluation node."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.params import EvaluationParams, ReportingParams
from msd_tagging.scoring.evaluation import evaluate, popularity_bins, require_scored, split_weights

logger = logging.getLogger(__name__)


def track_popularity(
    plays: pd.DataFrame, track_vectors: pd.DataFrame, tracks: pd.DataFrame, reporting: ReportingParams
) -> pd.DataFrame:
    """The plays the listening side factorised for every track of
    ``reporting.cold_start.split``, in the split's order, and its popularity bin (zero
    plays, the cold bin, included): what each scorer's cold-start figures are measured by.
    A track whose plays ``listening.withhold`` left out is cold (``track_vectors``), so it
    counts zero."""
    params = reporting.cold_start
    per_track = plays.groupby("track_idx")["play_count"].sum()
    counts = pd.Series(0, index=pd.Index(track_vectors["track_id"].to_numpy(), name="track_id"), dtype="int64")
    counts.iloc[per_track.index.to_numpy()] = per_track.to_numpy()
    counts[track_vectors["cold"].to_numpy()] = 0
    split_ids = tracks.loc[tracks["split"] == params.split, "track_id"]
    popularity = counts.reindex(split_ids.to_numpy(), fill_value=0)
    bins = popularity_bins(popularity, params.popularity_edges)
    return pd.DataFrame({"track_id": split_ids.to_numpy(), "plays": popularity.to_numpy(), "bin": bins.array})


def evaluate_scorer(
    scores: pd.DataFrame,
    tag_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    track_popularity: pd.DataFrame,
    params: EvaluationParams,
) -> tuple[dict, pd.DataFrame]:
    """Macro and per-tag ROC-AUC / PR-AUC of one scorer on ``evaluation.split``, with the
    paired bootstrap over the split's tracks (``evaluation.bootstrap``; the same resamples
    for every scorer), and the same per popularity bin (``by_popularity``: each bin's tracks
    with their rows of the resamples, so a small bin gets a wide interval)."""
    split = params.split
    ids = tracks.loc[tracks["split"] == split, "track_id"]
    weights = split_weights(len(ids), params.bootstrap)
    summary, per_tag = evaluate(scores, tag_labels, ids, weights, params.bootstrap.confidence)
    require_scored(summary, f"the {split} split")
    summary = {"split": split, **summary, "by_popularity": _by_popularity(scores, tag_labels, track_popularity, params)}
    shown = summary.get("interval", {})
    logger.info(
        "%s split: macro ROC-AUC %.4f %s, PR-AUC %.4f %s over %d tags and %d tracks",
        split,
        summary["roc_auc_macro"],
        _bracket(shown.get("roc_auc")),
        summary["pr_auc_macro"],
        _bracket(shown.get("pr_auc")),
        summary["n_tags_scored"],
        summary["n_tracks_scored"],
    )
    return summary, per_tag


def _by_popularity(scores: pd.DataFrame, labels: pd.DataFrame, popularity: pd.DataFrame, params: EvaluationParams):
    """One row per popularity bin: tracks, tracks and tags scored, ROC-AUC and PR-AUC with
    their interval (NaN where a bin has no tag with both classes)."""
    weights = split_weights(len(popularity), params.bootstrap)
    bins = popularity["bin"].astype("category")  # saved as categorical: empty bins keep their place
    rows = []
    for name in bins.cat.categories:
        in_bin = (bins == name).to_numpy()
        ids = popularity["track_id"][in_bin].reset_index(drop=True)
        summary, _ = evaluate(
            scores, labels, ids, None if weights is None else weights[in_bin], params.bootstrap.confidence
        )
        shown = summary.get("interval") or {}
        scored = bool(summary["n_tags_scored"])
        rows.append(
            {
                "bin": str(name),
                "tracks": int(len(ids)),
                "tracks_scored": summary["n_tracks_scored"],
                "tags_scored": summary["n_tags_scored"],
                **{
                    f"{m}{end}": (value if scored else np.nan)
                    for m in ("roc_auc", "pr_auc")
                    for end, value in (
                        ("", summary[f"{m}_macro"]),
                        ("_low", (shown.get(m) or [np.nan, np.nan])[0]),
                        ("_high", (shown.get(m) or [np.nan, np.nan])[1]),
                    )
                },
            }
        )
    return rows


def _bracket(bounds) -> str:
    return f"[{bounds[0]:.4f}, {bounds[1]:.4f}]" if bounds else ""
