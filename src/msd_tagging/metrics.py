"""Every metric of the project, on arrays: tag-wise ROC-AUC and PR-AUC with their macro
averages, and the vectorised selection criterion (ROC-AUC + PR-AUC) / 2 that learned
fusion and model selection use. A leaf module (numpy, pandas, scipy and scikit-learn
only): training, scoring and reporting all import it, and it imports none of them.

A tag without a positive or without a negative has no ROC-AUC; it is listed with its
reason and left out of the averages, so an average is never NaN.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


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


def format_score(value: float | None) -> str:
    """A macro score for a log line: 4 decimals, or ``n/a`` when no tag could be scored."""
    return "n/a" if value is None else f"{value:.4f}"


def ranking_quality(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """(ROC-AUC + PR-AUC) / 2 of one tag under each row of ``scores``, vectorised.

    Equal to scikit-learn's ``roc_auc_score`` and ``average_precision_score`` (ties
    included; a test checks it), which are too slow to call for every weight of a grid.

    Args:
        y: 0/1 labels ``[n]``; scores: ``[n]`` or ``[n_rows, n]``.

    Returns:
        ``[n_rows]`` (a scalar array for 1-D ``scores``); NaN when ``y`` has one class.
    """
    from scipy.stats import rankdata

    scores = np.atleast_2d(scores)
    y = np.asarray(y).astype(bool)
    positives, negatives = int(y.sum()), int((~y).sum())
    if positives == 0 or negatives == 0:
        return np.full(scores.shape[0], np.nan).squeeze()
    ranks = rankdata(scores, axis=1)  # average ranks for ties, as ROC-AUC's half credit
    roc = (ranks[:, y].sum(axis=1) - positives * (positives + 1) / 2) / (positives * negatives)
    order = np.argsort(-scores, axis=1, kind="stable")
    ordered = np.take_along_axis(scores, order, axis=1)
    hits = np.cumsum(y[order], axis=1)
    ap = np.empty(scores.shape[0])
    for r in range(scores.shape[0]):
        # One point per distinct threshold: the last index of each run of equal scores.
        last = np.flatnonzero(np.append(np.diff(ordered[r]) != 0, True))
        tp = hits[r, last]
        recall = tp / positives
        ap[r] = np.sum(np.diff(recall, prepend=0.0) * tp / (last + 1))
    return (0.5 * (roc + ap)).squeeze()


def _ranking_quality(y: np.ndarray, score: np.ndarray) -> float:
    """Mean of ROC-AUC and PR-AUC of one tag; NaN when ``y`` has one class."""
    return float(ranking_quality(y, score))


def macro_quality(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean over tags with both classes of (ROC-AUC + PR-AUC) / 2: the selection criterion."""
    values = [_ranking_quality(labels[:, t], scores[:, t]) for t in range(labels.shape[1])]
    values = [v for v in values if not np.isnan(v)]
    if not values:
        raise ValueError("no tag has both a positive and a negative track to select on")
    return float(np.mean(values))
