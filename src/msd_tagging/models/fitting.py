"""One early-stopped fit for every network the project trains: the audio tagger
(:mod:`msd_tagging.models.training`), a head on pretrained embeddings
(:mod:`msd_tagging.models.heads`) and listening from audio
(:mod:`msd_tagging.listening.from_audio`).

A fit is a network, an epoch of training (``train_epoch``: its batches and loss), a
validation criterion (``evaluate``) and a stopping block (:class:`Stopping`). The epoch
whose criterion is best is kept; training stops after ``patience`` epochs without a better
one, or at ``max_epochs``. The state (:class:`FitState`) is plain data, so the audio
tagger checkpoints it with its optimiser and RNGs and resumes exactly. Seeding, threads
and devices stay with the caller: each fit forks torch's RNG around itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Stopping:
    """When a fit stops.

    Attributes:
        max_epochs: epochs at most.
        patience: epochs without a better criterion before stopping.
        min_delta: how much better the criterion must be to count as better.
        criterion: what the criterion is, for the stop message.
    """

    max_epochs: int
    patience: int
    min_delta: float = 0.0
    criterion: str = "validation criterion"


@dataclass
class FitState:
    """What a fit has done so far; with the optimiser's and RNGs' states it is a
    checkpoint, so a killed fit resumes exactly where it stopped.

    Attributes:
        epoch: epochs finished.
        best_metric: the best criterion so far.
        bad_epochs: epochs since the best one.
        history: one record per epoch: ``epoch``, the training loss, what validation
            measured, then anything else the epoch reported (learning rate, speed).
        best_model: the state dict of the best epoch.
        best_epoch: the epoch whose model was kept (0 before any).
        stopped: why the fit stopped; empty while it goes on (or when it was interrupted).
    """

    epoch: int = 0
    best_metric: float = -1.0
    bad_epochs: int = 0
    history: list[dict] = field(default_factory=list)
    best_model: dict | None = None
    stopped: str = ""
    best_epoch: int = 0

    FIELDS = ("epoch", "best_metric", "bad_epochs", "history", "best_model", "stopped", "best_epoch")

    def as_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_checkpoint(cls, saved: dict) -> FitState:
        return cls(**{name: saved[name] for name in cls.FIELDS if name in saved})


def snapshot(network) -> dict:
    """The network's weights, detached and copied to the CPU."""
    return {k: v.detach().cpu().clone() for k, v in network.state_dict().items()}


def fit_early_stopped(
    network,
    train_epoch: Callable[[int], dict],
    evaluate: Callable[[], tuple[float, dict]],
    stopping: Stopping,
    *,
    state: FitState | None = None,
    after_epoch: Callable[[FitState, bool], bool] | None = None,
) -> FitState:
    """Train epoch after epoch until ``stopping`` says so, keeping the best epoch's weights.

    Args:
        network: the module trained (its weights are snapshot when validation improves).
        train_epoch: ``epoch -> record``: one pass over the training batches; the record
            holds ``train_loss`` and anything else worth a history column.
        evaluate: ``() -> (criterion, measured)``: the validation criterion (higher is
            better) and what to record beside it.
        stopping: when to stop.
        state: where to go on from (a resumed checkpoint); a fresh fit otherwise.
        after_epoch: ``(state, improved) -> interrupt``, after each epoch's bookkeeping
            (logging, checkpointing); returning True stops the fit as if killed, with
            ``state.stopped`` left empty.
    """
    state = state if state is not None else FitState(best_metric=-np.inf)
    while not state.stopped:
        epoch = state.epoch + 1
        record = dict(train_epoch(epoch))
        quality, measured = evaluate()
        improved = quality > state.best_metric + stopping.min_delta
        if improved:
            state.best_metric, state.best_model, state.best_epoch = quality, snapshot(network), epoch
            state.bad_epochs = 0
        else:
            state.bad_epochs += 1
        state.epoch = epoch
        loss = {"train_loss": record.pop("train_loss")} if "train_loss" in record else {}
        state.history.append({"epoch": epoch, **loss, **measured, **record})
        if state.bad_epochs >= stopping.patience:
            state.stopped = (
                f"early stop after epoch {epoch}: no better {stopping.criterion} for {stopping.patience} epochs"
            )
        elif epoch >= stopping.max_epochs:
            state.stopped = f"reached max_epochs={stopping.max_epochs}"
        if after_epoch is not None and after_epoch(state, improved) and not state.stopped:
            break
    return state


def minibatch_epoch(
    network, optimiser, loss: Callable[[Any, Any], Any], x, y, batch_size: int, generator, *, min_batch: int = 1
) -> dict:
    """One pass over in-memory tensors ``x, y`` in a random order drawn from ``generator``;
    batches smaller than ``min_batch`` are skipped (a contrastive loss needs two rows)."""
    import torch

    network.train()
    total, seen = 0.0, 0
    for batch in torch.randperm(len(x), generator=generator).split(batch_size):
        if len(batch) < min_batch:
            continue
        optimiser.zero_grad()
        value = loss(network(x[batch]), y[batch])
        value.backward()
        optimiser.step()
        total += float(value.detach()) * len(batch)
        seen += len(batch)
    return {"train_loss": total / max(seen, 1)}
