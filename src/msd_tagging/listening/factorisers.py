"""Every factoriser of the plays behind one interface: a registry ``{name: Factoriser}``.

Each entry has its settings (a parameter block, ``listening.<name>``), a builder through
implicit's own factory (which picks the CPU or the CUDA class), and how its fitted model
hands over item vectors: ``item_vectors(model) -> (vectors, bias or None)``, on the CPU
(implicit's ``to_cpu()`` for a GPU model). ``listening.model`` names the one a run uses.
Adding a factoriser is its settings class and builder, one entry here and one YAML block
(docs/extending.md, "Adding a factoriser").

The paper used WARP (LightFM); implicit has none. ``warp`` fits it with
``rectools-lightfm`` (a maintained build of LightFM, the optional ``warp`` extra: ``pip
install -e ".[warp]"``) behind the same interface (:class:`LightFMWARP`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from msd_tagging.core.config import parameters, setting

logger = logging.getLogger(__name__)


@parameters("listening.bpr")
class BPRConfig:
    """implicit's BayesianPersonalizedRanking (a pairwise ranking loss, as WARP)."""

    factors: int = setting(200, minimum=1)
    learning_rate: float = setting(0.05, above=0.0)
    regularization: float = setting(0.01, minimum=0.0)
    iterations: int = setting(300, minimum=1)
    seed: int = setting(0, minimum=0)
    num_threads: int = setting(0, minimum=0)  # 0: all cores
    use_gpu: bool = False  # implicit's CUDA path, when it was built with CUDA


@parameters("listening.als")
class ALSConfig:
    """implicit's AlternatingLeastSquares (Hu, Koren & Volinsky 2008: weighted least squares
    on implicit feedback, solved by conjugate gradient)."""

    factors: int = setting(200, minimum=1)
    regularization: float = setting(0.01, minimum=0.0)
    alpha: float = setting(1.0, above=0.0)  # confidence = alpha × the weighted play count
    iterations: int = setting(15, minimum=1)
    seed: int = setting(0, minimum=0)
    num_threads: int = setting(0, minimum=0)
    use_gpu: bool = False


@parameters("listening.lmf")
class LMFConfig:
    """implicit's LogisticMatrixFactorization (Johnson 2014: a logistic model of who plays
    what, with user and item biases)."""

    factors: int = setting(200, minimum=1)
    learning_rate: float = setting(1.0, above=0.0)
    regularization: float = setting(0.6, minimum=0.0)
    iterations: int = setting(30, minimum=1)
    neg_prop: int = setting(30, minimum=1)  # negative samples per positive
    seed: int = setting(0, minimum=0)
    num_threads: int = setting(0, minimum=0)


@parameters("listening.warp")
class WARPConfig:
    """LightFM's WARP (Weston, Bengio & Usunier 2011), the paper's loss: for each play,
    negatives are sampled until one outranks it, and the update is weighted by how few
    samples that took (``rectools-lightfm``, the ``warp`` extra). Unlike the paper's
    setup, as far as it is stated: plays are binary (``listening.weighting`` does not reach
    WARP), and the learning rate, epochs and ``max_sampled`` are LightFM's usual values
    (the paper gives none; ``listening.early_stopping`` chooses the epochs)."""

    factors: int = setting(200, minimum=1)
    learning_rate: float = setting(0.05, above=0.0)
    item_alpha: float = setting(0.0, minimum=0.0)  # L2 penalty on item features
    user_alpha: float = setting(0.0, minimum=0.0)
    max_sampled: int = setting(10, minimum=1)  # negatives tried per play before giving up
    iterations: int = setting(30, minimum=1)  # epochs
    seed: int = setting(0, minimum=0)
    num_threads: int = setting(1, minimum=0)  # 0: all cores (Hogwild: not bit-reproducible above 1)


class LightFMWARP:
    """LightFM's WARP as implicit's models are driven here: ``iterations`` epochs per
    ``fit`` (each going on from the last), and ``item_factors`` / ``user_factors`` whose dot
    product is the model's own score up to each user's bias: items are ``[embedding, item
    bias]``, users ``[embedding, 1]``."""

    def __init__(self, config: WARPConfig):
        from lightfm import LightFM

        self.config = config
        self.iterations = config.iterations
        self.model = LightFM(
            no_components=config.factors,
            loss="warp",
            learning_rate=config.learning_rate,
            item_alpha=config.item_alpha,
            user_alpha=config.user_alpha,
            max_sampled=config.max_sampled,
            random_state=config.seed,
        )

    def fit(self, matrix, show_progress: bool = False) -> None:
        import os

        threads = self.config.num_threads or os.cpu_count() or 1
        self.model.fit_partial(matrix.tocoo(), epochs=self.iterations, num_threads=threads, verbose=show_progress)

    @property
    def item_factors(self) -> np.ndarray:
        return np.hstack([self.model.item_embeddings, self.model.item_biases[:, None]]).astype(np.float32)

    @property
    def user_factors(self) -> np.ndarray:
        users = self.model.user_embeddings
        return np.hstack([users, np.ones((len(users), 1), dtype=users.dtype)]).astype(np.float32)


def _warp(config: WARPConfig, use_gpu: bool) -> LightFMWARP:
    return LightFMWARP(config)


def warp_available() -> bool:
    """Whether the ``warp`` extra (``rectools-lightfm``) is installed."""
    import importlib.util

    return importlib.util.find_spec("lightfm") is not None


def _bpr(config: BPRConfig, use_gpu: bool):
    import implicit.bpr

    return implicit.bpr.BayesianPersonalizedRanking(
        factors=config.factors,
        learning_rate=config.learning_rate,
        regularization=config.regularization,
        iterations=config.iterations,
        num_threads=config.num_threads,
        random_state=config.seed,
        use_gpu=use_gpu,
    )


def _als(config: ALSConfig, use_gpu: bool):
    import implicit.als

    return implicit.als.AlternatingLeastSquares(
        factors=config.factors,
        regularization=config.regularization,
        alpha=config.alpha,
        iterations=config.iterations,
        num_threads=config.num_threads,
        random_state=config.seed,
        use_gpu=use_gpu,
    )


def _lmf(config: LMFConfig, use_gpu: bool):
    import implicit.lmf

    return implicit.lmf.LogisticMatrixFactorization(
        factors=config.factors,
        learning_rate=config.learning_rate,
        regularization=config.regularization,
        iterations=config.iterations,
        neg_prop=config.neg_prop,
        num_threads=config.num_threads,
        random_state=config.seed,
    )


@dataclass(frozen=True)
class Factoriser:
    """One factoriser.

    Attributes:
        config: its settings' parameter block class (``listening.<name>``).
        builder: ``(config, use_gpu) -> model``, through implicit's factory.
        bias: whether its item factors end in an item-bias column (BPR, LMF) after the
            ``factors`` vector columns; ALS has none.
        gpu: whether implicit has a CUDA class for it.
    """

    config: type
    builder: Callable[[Any, bool], Any]
    bias: bool
    gpu: bool = True
    extra: str | None = None  # the optional extra it needs (pip install -e ".[<extra>]"), if any

    def build(self, config: Any):
        """A fresh model; on CUDA when asked for and implicit was built with it."""
        from threadpoolctl import threadpool_limits

        wanted = bool(getattr(config, "use_gpu", False))
        use_gpu = wanted and self.gpu and _implicit_has_cuda()
        if wanted and not use_gpu:
            logger.warning("use_gpu is set, but implicit has no CUDA for this factoriser here; fitting on the CPU.")
        with threadpool_limits(1, "blas"):  # ALS checks the BLAS pool as it is built
            return self.builder(config, use_gpu)

    def fit(self, model, matrix, *, progress: bool = False) -> None:
        """``model.fit`` on users × items, BLAS held to one thread (implicit's advice: its
        own threads do the work, and a BLAS pool beside them slows ALS down)."""
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):
            model.fit(matrix, show_progress=progress)

    def item_vectors(self, model, factors: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The fitted items' vectors ``[n_items, factors]`` and their biases ``[n_items]``
        (``None`` without), as float32 on the CPU."""
        items = full_factors(model, "item")
        return items[:, :factors], (items[:, factors].copy() if self.bias else None)


def _implicit_has_cuda() -> bool:
    import implicit.gpu

    return bool(implicit.gpu.HAS_CUDA)


def full_factors(model, side: str) -> np.ndarray:
    """A fitted model's whole user or item factor matrix (bias columns included: the
    model's own score is their dot product), float32 on the CPU."""
    factors = getattr(model.to_cpu() if hasattr(model, "to_cpu") else model, f"{side}_factors")
    return np.asarray(factors.to_numpy() if hasattr(factors, "to_numpy") else factors, dtype=np.float32)


FACTORISERS: dict[str, Factoriser] = {
    "bpr": Factoriser(BPRConfig, _bpr, bias=True),
    "als": Factoriser(ALSConfig, _als, bias=False),
    "lmf": Factoriser(LMFConfig, _lmf, bias=True, gpu=False),
    "warp": Factoriser(WARPConfig, _warp, bias=True, gpu=False, extra="warp"),
}
