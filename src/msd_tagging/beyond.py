"""Beyond the paper: the further directions Ferraro et al. 2019 list, and learned fusion.

- A tag classifier on MF vectors, trained with the training tracks' tags (the paper's
  MF-centroids use no labels at all).
- Learned fusion: a weight between audio and listening probabilities, global or per tag,
  fitted on the validation split only.
- Popularity bins, to see where listening data helps and where audio must carry.
- Tag playlists: the tracks nearest a tag's centroid in MF space.

Pure functions on arrays; the Kedro nodes in ``msd_tagging.pipelines.beyond`` feed them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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


@dataclass
class TagClassifier:
    """Per-tag logistic regressions on standardised MF vectors.

    Attributes:
        mean, scale: standardisation of the vectors ``[d]`` (from the training tracks).
        coef: ``[n_tags, d]``; intercept: ``[n_tags]``.
        c: the inverse L2 strength chosen on validation.
        validation: the validation criterion per candidate ``c``.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: np.ndarray
    c: float
    validation: dict[float, float]

    def predict(self, vectors: np.ndarray) -> np.ndarray:
        """Tag probabilities ``[n, n_tags]``."""
        logits = ((vectors - self.mean) / self.scale) @ self.coef.T + self.intercept
        return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def fit_tag_classifier(
    train_vectors: np.ndarray,
    train_labels: np.ndarray,
    valid_vectors: np.ndarray,
    valid_labels: np.ndarray,
    cs: tuple[float, ...] = (0.001, 0.01, 0.1),
    *,
    seed: int = 0,
) -> TagClassifier:
    """Fit one logistic regression per tag for every ``c`` in ``cs``; keep the ``c`` whose
    macro validation quality is best. A tag with one class in training gets its base rate.
    """
    from sklearn.linear_model import LogisticRegression

    if len(train_vectors) != len(train_labels) or len(valid_vectors) != len(valid_labels):
        raise ValueError("vectors and labels differ in length")
    mean = train_vectors.mean(axis=0)
    scale = train_vectors.std(axis=0) + 1e-8
    z = (train_vectors - mean) / scale
    n_tags, d = train_labels.shape[1], train_vectors.shape[1]
    best: TagClassifier | None = None
    validation: dict[float, float] = {}
    for c in cs:
        coef = np.zeros((n_tags, d))
        intercept = np.zeros(n_tags)
        for t in range(n_tags):
            y = train_labels[:, t].astype(np.int8)
            if y.min() == y.max():
                rate = np.clip(y.mean(), 1e-6, 1 - 1e-6)
                intercept[t] = np.log(rate / (1 - rate))
                continue
            fit = LogisticRegression(C=c, max_iter=500, random_state=seed).fit(z, y)
            coef[t], intercept[t] = fit.coef_[0], fit.intercept_[0]
        candidate = TagClassifier(mean, scale, coef, intercept, float(c), validation)
        validation[float(c)] = macro_quality(valid_labels, candidate.predict(valid_vectors))
        if best is None or validation[float(c)] > validation[best.c]:
            best = candidate
    assert best is not None, "cs is empty"
    return best


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


def fuse(audio: pd.DataFrame, listening: pd.DataFrame, weights: np.ndarray) -> pd.DataFrame:
    """``(1 - w) · audio + w · listening`` per tag; a track without listening score keeps its audio.

    Both frames: ``track_id`` then one column per tag, in the same order as ``weights``.
    """
    tags = [c for c in audio.columns if c != "track_id"]
    left = audio.set_index("track_id")[tags]
    right = listening.set_index("track_id")[tags].reindex(left.index)
    mixed = left * (1.0 - weights) + right * weights
    return mixed.where(right.notna(), left).reset_index()


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


def nearest_to_centroids(vectors: np.ndarray, centroids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each centroid, the ``k`` rows of ``vectors`` with the highest cosine.

    Returns:
        ``(rows [n_centroids, k], cosines [n_centroids, k])``, best first.
    """
    unit = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    unit_c = centroids / np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    cosine = unit_c @ unit.T
    k = min(k, len(vectors))
    rows = np.argsort(-cosine, axis=1, kind="stable")[:, :k]
    return rows, np.take_along_axis(cosine, rows, axis=1)
