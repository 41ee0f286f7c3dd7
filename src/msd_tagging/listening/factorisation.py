"""Matrix factorisation of plays: every played track gets a vector.

Ferraro et al. 2019 factorise the user–track play matrix with a ranking loss (WARP); the
factorisers are implicit's, behind one interface (:mod:`msd_tagging.listening.factorisers`:
BPR by default, ALS, LMF). Tag centroids in that space are
:mod:`msd_tagging.listening.centroids`.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from msd_tagging.core.config import parameters, setting
from msd_tagging.core.tracks import TrackTable
from msd_tagging.listening.factorisers import Factoriser, full_factors

logger = logging.getLogger(__name__)

WEIGHTINGS = ("binary", "log1p", "raw")


@parameters("listening.early_stopping")
class EarlyStopping:
    """How many iterations, chosen by a held-out criterion (``listening.early_stopping``).

    One play of each of ``holdout_users`` sampled listeners is held out of training; every
    ``check_every`` iterations, the sampled AUC of those plays against ``negatives`` random
    tracks per listener is measured, and training stops after ``patience`` checks without a
    better one, keeping the best check's vectors (the factoriser's ``iterations`` stays the cap).
    """

    enabled: bool = False
    check_every: int = setting(10, minimum=1)
    patience: int = setting(3, minimum=1)
    holdout_users: int = setting(10_000, minimum=1)
    negatives: int = setting(100, minimum=1)
    seed: int = setting(0, minimum=0)


@parameters("listening.withhold")
class Withhold:
    """Tracks made cold on purpose (``listening.withhold``), to measure listening for unplayed
    audio on enough tracks: the plays of a ``share`` of the ``split``'s tracks, drawn with
    ``seed``, are left out of the factorisation, so those tracks get no vector and are
    scored as a new release would be (``benchmarks/cold_start.py``). ``share: 0`` (the
    default) withholds nothing."""

    share: float = setting(0.0, minimum=0.0, maximum=0.9)
    split: Literal["valid", "test"] = "test"
    seed: int = setting(0, minimum=0)


def withheld_tracks(tracks: pd.DataFrame, withhold: Withhold) -> pd.Index:
    """The IDs of the tracks whose plays ``withhold`` leaves out: ``ceil(share × n)`` of the
    split's ``n`` tracks, drawn without replacement with ``withhold.seed``."""
    ids = np.asarray(TrackTable(tracks).ids(withhold.split), dtype=object)
    count = int(np.ceil(withhold.share * len(ids)))
    drawn = np.random.default_rng(withhold.seed).choice(len(ids), size=count, replace=False)
    return pd.Index(np.sort(ids[drawn]), name="track_id")


def without_plays_of(plays: pd.DataFrame, track_idx: np.ndarray) -> pd.DataFrame:
    """``plays`` less every play of the tracks at ``track_idx``."""
    return plays[~plays["track_idx"].isin(track_idx)] if len(track_idx) else plays


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


def factorise(
    matrix: sp.csr_matrix, factoriser: Factoriser, config: Any, *, progress: bool | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Item vectors of a factorisation of ``matrix`` (users × items).

    Returns:
        float32 vectors ``[shape=(n_items, factors)]``, and the item biases ``[n_items]``
        when the factoriser has them (else ``None``).
    """
    model = factoriser.build(config)
    factoriser.fit(model, matrix, progress=_show_progress(progress))
    return factoriser.item_vectors(model, config.factors)


def factorise_early_stopped(
    matrix: sp.csr_matrix, factoriser: Factoriser, config: Any, stopping: EarlyStopping, *, progress: bool | None = None
) -> tuple[tuple[np.ndarray, np.ndarray | None], pd.DataFrame]:
    """:func:`factorise` in rounds of ``stopping.check_every`` iterations (each round goes
    on from the last one's factors), stopped when the held-out AUC stops improving
    (:class:`EarlyStopping`).

    Returns:
        The best round's item vectors and biases, and the curve: ``iteration, heldout_auc, seconds``.
    """
    import time

    train, users, held = _hold_out(matrix, stopping)
    negatives = np.random.default_rng(stopping.seed + 1).integers(
        0, matrix.shape[1], size=(len(users), stopping.negatives)
    )
    model = factoriser.build(config)
    rows, best, best_auc, bad, done = [], None, -1.0, 0, 0
    started = time.perf_counter()
    while done < config.iterations and bad < stopping.patience:
        model.iterations = min(stopping.check_every, config.iterations - done)
        factoriser.fit(model, train, progress=_show_progress(progress))
        done += model.iterations
        items = full_factors(model, "item")
        auc = _sampled_auc(full_factors(model, "user")[users], items, held, negatives)
        rows.append({"iteration": done, "heldout_auc": auc, "seconds": time.perf_counter() - started})
        logger.info("Factorisation after %d iterations: held-out AUC %.4f", done, auc)
        if auc > best_auc:
            best, best_auc, bad = factoriser.item_vectors(model, config.factors), auc, 0
        else:
            bad += 1
    curve = pd.DataFrame(rows, columns=["iteration", "heldout_auc", "seconds"])
    logger.info(
        "Kept the vectors of iteration %d (held-out AUC %.4f).",
        int(curve.loc[curve["heldout_auc"].idxmax(), "iteration"]),
        best_auc,
    )
    return best, curve


def _show_progress(progress: bool | None) -> bool:
    if progress is None:  # a bar in a terminal, nothing in CI logs
        import sys

        return sys.stderr.isatty()
    return progress


def _hold_out(matrix: sp.csr_matrix, stopping: EarlyStopping) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """One play of each of up to ``holdout_users`` listeners with two plays or more, taken
    out of the matrix. Returns the training matrix, those users and their held-out tracks."""
    rng = np.random.default_rng(stopping.seed)
    counts = np.diff(matrix.indptr)
    eligible = np.flatnonzero(counts >= 2)
    users = np.sort(rng.choice(eligible, size=min(stopping.holdout_users, len(eligible)), replace=False))
    picks = matrix.indptr[users] + rng.integers(0, counts[users])
    held = matrix.indices[picks].copy()
    train = matrix.copy()
    train.data[picks] = 0
    train.eliminate_zeros()
    return train, users, held


def _sampled_auc(user_vectors: np.ndarray, item_vectors: np.ndarray, held: np.ndarray, negatives: np.ndarray) -> float:
    """Mean over users of the share of random tracks their held-out track outscores (ties
    half), in blocks of users so memory stays small."""
    wins = np.empty(len(held))
    for start in range(0, len(held), 1000):
        u = user_vectors[start : start + 1000]
        positive = np.einsum("ud,ud->u", u, item_vectors[held[start : start + 1000]])
        negative = np.einsum("ud,und->un", u, item_vectors[negatives[start : start + 1000]])
        block = (positive[:, None] > negative).mean(axis=1) + 0.5 * (positive[:, None] == negative).mean(axis=1)
        wins[start : start + len(block)] = block
    return float(wins.mean())


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
