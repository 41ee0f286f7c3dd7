"""The shared evaluation node."""

from __future__ import annotations

import logging

import pandas as pd

from msd_tagging.params import EvaluationParams
from msd_tagging.scoring.evaluation import evaluate, require_scored, split_weights

logger = logging.getLogger(__name__)


def evaluate_scorer(
    scores: pd.DataFrame, tag_labels: pd.DataFrame, tracks: pd.DataFrame, params: EvaluationParams
) -> tuple[dict, pd.DataFrame]:
    """Macro and per-tag ROC-AUC / PR-AUC of one scorer on ``evaluation.split``, with the
    paired bootstrap over the split's tracks (``evaluation.bootstrap``; the same resamples
    for every scorer)."""
    split = params.split
    ids = tracks.loc[tracks["split"] == split, "track_id"]
    weights = split_weights(len(ids), params.bootstrap)
    summary, per_tag = evaluate(scores, tag_labels, ids, weights, params.bootstrap.confidence)
    require_scored(summary, f"the {split} split")
    summary = {"split": split, **summary}
    shown = summary.get("interval", {})
    logger.info(
        "%s split: macro ROC-AUC %.4f %s, PR-AUC %.4f %s over %d tags and %d tracks",
        split, summary["roc_auc_macro"], _bracket(shown.get("roc_auc")), summary["pr_auc_macro"],
        _bracket(shown.get("pr_auc")), summary["n_tags_scored"], summary["n_tracks_scored"],
    )  # fmt: skip
    return summary, per_tag


def _bracket(bounds) -> str:
    return f"[{bounds[0]:.4f}, {bounds[1]:.4f}]" if bounds else ""
