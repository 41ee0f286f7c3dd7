"""Training and inference for chunk-based taggers.

Training reads random fixed-length chunks (offsets drawn from a seeded numpy generator,
so the sampling is reproducible and resumable), stops early on validation macro PR-AUC,
and hands a full checkpoint to a :class:`CheckpointStore` after every epoch: model,
optimizer, scheduler, RNG states, history. A run resumed from a checkpoint continues
exactly as an uninterrupted run would (bit for bit on CPU).

Inference averages chunk probabilities over non-overlapping chunks covering the clip.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

import numpy as np

from msd_tagging.core.config import parameters, setting
from msd_tagging.core.errors import ParameterError
from msd_tagging.core.metrics import format_score, macro_scores, per_tag_metrics
from msd_tagging.models.fitting import FitState, Stopping, fit_early_stopped
from msd_tagging.models.inference import DEVICE, choose_device, cut_window, predict  # noqa: F401  (predict: re-exported)

logger = logging.getLogger(__name__)


@parameters("audio.train")
class TrainConfig:
    """Optimisation settings (``parameters_audio.yml``: ``audio.train``)."""

    chunk_frames: int = setting(188, minimum=1)  # training chunk: 188 frames of hop 256 at 16 kHz = 3 s
    batch_size: int = setting(32, minimum=1)
    max_epochs: int = setting(30, minimum=1)
    lr: float = setting(1e-3, above=0.0)
    weight_decay: float = setting(1e-4, minimum=0.0)
    milestones: tuple[int, ...] = setting((20,), minimum=1)  # epochs where the learning rate is multiplied by gamma
    gamma: float = setting(0.1, above=0.0)
    patience: int = setting(5, minimum=1)  # epochs without a better validation PR-AUC before stopping
    seed: int = setting(0, minimum=0)
    num_workers: int = setting(0, minimum=0)  # DataLoader worker processes (0: load in the training process)
    eval_batch_size: int = setting(64, minimum=1)
    threads: int = setting(0, minimum=0)  # torch CPU threads (0: torch's default)
    device: str = "auto"  # "auto": CUDA when available, else CPU
    cpu_epoch_limit_minutes: float = setting(60.0, above=0.0)  # on a CPU, stop before training when an epoch
    allow_slow_cpu: bool = False  # would take longer, unless this is set: the paper-scale VGG takes weeks on a CPU

    def __post_init__(self):
        if not DEVICE.fullmatch(self.device):
            raise ParameterError(
                "audio.train.device", f"{self.device!r} is not a device.", fix="use auto, cpu, cuda or cuda:N."
            )
        if self.device != "auto" and self.device != "cpu":
            choose_device(self.device)  # CUDA asked for on a machine without it: say so now, not in training

    def as_dict(self) -> dict:
        data = asdict(self)
        data["milestones"] = list(self.milestones)
        return data


class CheckpointStore(Protocol):
    """Where training keeps its latest checkpoint (see ``datasets.CheckpointDataset``)."""

    def load(self) -> dict | None: ...

    def save(self, state: dict) -> None: ...


@dataclass
class TrainResult:
    model_state: dict
    history: list[dict] = field(default_factory=list)
    stopped: str = ""


class _Chunks:
    """Map-style dataset of (track index, offset) → (chunk, labels); works with DataLoader."""

    def __init__(self, features: Sequence[np.ndarray], labels: np.ndarray, length: int):
        self.features, self.labels, self.length = features, labels, length

    def __getitem__(self, item: tuple[int, int]):
        i, offset = item
        return cut_window(self.features[i], offset, self.length), self.labels[i].astype(np.float32)


def _epoch_plan(rng: np.random.Generator, lengths: np.ndarray, chunk: int) -> list[tuple[int, int]]:
    order = rng.permutation(len(lengths))
    offsets = rng.integers(0, np.maximum(lengths[order] - chunk, 0) + 1)
    return list(zip(order.tolist(), offsets.tolist(), strict=True))


def _validation(model, features, labels, config: TrainConfig, device) -> dict:
    scores = predict(model, features, config.chunk_frames, config.eval_batch_size, device)
    tags = [str(j) for j in range(labels.shape[1])]
    return macro_scores(per_tag_metrics(labels, scores, tags))


def _fingerprint(
    architecture: str, model_config, config: TrainConfig, n_train: int, n_valid: int, data_key: str
) -> dict:
    keep = {
        k: v
        for k, v in config.as_dict().items()
        if k not in ("num_workers", "eval_batch_size", "threads", "device", "cpu_epoch_limit_minutes", "allow_slow_cpu")
    }
    return {
        "architecture": architecture,
        "model": model_config.as_dict(),
        "train": keep,
        "n_train": n_train,
        "n_valid": n_valid,
        "data": data_key,
    }


TrainState = FitState  # the audio tagger's fit state, checkpointed (msd_tagging.models.fitting)


@dataclass
class _Run:
    """The live objects of one training run."""

    model: Any
    optimizer: Any
    scheduler: Any
    rng: np.random.Generator
    device: Any
    fingerprint: dict


def train(
    architecture: str,
    model_config,
    config: TrainConfig,
    train_x: Sequence[np.ndarray],
    train_y: np.ndarray,
    valid_x: Sequence[np.ndarray],
    valid_y: np.ndarray,
    checkpoints: CheckpointStore | None = None,
    *,
    progress: bool = True,
    stop_after_epoch: Callable[[int], bool] | None = None,
    data_key: str = "",
) -> TrainResult:
    """Train a registered architecture (``msd_tagging.models.registry``) of shape
    ``model_config``, resuming from ``checkpoints`` when they match.

    Args:
        train_x, valid_x: features per track, ``[n_mels, n_frames]`` each.
        train_y, valid_y: 0/1 labels ``[n_tracks, n_tags]``.
        checkpoints: where the latest checkpoint is kept (none: no checkpointing).
        data_key: identity of the training data; a checkpoint is resumed only when it
            matches as well as the settings.
        stop_after_epoch: test hook, returns True to stop after that epoch as if killed.

    Returns:
        The best model's state dict (by validation macro PR-AUC) and the history.
    """
    import torch

    device = choose_device(config.device)
    if config.threads and device.type == "cpu":
        torch.set_num_threads(config.threads)
    fingerprint = _fingerprint(architecture, model_config, config, len(train_x), len(valid_x), data_key)
    # All randomness is local: torch's global RNG is forked and restored around training.
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        run = _start(architecture, model_config, config, device, fingerprint)
        state = _resume(run, checkpoints)
        if not state.stopped and device.type == "cpu":
            check_cpu_time(run.model, config, len(train_x), model_config.n_mels)
        epoch_runner = _EpochRunner(run, config, train_x, train_y, progress)

        def evaluate() -> tuple[float, dict]:
            metrics = _validation(run.model, valid_x, valid_y, config, device)
            measured = {"valid_roc_auc": metrics["roc_auc_macro"], "valid_pr_auc": metrics["pr_auc_macro"]}
            return metrics["pr_auc_macro"] or 0.0, measured

        def after_epoch(state: FitState, improved: bool) -> bool:
            _log_epoch(state.history[-1], improved)
            if checkpoints is not None:
                checkpoints.save(_checkpoint(state, run))
            return stop_after_epoch is not None and stop_after_epoch(state.epoch)

        stopping = Stopping(config.max_epochs, config.patience, criterion="validation PR-AUC")
        state = fit_early_stopped(run.model, epoch_runner, evaluate, stopping, state=state, after_epoch=after_epoch)
        if not state.stopped:
            return TrainResult(state.best_model, state.history, "interrupted")
        logger.info("Training finished: %s.", state.stopped)
        return TrainResult(state.best_model, state.history, state.stopped)


def check_cpu_time(model, config: TrainConfig, n_train: int, n_mels: int, *, batches: int = 2) -> float:
    """Estimate one epoch's seconds on this CPU from a few timed batches, log it, and stop
    before training when it is above ``config.cpu_epoch_limit_minutes`` unless
    ``config.allow_slow_cpu``.

    The batches run on a copy of the model with torch's RNG forked, so training itself is
    exactly as without the check.

    Raises:
        ParameterError: naming ``audio.train.allow_slow_cpu`` when training would be too slow.
    """
    import copy

    import torch

    probe = copy.deepcopy(model).train()
    optimizer = torch.optim.SGD(probe.parameters(), lr=0.0)
    x = torch.zeros(config.batch_size, n_mels, config.chunk_frames)
    with torch.random.fork_rng(devices=[]):
        seconds = []
        for _ in range(batches + 1):  # the first batch warms up the kernels
            started = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            probe(x)[0].float().mean().backward()
            optimizer.step()
            seconds.append(time.perf_counter() - started)
    per_sample = min(seconds[1:]) / config.batch_size
    epoch = per_sample * n_train
    logger.info(
        "On this CPU an epoch of %d training chunks takes about %s (%.0f samples/s); up to %d epochs: %s.",
        n_train,
        _duration(epoch),
        1 / per_sample,
        config.max_epochs,
        _duration(epoch * config.max_epochs),
    )
    if epoch > config.cpu_epoch_limit_minutes * 60 and not config.allow_slow_cpu:
        raise ParameterError(
            "audio.train.allow_slow_cpu",
            f"training on this CPU would take about {_duration(epoch)} per epoch and up to "
            f"{_duration(epoch * config.max_epochs)} in all (the limit is audio.train.cpu_epoch_limit_minutes="
            f"{config.cpu_epoch_limit_minutes:g}). Nothing was trained.",
            fix="train on a GPU (docs/quickstart.md, 'GPU install'), use a smaller audio.model, or set "
            "audio.train.allow_slow_cpu: true to train on this CPU anyway.",
        )
    return epoch


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.1f} s"


def _start(architecture: str, model_config, config: TrainConfig, device, fingerprint: dict) -> _Run:
    """A fresh, seeded model, optimiser, schedule and chunk sampler."""
    import torch

    from msd_tagging.models.registry import build

    torch.manual_seed(config.seed)
    model = build(architecture, model_config).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimizer, milestones=list(config.milestones), gamma=config.gamma)
    return _Run(model, optimizer, scheduler, np.random.default_rng(config.seed), device, fingerprint)


def _resume(run: _Run, checkpoints: CheckpointStore | None) -> TrainState:
    """Restore every state from the checkpoint when it was made with the same settings and
    data; else start from scratch."""
    import torch

    saved = checkpoints.load() if checkpoints is not None else None
    if saved is None:
        return TrainState()
    if saved.get("fingerprint") != run.fingerprint:
        logger.info("Checkpoint was made with other settings or data; training from scratch.")
        return TrainState()
    run.model.load_state_dict(saved["model"])
    run.optimizer.load_state_dict(saved["optimizer"])
    run.scheduler.load_state_dict(saved["scheduler"])
    torch.set_rng_state(saved["torch_rng"])
    run.rng.bit_generator.state = saved["numpy_rng"]
    state = TrainState.from_checkpoint(saved)
    logger.info(
        "Resuming training after epoch %d (best validation PR-AUC %s).", state.epoch, format_score(state.best_metric)
    )
    return state


class _EpochRunner:
    """One pass over random chunks of every training track (mixed precision on CUDA)."""

    def __init__(self, run: _Run, config: TrainConfig, train_x, train_y, progress: bool):
        import torch

        self.run, self.config, self.progress = run, config, progress
        self.lengths = np.array([x.shape[1] for x in train_x])
        self.use_amp = run.device.type == "cuda"
        self.amp_dtype = torch.bfloat16 if self.use_amp and torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.use_amp and self.amp_dtype == torch.float16)
        self.dataset = _Chunks(train_x, train_y, config.chunk_frames)
        self.loss_fn = torch.nn.BCEWithLogitsLoss()

    def __call__(self, epoch: int) -> dict:
        import torch
        from tqdm import tqdm  # tqdm.std: tqdm.auto's asyncio class calls iter() on the loader as it is built

        run, config = self.run, self.config
        plan = _epoch_plan(run.rng, self.lengths, config.chunk_frames)
        loader = torch.utils.data.DataLoader(
            _PlanDataset(self.dataset, plan),  # chunks cut as batches are drawn: never an epoch's worth in memory
            batch_size=config.batch_size,
            shuffle=False,
            num_workers=config.num_workers,
            pin_memory=run.device.type == "cuda",
            persistent_workers=False,
            # Each iterator of a DataLoader draws its workers' base seed from this generator; without one it
            # draws from torch's global RNG, which dropout uses, so the number of iterators built (an extra
            # iter() by a progress bar) would move every later dropout mask.
            generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch),
        )
        run.model.train()
        started, total, seen = time.perf_counter(), 0.0, 0
        # A tqdm bar in a terminal; in a log, each epoch's line and the node's heartbeat say how it goes.
        # The display cannot change the result: the loader draws from its own generator (above).
        bar = tqdm(loader, desc=f"epoch {epoch}", unit="batch", leave=False, disable=None if self.progress else True)
        for x, y in bar:
            x, y = x.to(run.device, non_blocking=True), y.to(run.device, non_blocking=True)
            run.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(run.device.type, dtype=self.amp_dtype, enabled=self.use_amp):  # [batch, n_tags]
                loss = self.loss_fn(run.model(x)[0].float(), y)
            self.scaler.scale(loss).backward()
            self.scaler.step(run.optimizer)
            self.scaler.update()
            total += float(loss.detach()) * len(x)
            seen += len(x)
        run.scheduler.step()
        seconds = time.perf_counter() - started
        return {
            "train_loss": total / max(seen, 1),
            "lr": run.optimizer.param_groups[0]["lr"],
            "seconds": seconds,
            "samples_per_second": seen / seconds if seconds else None,
        }


def _log_epoch(record: dict, improved: bool) -> None:
    logger.info(
        "epoch %d: loss %.4f, valid ROC-AUC %s, PR-AUC %s%s (%.1f s, %.0f samples/s)",
        record["epoch"],
        record["train_loss"],
        format_score(record["valid_roc_auc"]),
        format_score(record["valid_pr_auc"]),
        " *" if improved else "",
        record["seconds"],
        record["samples_per_second"] or 0,
    )


def _checkpoint(state: TrainState, run: _Run) -> dict:
    """Everything to resume exactly: the state, model, optimiser, schedule and both RNGs."""
    import torch

    return {
        **state.as_dict(),
        "fingerprint": run.fingerprint,
        "model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "numpy_rng": run.rng.bit_generator.state,
    }


class _PlanDataset:
    """One epoch's (track, offset) plan as a map-style dataset: chunks are cut when batches are drawn."""

    def __init__(self, chunks: _Chunks, plan: list[tuple[int, int]]):
        self.chunks, self.plan = chunks, plan

    def __len__(self) -> int:
        return len(self.plan)

    def __getitem__(self, i: int):
        return self.chunks[self.plan[i]]
