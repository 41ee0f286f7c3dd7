"""The shared evaluation node."""

from __future__ import annotations

import logging

import pandas as pd

from msd_tagging.params import EvaluationParams
from msd_tagging.scoring.evaluation import evaluate, require_scored

logger = logging.getLogger(__name__)


def evaluate_scorer(
    scores: pd.DataFrame, tag_labels: pd.DataFrame, tracks: pd.DataFrame, params: EvaluationParams
) -> tuple[dict, pd.DataFrame]:
    """Macro and per-tag ROC-AUC / PR-AUC of one scorer on ``evaluation.split``."""
    split = params.split
    summary, per_tag = evaluate(scores, tag_labels, tracks.loc[tracks["split"] == split, "track_id"])
    require_scored(summary, f"the {split} split")
    summary = {"split": split, **summary}
    logger.info(
        "%s split: macro ROC-AUC %.4f, PR-AUC %.4f over %d tags and %d tracks",
        split, summary["roc_auc_macro"], summary["pr_auc_macro"], summary["n_tags_scored"], summary["n_tracks_scored"],
    )  # fmt: skip
    return summary, per_tag
