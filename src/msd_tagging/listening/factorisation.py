"""Matrix factorisation of plays: every played track gets a vector.

Ferraro et al. 2019 factorise the user–track play matrix with a ranking loss (WARP); we
use implicit's BPR. Tag centroids in that space are :mod:`msd_tagging.listening.centroids`.
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


def factorisation_config(params: dict) -> BPRConfig:
    """Check the factorisation settings of the ``listening`` block; return its :class:`BPRConfig`."""
    require(params, "listening", "weighting", "bpr")
    choice(params["weighting"], "listening.weighting", WEIGHTINGS)
    return block(params["bpr"], "listening.bpr", BPRConfig)


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
    import implicit.bpr

    use_gpu = bool(config.use_gpu and implicit.gpu.HAS_CUDA)
    if config.use_gpu and not use_gpu:
        logger.warning("listening.bpr.use_gpu is set but this implicit was built without CUDA; factorising on the CPU.")
    # implicit's own factory picks the class and passes each only what it accepts (the GPU
    # class takes no num_threads).
    model = implicit.bpr.BayesianPersonalizedRanking(
        factors=config.factors,
        learning_rate=config.learning_rate,
        regularization=config.regularization,
        iterations=config.iterations,
        num_threads=config.num_threads,
        random_state=config.seed,
        use_gpu=use_gpu,
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
