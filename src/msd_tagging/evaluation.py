"""Tag-wise ROC-AUC and PR-AUC with their macro averages, for any scorer.

Named steps, in the spirit of ``mir_eval.evaluate()``: align scores with labels, score
each tag, average the tags that can be scored. A tag without a positive or without a
negative in the split has no ROC-AUC; it is listed with its reason and left out of the
averages, so an average is never NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def align(scores: pd.DataFrame, labels: pd.DataFrame, track_ids: pd.Series) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Rows of ``track_ids`` that have scores, as ``(y_true, y_score, tags, n_missing)``.

    Both frames hold ``track_id`` then one column per tag; the tag columns of ``labels``
    set the order.
    """
    tags = [c for c in labels.columns if c != "track_id"]
    wanted = pd.Index(track_ids)
    scored = scores.set_index("track_id").reindex(wanted)
    have = scored[tags].notna().all(axis=1).to_numpy()
    truth = labels.set_index("track_id").reindex(wanted)[tags].to_numpy()[have]
    return truth.astype(np.int8), scored[tags].to_numpy(dtype=np.float64)[have], tags, int((~have).sum())


def per_tag_metrics(y_true: np.ndarray, y_score: np.ndarray, tags: list[str]) -> pd.DataFrame:
    """One row per tag: positives, negatives, ROC-AUC and PR-AUC (NaN where undefined)."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    rows = []
    for j, tag in enumerate(tags):
        positives = int(y_true[:, j].sum())
        negatives = int(len(y_true) - positives)
        scorable = positives > 0 and negatives > 0
        rows.append(
            {
                "tag": tag,
                "positives": positives,
                "negatives": negatives,
                "roc_auc": roc_auc_score(y_true[:, j], y_score[:, j]) if scorable else np.nan,
                "pr_auc": average_precision_score(y_true[:, j], y_score[:, j]) if scorable else np.nan,
            }
        )
    return pd.DataFrame(rows)


def macro_scores(per_tag: pd.DataFrame) -> dict:
    """Macro averages over the scorable tags, and the tags left out with why."""
    scorable = per_tag["positives"].gt(0) & per_tag["negatives"].gt(0)
    excluded = {
        row.tag: ("no positive" if row.positives == 0 else "no negative") for row in per_tag[~scorable].itertuples()
    }
    kept = per_tag[scorable]
    return {
        "roc_auc_macro": float(kept["roc_auc"].sum() / len(kept)) if len(kept) else None,
        "pr_auc_macro": float(kept["pr_auc"].sum() / len(kept)) if len(kept) else None,
        "n_tags_scored": int(len(kept)),
        "excluded_tags": excluded,
    }


def evaluate(scores: pd.DataFrame, labels: pd.DataFrame, track_ids: pd.Series) -> tuple[dict, pd.DataFrame]:
    """Evaluate a scorer on the given tracks.

    Returns:
        ``(summary, per_tag)``: the summary holds macro ROC-AUC and PR-AUC, how many tags
        and tracks were scored, the excluded tags and the tracks without scores.
    """
    y_true, y_score, tags, missing = align(scores, labels, track_ids)
    per_tag = per_tag_metrics(y_true, y_score, tags)
    summary = macro_scores(per_tag)
    summary.update(n_tracks_scored=int(len(y_true)), n_tracks_without_scores=missing)
    return summary, per_tag
