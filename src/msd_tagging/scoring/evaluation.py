"""Every metric of the project: tag-wise ROC-AUC and PR-AUC with their macro averages for
any scorer, the vectorised selection criterion learned fusion uses, and popularity bins.

Named steps, in the spirit of ``mir_eval.evaluate()``: align scores with labels, score
each tag, average the tags that can be scored. A tag without a positive or without a
negative in the split has no ROC-AUC; it is listed with its reason and left out of the
averages, so an average is never NaN.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.config import choice
from msd_tagging.errors import MSDDataError
from msd_tagging.scoring.scores import tag_columns

logger = logging.getLogger(__name__)

SPLITS = ("train", "valid", "test")

LABEL_FIX = (
    "a tag is positive when its Last.fm weight is above ingestion.tag_threshold (weights run "
    "0-100; 50 by default, as Choi et al.). Check that threshold and that the tag weights are "
    "numbers; ingestion_report.json lists the positives per tag and split."
)


def check_split(split: object, parameter: str) -> str:
    """``split`` if it names a split (``train``, ``valid``, ``test``); else an error naming
    the parameter."""
    return choice(split, parameter, SPLITS)


def require_positives(labels: np.ndarray, tags: list[str], split: str, *, detail: str = "") -> None:
    """Stop when no tag has a positive among ``labels`` ``[n_tracks, n_tags]``; warn, naming
    them, when some tags have none (they cannot be learned or scored)."""
    missing = [tag for tag, n in zip(tags, np.asarray(labels).sum(axis=0), strict=True) if n == 0]
    if len(missing) == len(tags):
        raise MSDDataError(
            f"no tag has a positive track in the {split} split ({len(labels)} tracks; tags without "
            f"positives: {_some(missing)}). {detail}".rstrip(),
            fix=LABEL_FIX,
        )
    if missing:
        logger.warning(
            "%d of %d tags have no positive track in the %s split: %s.",
            len(missing),
            len(tags),
            split,
            _some(missing, 50),
        )


def _some(items: list[str], limit: int = 10) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def align(
    scores: pd.DataFrame, labels: pd.DataFrame, track_ids: pd.Series
) -> tuple[np.ndarray, np.ndarray, list[str], int]:
    """Rows of ``track_ids`` that have scores, as ``(y_true, y_score, tags, n_missing)``.

    Both frames hold ``track_id`` then one column per tag; the tag columns of ``labels``
    set the order.
    """
    tags = tag_columns(labels)
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


def require_scored(summary: dict, what: str) -> None:
    """Stop when ``summary`` (of :func:`evaluate`) scored no tag, saying which tags lack
    positives (or negatives) and on how many tracks."""
    if summary["n_tags_scored"]:
        return
    excluded = summary["excluded_tags"]
    no_positive = [t for t, why in excluded.items() if why == "no positive"]
    no_negative = [t for t, why in excluded.items() if why == "no negative"]
    parts = []
    if no_positive:
        parts.append(f"{len(no_positive)} tags have no positive track ({_some(no_positive)})")
    if no_negative:
        parts.append(f"{len(no_negative)} have no negative ({_some(no_negative)})")
    raise MSDDataError(
        f"no tag can be scored on {what} ({summary['n_tracks_scored']} tracks with scores): " + "; ".join(parts) + ".",
        fix=LABEL_FIX,
    )


def format_score(value: float | None) -> str:
    """A macro score for a log line: 4 decimals, or ``n/a`` when no tag could be scored."""
    return "n/a" if value is None else f"{value:.4f}"


# --- selection criteria and bins ------------------------------------------------------


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


def popularity_bins(plays_per_track: pd.Series, edges: list[float]) -> pd.Series:
    """Label each track by its play count: ``edges`` ``[0, 1, 10]`` give bins ``0``, ``1–9``, ``≥10``."""
    edges = sorted(edges)
    if edges[0] != 0:
        raise ValueError(f"popularity edges must start at 0 (the cold bin), got {edges}")
    names = []
    for low, high in zip(edges, edges[1:] + [np.inf], strict=True):
        if high == np.inf:
            names.append(f"≥{low:g}")
        elif high - low == 1:
            names.append(f"{low:g}")
        else:
            names.append(f"{low:g}–{high - 1:g}")
    index = np.searchsorted(np.asarray(edges), plays_per_track.to_numpy(), side="right") - 1
    return pd.Series(pd.Categorical.from_codes(index, names, ordered=True), index=plays_per_track.index)
