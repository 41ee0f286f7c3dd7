"""Heads on frozen pretrained embeddings: the audio side in any vocabulary, trained in
seconds on a CPU.

A head reads a track's embedding (the mean over patches of ``msd_musicnn``'s or
``msd_vgg``'s penultimate layer, :mod:`msd_tagging.models.embeddings`) and predicts the
run's tags. Two kinds are fitted on the training split and the better on validation
macro (ROC-AUC + PR-AUC) / 2 is kept: a per-tag logistic regression (scikit-learn,
its strength chosen on validation) and a one-hidden-layer MLP (torch, seeded, early
stopping on validation). Both are stored as the same module, inputs standardised inside
it, so a saved head is one record like any tagger's (``architecture: head``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from msd_tagging.core.metrics import macro_quality
from msd_tagging.models.configs import HeadNetConfig


def _torch_module():
    import torch
    from torch import nn

    class EmbeddingHead(nn.Module):
        """Standardise, then a linear layer (``hidden`` 0) or Linear–ReLU–Dropout–Linear.
        ``forward`` returns ``(logits, embedding)`` like every registered network (the
        embedding is the standardised input, or the hidden layer)."""

        def __init__(self, config: HeadNetConfig):
            super().__init__()
            self.config = config
            self.register_buffer("mean", torch.zeros(config.input_dim))
            self.register_buffer("scale", torch.ones(config.input_dim))
            if config.hidden:
                self.hidden = nn.Sequential(
                    nn.Linear(config.input_dim, config.hidden), nn.ReLU(), nn.Dropout(config.dropout)
                )
                self.output = nn.Linear(config.hidden, config.n_tags)
            else:
                self.hidden = nn.Identity()
                self.output = nn.Linear(config.input_dim, config.n_tags)

        def forward(self, x):
            hidden = self.hidden((x - self.mean) / self.scale)
            return self.output(hidden), hidden

    return EmbeddingHead


def EmbeddingHead(config: HeadNetConfig):  # noqa: N802 - the registry builds it by name, as a class
    """The head module for ``config`` (torch imported on first use)."""
    return _torch_module()(config)


@dataclass
class FittedHead:
    """The chosen head: its shape, weights, and what validation said of each candidate."""

    config: HeadNetConfig
    state_dict: dict
    kind: str
    validation: dict[str, float] = field(default_factory=dict)


def fit_head(
    train_x: np.ndarray, train_y: np.ndarray, valid_x: np.ndarray, valid_y: np.ndarray, params, embedding: str
) -> FittedHead:
    """Fit every kind of ``params.kinds`` and keep the best on validation.

    Args:
        train_x, valid_x: embeddings ``[n, d]``; train_y, valid_y: 0/1 labels ``[n, tags]``.
        params: ``audio.head`` (:class:`~msd_tagging.params.HeadParams`).
        embedding: the pretrained model the embeddings come from.
    """
    mean = train_x.mean(axis=0)
    scale = train_x.std(axis=0) + 1e-6
    candidates = {}
    if "logistic" in params.kinds:
        candidates["logistic"] = _logistic(train_x, train_y, valid_x, valid_y, params, embedding, mean, scale)
    if "mlp" in params.kinds:
        candidates["mlp"] = _mlp(train_x, train_y, valid_x, valid_y, params, embedding, mean, scale)
    validation = {kind: quality for kind, (_, _, quality) in candidates.items()}
    best = max(validation, key=validation.get)
    config, state, _ = candidates[best]
    return FittedHead(config, state, best, validation)


def _state(module) -> dict:
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def _logistic(train_x, train_y, valid_x, valid_y, params, embedding, mean, scale):
    """Per-tag logistic regressions (the MF classifier's fit), as a one-layer head."""
    import torch

    from msd_tagging.models.classifier import fit_tag_classifier

    fitted = fit_tag_classifier(train_x, train_y, valid_x, valid_y, tuple(params.cs), seed=params.seed)
    config = HeadNetConfig(embedding=embedding, input_dim=train_x.shape[1], n_tags=train_y.shape[1], hidden=0)
    head = EmbeddingHead(config)
    with torch.no_grad():
        head.mean.copy_(torch.from_numpy(fitted.mean.astype(np.float32)))
        head.scale.copy_(torch.from_numpy(fitted.scale.astype(np.float32)))
        head.output.weight.copy_(torch.from_numpy(fitted.coef.astype(np.float32)))
        head.output.bias.copy_(torch.from_numpy(fitted.intercept.astype(np.float32)))
    return config, _state(head), fitted.validation[fitted.c]


def _mlp(train_x, train_y, valid_x, valid_y, params, embedding, mean, scale):
    """A one-hidden-layer MLP, seeded, with early stopping on the validation criterion."""
    import torch

    config = HeadNetConfig(
        embedding=embedding,
        input_dim=train_x.shape[1],
        n_tags=train_y.shape[1],
        hidden=params.hidden,
        dropout=params.dropout,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(params.threads or threads)  # 1: bit-reproducible
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(params.seed)
            head = EmbeddingHead(config)
            with torch.no_grad():
                head.mean.copy_(torch.from_numpy(mean.astype(np.float32)))
                head.scale.copy_(torch.from_numpy(scale.astype(np.float32)))
            return config, *_train(head, train_x, train_y, valid_x, valid_y, params)
    finally:
        torch.set_num_threads(threads)


def _train(head, train_x, train_y, valid_x, valid_y, params) -> tuple[dict, float]:
    """The one early-stopped fit (:mod:`msd_tagging.models.fitting`): Adam on binary
    cross-entropy, the epoch with the best validation macro (ROC-AUC + PR-AUC) / 2 kept."""
    import torch

    from msd_tagging.models.fitting import Stopping, fit_early_stopped, minibatch_epoch, snapshot

    x = torch.from_numpy(train_x.astype(np.float32))
    y = torch.from_numpy(train_y.astype(np.float32))
    valid = torch.from_numpy(valid_x.astype(np.float32))
    optimiser = torch.optim.Adam(head.parameters(), lr=params.lr, weight_decay=params.weight_decay)
    bce = torch.nn.BCEWithLogitsLoss()
    generator = torch.Generator().manual_seed(params.seed)

    def evaluate() -> tuple[float, dict]:
        head.eval()
        with torch.no_grad():
            quality = macro_quality(valid_y, torch.sigmoid(head(valid)[0]).numpy())
        return quality, {"valid_quality": quality}

    initial = snapshot(head)
    state = fit_early_stopped(
        head,
        lambda _: minibatch_epoch(
            head, optimiser, lambda out, target: bce(out[0], target), x, y, params.batch_size, generator
        ),
        evaluate,
        Stopping(params.max_epochs, params.patience, min_delta=1e-6, criterion="validation macro quality"),
    )
    return state.best_model or initial, float(state.best_metric)
