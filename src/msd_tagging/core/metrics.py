"""Every metric of the project, on arrays: tag-wise ROC-AUC and PR-AUC with their macro
averages, and the vectorised selection criterion (ROC-AUC + PR-AUC) / 2 that learned
fusion and model selection use. A leaf module (numpy, pandas, scipy and scikit-learn
only): training, scoring and reporting all import it, and it imports none of them.

A tag without a positive or without a negative has no ROC-AUC; it is listed with its
reason and left out of the averages, so an average is never NaN.
"""

from __future__ import annotations

import warnings

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


# --- the paired bootstrap --------------------------------------------------------------


def bootstrap_weights(n: int, samples: int, seed: int) -> np.ndarray:
    """How often each of ``n`` items is drawn in each of ``samples`` bootstrap resamples
    (with replacement, ``n`` draws each), uint8 ``[n, samples]`` (an item is drawn more than
    255 times in no resample of more than a handful of items), seeded.

    A resample is its multiplicities: every metric below weighs item ``i`` by them, which
    equals computing it on the resampled list. Two scorers evaluated with the same weights
    over the same items are paired: their difference per resample is the bootstrap
    distribution of their gain. Items run down the rows, so a subset of items (the tracks a
    scorer scores, a popularity bin) is a subset of rows.
    """
    rng = np.random.default_rng(seed)
    weights = np.empty((samples, n), dtype=np.uint8)
    for b in range(samples):
        weights[b] = np.minimum(np.bincount(rng.integers(0, n, size=n), minlength=n), 255)
    return np.ascontiguousarray(weights.T)


def weighted_ranking_metrics(y: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One tag's ROC-AUC and PR-AUC (average precision) under each column of ``weights``,
    without a Python loop over the columns.

    The items are sorted by score once. Per resample, the weighted counts (all items, and
    positives) before and through each run of equal scores that holds a positive give
    both metrics: ROC-AUC as the weighted share of (positive, negative) pairs
    ranked right, ties counting half (scikit-learn's ``roc_auc_score``), and average
    precision as the precision at each recall step (its ``average_precision_score``). With
    all weights 1 both equal scikit-learn's (a test checks it).

    Args:
        y: 0/1 labels ``[n]``; scores: ``[n]``; weights: ``[n, resamples]``.

    Returns:
        ``(roc_auc [resamples], pr_auc [resamples])``; NaN in a resample with no positive
        or no negative.
    """
    y = np.asarray(y).astype(bool)
    scores = np.asarray(scores)
    n, resamples = weights.shape
    order = np.argsort(-scores, kind="stable")
    ordered, positive = scores[order], y[order]
    if not positive.any():
        return np.full(resamples, np.nan), np.full(resamples, np.nan)
    new_run = np.append(True, np.diff(ordered) != 0)
    run_of = np.cumsum(new_run) - 1  # run index of each sorted item
    run_start = np.flatnonzero(new_run)
    run_end = np.append(run_start[1:], n)  # one past the last item of each run
    runs = np.unique(run_of[positive])  # runs holding a positive
    # Weighted counts up to each positive run's start and end, from sums over the segments
    # between those cut points (every item read once; no [n, resamples] cumulative sum).
    cuts = np.unique(np.concatenate(([0], run_start[runs], run_end[runs])))
    cuts = cuts[cuts < n]
    segment_sums = np.add.reduceat(weights[order], cuts, axis=0, dtype=np.float64)  # [segments, resamples]
    prefix = np.vstack([np.zeros((1, resamples)), np.cumsum(segment_sums, axis=0)])  # counts before each cut
    before = dict(zip(cuts.tolist(), range(len(cuts)), strict=True))
    before[n] = len(cuts)
    seen_start = prefix[[before[i] for i in run_start[runs]]]
    seen_end = prefix[[before[i] for i in run_end[runs]]]
    # Positives' own weights, summed per run.
    pos_weights = weights[order[positive]].astype(np.float64)  # [positives, resamples]
    pos_run = run_of[positive]
    first_of_run = np.append(True, pos_run[1:] != pos_run[:-1])
    d_tp = np.add.reduceat(pos_weights, np.flatnonzero(first_of_run), axis=0)  # [runs, resamples]
    tp_end = np.cumsum(d_tp, axis=0)
    positives = tp_end[-1]
    negatives = prefix[-1] - positives
    d_fp = (seen_end - seen_start) - d_tp
    fp_end = seen_end - tp_end
    with np.errstate(divide="ignore", invalid="ignore"):
        roc = (d_tp * (negatives - fp_end + 0.5 * d_fp)).sum(axis=0) / (positives * negatives)
        ap = (d_tp * tp_end / np.where(seen_end > 0, seen_end, 1.0)).sum(axis=0) / positives
    undefined = (positives == 0) | (negatives == 0)
    roc[undefined], ap[undefined] = np.nan, np.nan
    return roc, ap


def bootstrap_macro(
    y_true: np.ndarray,
    y_score: np.ndarray,
    weights: np.ndarray,
    tags_kept: np.ndarray | None = None,
    point: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Macro ROC-AUC and PR-AUC under each bootstrap resample (a column of ``weights``
    ``[n, resamples]``), ``[resamples]`` each.

    Per resample, the mean over the tags ``tags_kept`` (the point estimate's). A rare tag
    may draw no positive in a resample: with ``point`` (per-tag ROC-AUC and PR-AUC
    ``[n_tags]``) it counts there with its point value, so every resample averages the
    same tags as the point estimate; without, it is left out of that resample's mean,
    which leans the resamples toward the tags that are easier to draw (on a few dozen
    tracks, enough to put the point outside its interval).
    """
    tags = range(y_true.shape[1]) if tags_kept is None else np.flatnonzero(tags_kept)
    roc = np.full((weights.shape[1], y_true.shape[1]), np.nan)
    ap = np.full_like(roc, np.nan)
    for t in tags:
        roc[:, t], ap[:, t] = weighted_ranking_metrics(y_true[:, t], y_score[:, t], weights)
        if point is not None:
            roc[np.isnan(roc[:, t]), t] = point[0][t]
            ap[np.isnan(ap[:, t]), t] = point[1][t]
    with warnings.catch_warnings():  # a resample in which no tag can be scored stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(roc, axis=1), np.nanmean(ap, axis=1)


def interval(samples: np.ndarray, confidence: float = 0.95, centre: float | None = None) -> tuple[float, float]:
    """The percentile interval of bootstrap ``samples`` (NaNs left out).

    With ``centre`` (the point estimate) the interval is shifted so that the resamples'
    median sits on it: ``[centre - (median - low), centre + (high - median)]``. That
    removes the bootstrap's median bias, which for average precision on a few dozen tracks
    runs high (a drawn-twice positive ranks beside itself) and can put the estimate outside
    its plain percentile interval; on thousands of tracks the shift is negligible.
    """
    kept = np.asarray(samples, dtype=float)
    kept = kept[np.isfinite(kept)]
    if not len(kept):
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, median, high = np.percentile(kept, [tail, 50, 100 - tail])
    if centre is not None and np.isfinite(centre):
        low, high = low + (centre - median), high + (centre - median)
    return float(low), float(high)
