"""The score-table convention, and fusion.

A score table is a DataFrame with ``track_id`` then one float column per tag, in the
vocabulary's order; a track without a score (a cold track for a listening scorer) has no
row. Every scorer writes one and every metric reads one. Fusion mixes two tables:
``(1 - w) · audio + w · listening`` per tag, the paper's hybrid being ``w = 0.5``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msd_tagging.core.metrics import ranking_quality

TRACK_ID = "track_id"


def tag_columns(frame: pd.DataFrame) -> list[str]:
    """The tag columns of a score or label table (every column but ``track_id``), in order."""
    return [c for c in frame.columns if c != TRACK_ID]


def score_table(track_ids, matrix: np.ndarray, tags: list[str]) -> pd.DataFrame:
    """A score table from ``matrix`` ``[len(track_ids), len(tags)]``."""
    table = pd.DataFrame(matrix, columns=list(tags))
    table.insert(0, TRACK_ID, np.asarray(track_ids))
    return table


def fuse(audio: pd.DataFrame, listening: pd.DataFrame, weight: float | np.ndarray) -> pd.DataFrame:
    """``(1 - w) · audio + w · listening`` per tag; a track without a listening score keeps
    its audio score.

    Args:
        audio, listening: score tables with the same tags.
        weight: one weight for every tag (a float: the scores keep their float32), or one
            per tag ``[n_tags]`` in the tables' tag order.
    """
    tags = tag_columns(audio)
    left = audio.set_index(TRACK_ID)[tags]
    right = listening.set_index(TRACK_ID)[tags].reindex(left.index)
    mixed = left * (1.0 - weight) + right * weight
    return mixed.where(right.notna(), left).reset_index()


def fit_fusion_weights(
    audio: np.ndarray,
    listening: np.ndarray,
    labels: np.ndarray,
    *,
    per_tag: bool,
    grid_step: float = 0.05,
    shrinkage: float = 10.0,
) -> tuple[float, np.ndarray]:
    """Weights ``w`` of ``(1 - w) · audio + w · listening``, fitted on the tracks given
    (the validation split; never the test split).

    The global ``w`` maximises the macro (ROC-AUC + PR-AUC) / 2 over a grid. Per tag, each
    tag's best grid ``w`` is shrunk toward the global one by its positive count ``p``:
    ``(p · w_tag + shrinkage · w_global) / (p + shrinkage)``, because a tag with three
    validation positives cannot choose a weight on its own.

    Args:
        audio, listening, labels: ``[n_tracks, n_tags]`` (tracks with both scores).

    Returns:
        ``(global weight, per-tag weights [n_tags])`` (all equal to the global without
        ``per_tag``).
    """

    if not (audio.shape == listening.shape == labels.shape):
        raise ValueError(f"audio {audio.shape}, listening {listening.shape}, labels {labels.shape} differ in shape")
    grid = np.round(np.arange(0.0, 1.0 + 1e-9, grid_step), 6)
    # quality[g, t]: tag t's (ROC-AUC + PR-AUC) / 2 at weight grid[g]; NaN for one-class tags.
    quality = np.column_stack(
        [
            np.atleast_1d(
                ranking_quality(labels[:, t], (1 - grid[:, None]) * audio[:, t] + grid[:, None] * listening[:, t])
            )
            for t in range(labels.shape[1])
        ]
    )
    scorable = ~np.isnan(quality[0])
    if not scorable.any():
        raise ValueError("no tag has both a positive and a negative track to fit fusion weights on")
    w_global = float(grid[int(np.argmax(quality[:, scorable].mean(axis=1)))])
    weights = np.full(labels.shape[1], w_global)
    if per_tag:
        positives = labels.sum(axis=0).astype(float)
        own = grid[np.argmax(np.where(np.isnan(quality), -np.inf, quality), axis=0)]
        shrunk = (positives * own + shrinkage * w_global) / (positives + shrinkage)
        weights = np.where(scorable, shrunk, w_global)
    return w_global, weights
