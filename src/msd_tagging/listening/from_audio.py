"""Listening for audio nobody has played yet: a head that maps a track's audio embedding
to its listening vector (van den Oord et al. 2013 predict latent factors from audio;
Ferraro et al. 2021 align the two spaces contrastively).

It is trained on the warm training tracks, the run's audio model's embedding in (the
mean over windows of its penultimate layer, or a head's pretrained embedding) and the
factoriser's vector out. Two losses are tried, each seeded with early stopping on the
warm validation tracks' mean cosine:

- ``cosine``: ``1 - cos(predicted, vector)``, which fits each vector's direction;
- ``infonce``: a symmetric InfoNCE over the batch (the true pair against the batch's
  other tracks, at ``temperature``), which fits which vectors a track is nearest.

Both are reported (validation mean cosine and recall@10 among validation tracks); the
scorers that read the predictions choose between them on validation tags
(:func:`msd_tagging.scoring.scorers.mf_classifier_from_audio_scores`).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError

logger = logging.getLogger(__name__)

#: columns of the predicted-vector table after ``track_id`` and the factor columns
LOSS_COLUMN = "loss"


def embedding_matrix(embeddings: pd.DataFrame, ids) -> np.ndarray:
    """Rows of an embedding table (``track_id, e000, …``) for ``ids``, float32."""
    columns = [c for c in embeddings.columns if c != "track_id"]
    return embeddings.set_index("track_id").loc[list(ids), columns].to_numpy(dtype=np.float32)


def _network(input_dim: int, output_dim: int, hidden: int, mean: np.ndarray, scale: np.ndarray):
    import torch
    from torch import nn

    class AudioToListening(nn.Module):
        def __init__(self):
            super().__init__()
            self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
            self.register_buffer("scale", torch.from_numpy(scale.astype(np.float32)))
            layers = (
                [nn.Linear(input_dim, hidden), nn.ReLU(), nn.Linear(hidden, output_dim)]
                if hidden
                else [nn.Linear(input_dim, output_dim)]
            )
            self.body = nn.Sequential(*layers)

        def forward(self, x):
            return self.body((x - self.mean) / self.scale)

    return AudioToListening()


def _loss(name: str, predicted, target, temperature: float):
    import torch
    from torch.nn import functional

    if name == "cosine":
        return (1.0 - functional.cosine_similarity(predicted, target, dim=1)).mean()
    p, t = functional.normalize(predicted, dim=1), functional.normalize(target, dim=1)
    logits = p @ t.T / temperature
    labels = torch.arange(len(p))
    return 0.5 * (functional.cross_entropy(logits, labels) + functional.cross_entropy(logits.T, labels))


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def mean_cosine(predicted: np.ndarray, target: np.ndarray) -> float:
    return float((_unit(predicted) * _unit(target)).sum(axis=1).mean())


def recall_at(predicted: np.ndarray, target: np.ndarray, k: int = 10) -> float:
    """The share of tracks whose own vector is among the ``k`` vectors (of these tracks)
    nearest their prediction by cosine."""
    similarity = _unit(predicted) @ _unit(target).T
    own = np.diag(similarity)
    return float(((similarity > own[:, None]).sum(axis=1) < k).mean())


def fit_one(loss: str, train_x, train_y, valid_x, valid_y, params) -> tuple[object, dict]:
    """One network trained with ``loss``; the epoch with the best validation mean cosine kept."""
    import torch

    from msd_tagging.models.fitting import Stopping, fit_early_stopped, minibatch_epoch

    mean, scale = train_x.mean(axis=0), train_x.std(axis=0) + 1e-6
    threads = torch.get_num_threads()
    torch.set_num_threads(params.threads or threads)  # 1: bit-reproducible
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(params.seed)
            network = _network(train_x.shape[1], train_y.shape[1], params.hidden, mean, scale)
            x, y = torch.tensor(train_x), torch.tensor(train_y)
            valid = torch.tensor(valid_x)
            optimiser = torch.optim.Adam(network.parameters(), lr=params.lr, weight_decay=params.weight_decay)
            generator = torch.Generator().manual_seed(params.seed)

            def evaluate() -> tuple[float, dict]:
                network.eval()
                with torch.no_grad():
                    cosine = mean_cosine(network(valid).numpy(), valid_y)
                return cosine, {"valid_mean_cosine": cosine}

            def train_epoch(_: int) -> dict:  # InfoNCE needs another track in the batch
                objective = lambda out, target: _loss(loss, out, target, params.temperature)  # noqa: E731
                return minibatch_epoch(network, optimiser, objective, x, y, params.batch_size, generator, min_batch=2)

            stopping = Stopping(params.max_epochs, params.patience, min_delta=1e-6, criterion="validation mean cosine")
            state = fit_early_stopped(network, train_epoch, evaluate, stopping)
            best, best_cosine, best_epoch, epoch = state.best_model, state.best_metric, state.best_epoch, state.epoch
            network.load_state_dict(best)
            network.eval()
            with torch.no_grad():
                predicted_valid = network(valid).numpy()
    finally:
        torch.set_num_threads(threads)
    rng = np.random.default_rng(params.seed)
    sample = rng.choice(len(valid_y), size=min(len(valid_y), params.recall_sample), replace=False)
    report = {
        "loss": loss,
        "valid_mean_cosine": best_cosine,
        "valid_recall_at_10": recall_at(predicted_valid[sample], valid_y[sample]),
        "recall_sample": int(len(sample)),
        "best_epoch": best_epoch,
        "epochs_run": epoch,
    }
    return network, report


def predict_listening(
    embeddings: pd.DataFrame, track_vectors: pd.DataFrame, tracks: pd.DataFrame, params
) -> tuple[pd.DataFrame, dict]:
    """A predicted listening vector, from audio alone, for every track with an embedding,
    once per loss of ``params.losses`` (long: a ``loss`` column).

    Args:
        embeddings: the run's audio embeddings (``track_id, e000, …``), from ``score_audio``.
        track_vectors: the factoriser's vectors; warm training tracks are the targets.
        tracks: the catalogue with its split.
        params: ``listening.from_audio`` (:class:`~msd_tagging.params.FromAudioParams`).

    Returns:
        The predicted vectors (``track_id, loss, f000, …[, bias]``, ``cold`` False), and a
        report per loss with the baseline cosine of every track predicted as the mean vector.
    """
    factor_columns = [c for c in track_vectors.columns if c.startswith("f") or c == "bias"]
    (train_x, train_y), (valid_x, valid_y) = _pairs(embeddings, track_vectors, tracks, factor_columns)
    all_x = embedding_matrix(embeddings, embeddings["track_id"])
    import torch

    tables, reports = [], {}
    for loss in params.losses:
        network, report = fit_one(loss, train_x, train_y, valid_x, valid_y, params)
        with torch.no_grad():
            predicted = network(torch.tensor(all_x)).numpy()
        table = pd.DataFrame(predicted, columns=factor_columns)
        table.insert(0, LOSS_COLUMN, loss)
        table.insert(0, "cold", False)
        table.insert(0, "track_id", embeddings["track_id"].to_numpy())
        tables.append(table)
        reports[loss] = report
        logger.info(
            "Listening from audio (%s loss): validation mean cosine %.3f, recall@10 %.3f of %d, best epoch %d of %d.",
            loss,
            report["valid_mean_cosine"],
            report["valid_recall_at_10"],
            report["recall_sample"],
            report["best_epoch"],
            report["epochs_run"],
        )
    baseline = mean_cosine(np.repeat(train_y.mean(axis=0, keepdims=True), len(valid_y), axis=0), valid_y)
    report = {
        "trained_on": {"train": len(train_x), "valid": len(valid_x)},
        "embedding_dim": int(train_x.shape[1]),
        "vector_dim": len(factor_columns),
        "losses": reports,
        "baseline_mean_vector_valid_cosine": baseline,
        "criterion": "early stopping on the warm validation tracks' mean cosine; the scorers choose the loss on "
        "validation tags",
    }
    return pd.concat(tables, ignore_index=True), report


def _pairs(embeddings: pd.DataFrame, track_vectors: pd.DataFrame, tracks: pd.DataFrame, factor_columns: list[str]):
    """``(embeddings, vectors)`` of the warm training tracks with audio, and of the validation ones."""
    warm = track_vectors.loc[~track_vectors["cold"], ["track_id", *factor_columns]]
    split = tracks.set_index("track_id")["split"]
    with_audio = set(embeddings["track_id"])
    chosen = {}
    for name in ("train", "valid"):
        ids = warm.loc[warm["track_id"].map(split).eq(name) & warm["track_id"].isin(with_audio), "track_id"]
        chosen[name] = ids.tolist()
    if len(chosen["train"]) < 2 or not chosen["valid"]:
        raise MSDDataError(
            f"listening from audio needs warm training and validation tracks with audio; found "
            f"{len(chosen['train'])} and {len(chosen['valid'])}",
            fix="check the split files",
        )
    vectors = warm.set_index("track_id")[factor_columns]
    return [
        (embedding_matrix(embeddings, chosen[n]), vectors.loc[chosen[n]].to_numpy(dtype=np.float32))
        for n in ("train", "valid")
    ]


def predictions_for(predicted: pd.DataFrame, loss: str) -> pd.DataFrame:
    """The vectors predicted with ``loss``, shaped like ``track_vectors``."""
    return predicted[predicted[LOSS_COLUMN] == loss].drop(columns=LOSS_COLUMN).reset_index(drop=True)
