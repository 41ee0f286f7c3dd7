"""Tag centroids in the MF space, and what is measured against them.

Ferraro et al. 2019: for each tag, average the MF vectors of the training tracks the audio
tagger scores highest into a centroid; a track's cosine to it is its MF-centroid score,
mapped to a probability by a calibration. Beyond the paper: dense cores (outliers dropped
before averaging) and the tracks nearest a centroid (tag playlists).
"""

from __future__ import annotations

import numpy as np

CALIBRATIONS = ("platt", "audio_quantiles", "cosine")
MAX_DROP_FRACTION = 0.95  # of a tag's top_n tracks dropped as outliers: at least 5 % stay


def unit(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (a zero row stays zero)."""
    return vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)


def tag_centroids(
    train_vectors: np.ndarray, audio_train: np.ndarray, top_n: int, *, drop_fraction: float = 0.0
) -> np.ndarray:
    """Per tag, the mean MF vector of the ``top_n`` training tracks the audio tagger scores highest.

    Args:
        train_vectors: MF vectors of the training tracks ``[n_train, d]``.
        audio_train: their audio tag probabilities ``[n_train, n_tags]``.
        top_n: training tracks per tag whose vectors make its centroid.
        drop_fraction: outlier removal, beyond the paper. Of a tag's ``top_n`` tracks, drop
            this share whose direction is farthest (lowest cosine) from their mean
            direction, then average the rest: the tag's dense core. 0 keeps all.

    Returns:
        ``[n_tags, d]``.
    """
    if not 0.0 <= drop_fraction <= MAX_DROP_FRACTION:
        raise ValueError(f"drop_fraction must be in [0, {MAX_DROP_FRACTION}], got {drop_fraction}")
    top_n = min(top_n, len(train_vectors))
    top = np.argpartition(-audio_train, top_n - 1, axis=0)[:top_n]  # [top_n, n_tags]
    members = train_vectors[top]  # [top_n, n_tags, d]
    if drop_fraction:
        keep = top_n - int(np.floor(drop_fraction * top_n))
        unit_members = unit(members)
        closeness = np.einsum("ntd,td->nt", unit_members, unit_members.mean(axis=0))
        core = np.argsort(-closeness, axis=0, kind="stable")[:keep]  # [keep, n_tags]
        members = np.take_along_axis(members, core[:, :, None], axis=0)
    return members.mean(axis=0)


def centroid_scores(
    vectors: np.ndarray, train_rows: np.ndarray, audio_train: np.ndarray, top_n: int, *, drop_fraction: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """MF-centroid tag scores: each track's cosine to each :func:`tag_centroids` centroid.

    Args:
        vectors: MF vectors of the tracks to score ``[n_tracks, d]`` (no cold tracks).
        train_rows: rows of ``vectors`` that are training tracks.
        audio_train: audio tag probabilities of those training tracks ``[len(train_rows), n_tags]``.
        top_n, drop_fraction: as :func:`tag_centroids`.

    Returns:
        ``(scores, centroids)``: cosine similarity mapped to [0, 1] as ``(1 + cos) / 2``,
        ``[n_tracks, n_tags]``; and the centroids ``[n_tags, d]``.
    """
    centroids = tag_centroids(vectors[train_rows], audio_train, top_n, drop_fraction=drop_fraction)
    cosine = unit(vectors) @ unit(centroids).T
    return ((1.0 + cosine) / 2.0).astype(np.float32), centroids


def quantile_calibrate(scores: np.ndarray, reference: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Map each tag's scores onto the distribution of ``target``, by rank among ``reference``.

    A cosine of 0.3 means little next to an audio probability of 0.3, so each MF-centroid
    score is replaced by the audio tagger's probability at the same quantile: its rank
    among the training tracks' MF scores (``reference``) picks the quantile of the
    training tracks' audio probabilities (``target``). Training data only; monotone per
    tag, so each tag's ranking (ROC-AUC) is unchanged.

    Args:
        scores: ``[n, n_tags]`` to map; reference: ``[m, n_tags]``; target: ``[k, n_tags]``.
    """
    out = np.empty_like(scores, dtype=np.float32)
    for t in range(scores.shape[1]):
        quantile = np.searchsorted(np.sort(reference[:, t]), scores[:, t], side="right") / len(reference)
        out[:, t] = np.quantile(target[:, t], np.clip(quantile, 0.0, 1.0))
    return out


def platt_calibrate(
    scores: np.ndarray, reference: np.ndarray, labels: np.ndarray, *, c: float = 1.0
) -> tuple[np.ndarray, dict[int, str]]:
    """Map each tag's scores to probabilities with a logistic fit on labelled tracks.

    Per tag, ``P(tag | score) = sigmoid(a · z + b)`` with ``z`` the score standardised
    by the reference tracks' mean and spread, fitted (L2 strength ``1 / c``) on the
    reference tracks' scores and labels. A weak scorer's probabilities stay near the
    tag's base rate, so in the hybrid's mean it moves the audio tagger's probabilities
    only as far as its evidence goes. Increasing per tag, so each tag's ranking is
    unchanged, unless the fit finds no positive slope: then the scores carry no usable
    evidence for that tag, and it gets its base rate (a constant, ROC-AUC 0.5).

    Args:
        scores: ``[n, n_tags]`` to map.
        reference: ``[m, n_tags]`` scores of labelled tracks.
        labels: ``[m, n_tags]`` 0/1 labels of the same tracks.
        c: inverse regularisation strength of the logistic fit.

    Returns:
        ``(probabilities [n, n_tags], base_rate_tags)``: the tags (column indices) given
        their reference base rate, a constant, with the reason: ``"one class"`` (the
        reference has no positive or no negative) or ``"no positive slope"``.
    """
    from sklearn.linear_model import LogisticRegression

    if reference.shape != labels.shape:
        raise ValueError(f"reference scores {reference.shape} and labels {labels.shape} differ in shape")
    out = np.empty(scores.shape, dtype=np.float32)
    base_rate: dict[int, str] = {}
    for t in range(scores.shape[1]):
        y = labels[:, t].astype(np.int8)
        if y.min() == y.max():
            out[:, t] = y.mean()
            base_rate[t] = "one class"
            continue
        mean, spread = reference[:, t].mean(), reference[:, t].std() + 1e-12
        fit = LogisticRegression(C=c).fit(((reference[:, t] - mean) / spread)[:, None], y)
        slope = float(fit.coef_[0, 0])
        if slope <= 0:
            out[:, t] = y.mean()
            base_rate[t] = "no positive slope"
            continue
        logit = slope * (scores[:, t] - mean) / spread + float(fit.intercept_[0])
        out[:, t] = 1.0 / (1.0 + np.exp(-logit))
    return out, base_rate


def nearest_to_centroids(vectors: np.ndarray, centroids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """For each centroid, the ``k`` rows of ``vectors`` with the highest cosine.

    Returns:
        ``(rows [n_centroids, k], cosines [n_centroids, k])``, best first.
    """
    cosine = unit(centroids) @ unit(vectors).T
    k = min(k, len(vectors))
    rows = np.argsort(-cosine, axis=1, kind="stable")[:, :k]
    return rows, np.take_along_axis(cosine, rows, axis=1)


def nearest_neighbours(
    unit_vectors: np.ndarray, k: int, rows: np.ndarray | None = None, *, memory_bytes: int = 1 << 30
) -> np.ndarray:
    """The ``k`` nearest other rows (cosine) of each of ``rows`` (default: all), in blocks.

    The dense ``n × n`` similarity of 242k tracks would take 218 GiB; here each block of
    rows costs about 12 bytes per (row, track) pair (float32 similarities and argpartition's
    int64 indices), and blocks are sized to ``memory_bytes``. Within a row the result is
    the dense computation's.

    Args:
        unit_vectors: unit-length vectors ``[n, d]``.
        rows: the rows whose neighbours are wanted.

    Returns:
        ``[len(rows), k]`` row indices, in no particular order within a row.
    """
    n = len(unit_vectors)
    rows = np.arange(n) if rows is None else np.asarray(rows)
    k = min(k, n - 1)
    block = max(1, int(memory_bytes // (12 * max(n, 1))))
    out = np.empty((len(rows), k), dtype=np.int64)
    for start in range(0, len(rows), block):
        chosen = rows[start : start + block]
        similarity = unit_vectors[chosen] @ unit_vectors.T  # [block, n]
        similarity[np.arange(len(chosen)), chosen] = -np.inf  # not one's own neighbour
        np.negative(similarity, out=similarity)
        out[start : start + len(chosen)] = np.argpartition(similarity, k, axis=1)[:, :k]
    return out
