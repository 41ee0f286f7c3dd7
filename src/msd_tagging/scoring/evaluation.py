"""Evaluating a scorer's score table on a split: align the scores with the labels, then
the metrics of :mod:`msd_tagging.core.metrics`; and the popularity bins of the cold-start
analysis.

Named steps, in the spirit of ``mir_eval.evaluate()``: align scores with labels, score
each tag, average the tags that can be scored. A tag without a positive or without a
negative in the split has no ROC-AUC; it is listed with its reason and left out of the
averages, so an average is never NaN.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.metrics import bootstrap_macro, bootstrap_weights, interval, macro_scores, per_tag_metrics
from msd_tagging.scoring.scores import tag_columns

logger = logging.getLogger(__name__)


LABEL_FIX = (
    "a tag is positive when its Last.fm weight is above ingestion.tag_threshold (weights run "
    "0-100; 50 by default, as Choi et al.). Check that threshold and that the tag weights are "
    "numbers; ingestion_report.json lists the positives per tag and split."
)


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
) -> tuple[np.ndarray, np.ndarray, list[str], np.ndarray]:
    """Rows of ``track_ids`` that have scores, as ``(y_true, y_score, tags, scored)``;
    ``scored`` marks which of ``track_ids`` they are.

    Both frames hold ``track_id`` then one column per tag; the tag columns of ``labels``
    set the order.
    """
    tags = tag_columns(labels)
    wanted = pd.Index(track_ids)
    scored = scores.set_index("track_id").reindex(wanted)
    have = scored[tags].notna().all(axis=1).to_numpy()
    truth = labels.set_index("track_id").reindex(wanted)[tags].to_numpy()[have]
    return truth.astype(np.int8), scored[tags].to_numpy(dtype=np.float64)[have], tags, have


def evaluate(
    scores: pd.DataFrame,
    labels: pd.DataFrame,
    track_ids: pd.Series,
    weights: np.ndarray | None = None,
    confidence: float = 0.95,
) -> tuple[dict, pd.DataFrame]:
    """Evaluate a scorer on the given tracks.

    Args:
        weights: bootstrap resamples of ``track_ids`` (:func:`~msd_tagging.core.metrics.bootstrap_weights`,
            one row per track): when given, the summary carries each resample's macro
            scores and their percentile interval. The same weights for every scorer pair
            them: a scorer's tracks without scores are left out of its resamples.

    Returns:
        ``(summary, per_tag)``: the summary holds macro ROC-AUC and PR-AUC, how many tags
        and tracks were scored, the excluded tags, the tracks without scores, and with
        ``weights`` the bootstrap (``bootstrap``: per resample; ``interval``).
    """
    y_true, y_score, tags, have = align(scores, labels, track_ids)
    per_tag = per_tag_metrics(y_true, y_score, tags)
    summary = macro_scores(per_tag)
    summary.update(n_tracks_scored=int(len(y_true)), n_tracks_without_scores=int((~have).sum()))
    if weights is not None and weights.shape[1] and len(y_true):
        kept = (per_tag["positives"].gt(0) & per_tag["negatives"].gt(0)).to_numpy()
        point = (per_tag["roc_auc"].to_numpy(), per_tag["pr_auc"].to_numpy())
        roc, ap = bootstrap_macro(y_true, y_score, weights[have], tags_kept=kept, point=point)
        summary["bootstrap"] = {"roc_auc": np.round(roc, 6).tolist(), "pr_auc": np.round(ap, 6).tolist()}
        summary["interval"] = {
            "confidence": confidence,
            "samples": int(weights.shape[1]),
            "roc_auc": list(interval(roc, confidence, centre=summary["roc_auc_macro"])),
            "pr_auc": list(interval(ap, confidence, centre=summary["pr_auc_macro"])),
        }
    return summary, per_tag


def split_weights(n: int, bootstrap) -> np.ndarray | None:
    """The bootstrap resamples of a split's ``n`` tracks, in the tracks table's order, from
    ``evaluation.bootstrap`` (``None`` with ``samples: 0``). Every scorer, bin and tag
    evaluated on that split draws the same ones: that pairs them."""
    if not bootstrap.samples:
        return None
    return bootstrap_weights(n, bootstrap.samples, bootstrap.seed)


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


# --- bins -----------------------------------------------------------------------------


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
