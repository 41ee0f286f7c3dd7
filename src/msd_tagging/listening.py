"""The listening side: matrix factorisation of plays, MF-centroids, and the hybrid.

Ferraro et al. 2019: factorise the user–track play matrix with a ranking loss, so every
played track gets a vector; for each tag, average the vectors of the training tracks the
audio tagger scores highest into a tag centroid; the cosine of a track to a centroid is
its MF-centroid tag score; the hybrid is the mean of the audio and MF-centroid scores.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from msd_tagging.config import block, choice, integer, number, require

logger = logging.getLogger(__name__)

WEIGHTINGS = ("binary", "log1p", "raw")


@dataclass(frozen=True)
class BPRConfig:
    """implicit's BayesianPersonalizedRanking settings (``parameters_listening.yml``)."""

    factors: int = 200
    learning_rate: float = 0.05
    regularization: float = 0.01
    iterations: int = 300
    seed: int = 0
    num_threads: int = 0  # 0: all cores
    use_gpu: bool = False  # implicit's CUDA path, when it was built with CUDA

    def __post_init__(self):
        name = "listening.bpr"
        integer(self.factors, f"{name}.factors", minimum=1)
        number(self.learning_rate, f"{name}.learning_rate", above=0.0)
        number(self.regularization, f"{name}.regularization", minimum=0.0)
        integer(self.iterations, f"{name}.iterations", minimum=1)
        integer(self.seed, f"{name}.seed", minimum=0)
        integer(self.num_threads, f"{name}.num_threads", minimum=0)


CALIBRATIONS = ("platt", "audio_quantiles", "cosine")


def factorisation_config(params: dict) -> BPRConfig:
    """Check the factorisation settings of the ``listening`` block; return its :class:`BPRConfig`."""
    require(params, "listening", "weighting", "bpr")
    choice(params["weighting"], "listening.weighting", WEIGHTINGS)
    return block(params["bpr"], "listening.bpr", BPRConfig)


def check_centroid_params(params: dict) -> None:
    """Check the MF-centroid settings of the ``listening`` block."""
    require(params, "listening", "use_bias", "drop_fraction", "top_n", "calibration", "platt_c")
    integer(params["top_n"], "listening.top_n", minimum=1)
    number(params["drop_fraction"], "listening.drop_fraction", minimum=0.0, maximum=0.95)
    choice(params["calibration"], "listening.calibration", CALIBRATIONS)
    number(params["platt_c"], "listening.platt_c", above=0.0)


def play_matrix(plays: pd.DataFrame, n_users: int, n_tracks: int, weighting: str = "log1p") -> sp.csr_matrix:
    """Users × tracks CSR of play counts, weighted.

    Args:
        plays: ``user_idx, track_idx, play_count`` (indices from the ID maps).
        weighting: ``binary`` (1 per pair), ``log1p`` (log(1 + count)) or ``raw``.

    Returns:
        float32 CSR ``[shape=(n_users, n_tracks)]``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; use one of {WEIGHTINGS}")
    counts = plays["play_count"].to_numpy(dtype=np.float32)
    values = {"binary": np.ones_like(counts), "log1p": np.log1p(counts), "raw": counts}[weighting]
    return sp.csr_matrix(
        (values, (plays["user_idx"].to_numpy(), plays["track_idx"].to_numpy())),
        shape=(n_users, n_tracks),
        dtype=np.float32,
    )


def factorise(matrix: sp.csr_matrix, config: BPRConfig, *, progress: bool | None = None) -> np.ndarray:
    """Item factors of a BPR factorisation of ``matrix`` (users × items).

    Returns:
        float32 ``[shape=(n_items, factors + 1)]``; the last column is implicit's item bias.
    """
    import implicit

    if config.use_gpu and implicit.gpu.HAS_CUDA:
        from implicit.gpu.bpr import BayesianPersonalizedRanking
    else:
        from implicit.cpu.bpr import BayesianPersonalizedRanking
    model = BayesianPersonalizedRanking(
        factors=config.factors,
        learning_rate=config.learning_rate,
        regularization=config.regularization,
        iterations=config.iterations,
        num_threads=config.num_threads,
        random_state=config.seed,
    )
    if progress is None:  # a bar in a terminal, nothing in CI logs
        import sys

        progress = sys.stderr.isatty()
    model.fit(matrix, show_progress=progress)
    factors = model.item_factors
    if hasattr(factors, "to_numpy"):  # GPU matrix
        factors = factors.to_numpy()
    return np.asarray(factors, dtype=np.float32)


def warm_vectors(
    track_vectors: pd.DataFrame, track_ids=None, *, use_bias: bool = False
) -> tuple[pd.DataFrame, np.ndarray]:
    """The tracks that have an MF vector (not cold), optionally only ``track_ids``.

    Returns:
        Their rows of ``track_vectors`` (index reset) and their vectors, float32
        ``[n, factors]`` (``+ 1`` with implicit's bias column when ``use_bias``).
    """
    keep = ~track_vectors["cold"]
    if track_ids is not None:
        keep &= track_vectors["track_id"].isin(track_ids)
    warm = track_vectors[keep].reset_index(drop=True)
    columns = [c for c in track_vectors.columns if c.startswith("f")] + (["bias"] if use_bias else [])
    return warm, warm[columns].to_numpy(dtype=np.float32)


def _unit(vectors: np.ndarray) -> np.ndarray:
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
    if not 0.0 <= drop_fraction < 1.0:
        raise ValueError(f"drop_fraction must be in [0, 1), got {drop_fraction}")
    top_n = min(top_n, len(train_vectors))
    top = np.argpartition(-audio_train, top_n - 1, axis=0)[:top_n]  # [top_n, n_tags]
    members = train_vectors[top]  # [top_n, n_tags, d]
    if drop_fraction:
        keep = top_n - int(np.floor(drop_fraction * top_n))
        unit_members = _unit(members)
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
    cosine = _unit(vectors) @ _unit(centroids).T
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


def hybrid_scores(audio: pd.DataFrame, mf: pd.DataFrame) -> pd.DataFrame:
    """Mean of audio and MF-centroid probabilities; a track without MF score keeps its audio.

    Both frames: ``track_id`` then one column per tag (same tags).
    """
    tags = [c for c in audio.columns if c != "track_id"]
    merged = audio.set_index("track_id")[tags]
    listening = mf.set_index("track_id")[tags].reindex(merged.index)
    mean = (merged + listening) / 2.0
    out = mean.where(listening.notna(), merged)
    return out.reset_index()
