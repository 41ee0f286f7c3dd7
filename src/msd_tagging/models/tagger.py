"""A tagger, loaded once and used to score: the pipeline's scoring, Dask scoring and
``tag_audio`` all go through :class:`Tagger`, whatever the network: one trained by this
project or one of the pretrained MSD taggers, built through the registry
(:mod:`msd_tagging.models.registry`) from one kind of record.

Tagging a file from Python is one call, with no Kedro run::

    from msd_tagging import Tagger

    result = Tagger.pretrained("msd_musicnn").tag("song.mp3")
    result.top(5)          # [("rock", 0.61), ("guitar", 0.33), ...]
    result.embedding       # the network's penultimate layer, the mean over the file's windows

    Tagger.from_run("data/06_models/demo/audio_model.pt").tag("song.mp3")   # a run's own model

The file is decoded, checked and turned into log-mel features with the preprocessing the
model records; a damaged file gives a result with its status and no probabilities.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from msd_tagging.models.registry import Architecture, architecture, build, read_record

CPU_PATCH_BATCH = 1  # musicnn patches per forward pass on a CPU (see predict_and_embed)


@dataclass
class Tagger:
    """A network with its tag names, window length and device.

    Attributes:
        network: the ``nn.Module``, in eval mode on ``device``.
        tags: tag names, in output order.
        chunk_frames: frames per window.
        device: the torch device it runs on.
        kind: the architecture (its layout and how a clip is cut into windows).
    """

    network: Any
    tags: list[str]
    chunk_frames: int
    device: Any
    kind: Architecture
    base: Tagger | None = None  # a head's pretrained network, whose embedding it reads
    preprocessing: dict = field(default_factory=dict)  # the log-mel settings the model was trained on

    @classmethod
    def pretrained(cls, name: str = "msd_musicnn", device: str = "auto") -> Tagger:
        """One of the MSD taggers this package ships (``msd_musicnn``, ``msd_vgg``)."""
        from msd_tagging.models.pretrained import pretrained_record

        return cls.load(pretrained_record(name), device)

    @classmethod
    def from_run(cls, model_file: str | os.PathLike, device: str = "auto") -> Tagger:
        """A run's own audio model (``data/06_models/<run>/…pt``): the network it trained,
        or its head on a pretrained embedding, in the run's vocabulary."""
        from msd_tagging.core.files import safe_torch_load

        return cls.load(safe_torch_load(model_file, "the run's audio model"), device)

    @classmethod
    def load(cls, model: dict, device: str = "auto") -> Tagger:
        """The tagger a saved model record holds (:func:`~msd_tagging.models.registry.read_record`),
        on ``device`` (``auto``: CUDA when available)."""
        import torch

        from msd_tagging.models.inference import choose_device

        record = read_record(model)
        chosen = choose_device(device)
        kind = architecture(record["architecture"])
        network = build(record["architecture"], record["config"])
        network.load_state_dict(record["state_dict"])
        network = network.to(chosen).eval()
        if kind.channels_last:
            network = network.to(memory_format=torch.channels_last)
        base = None
        if kind.windows == "embedding":  # a head: its pretrained network computes what it reads
            from msd_tagging.models.pretrained import pretrained_record

            base = cls.load(pretrained_record(record["config"]["embedding"]), device)
        frames = int(record["preprocessing"]["patch_frames"])
        return cls(network, list(record["tags"]), frames, chosen, kind, base, dict(record["preprocessing"]))

    def features_of(self, audio: str | os.PathLike, damage=None, max_seconds: float | None = None):
        """``(features or None, status, detail)`` of one file, decoded and checked with the
        model's own preprocessing (:func:`~msd_tagging.audio.signal.check_and_extract`),
        rounded as the model saw its training features (float16 for this project's)."""
        from msd_tagging.audio.signal import DamageConfig, NonFiniteFeatures, check_and_extract

        try:
            features, status, detail = check_and_extract(
                audio, self.mel, damage or DamageConfig(expected_seconds=0.0), max_seconds=max_seconds
            )
        except NonFiniteFeatures:
            return None, "not_finite", "decoded samples are NaN or infinite"
        if features is not None and not self.reads_patches:
            features = features.astype(np.float16).astype(np.float32)  # as this project's feature store keeps them
        return features, status, detail

    @property
    def mel(self):
        """The log-mel settings the model was trained on (:class:`~msd_tagging.audio.signal.MelConfig`)."""
        from msd_tagging.audio.signal import MelConfig

        known = {k: v for k, v in self.preprocessing.items() if k in MelConfig.__dataclass_fields__}
        return MelConfig(**known)

    def tag(self, audio: str | os.PathLike, *, max_seconds: float | None = None, damage=None) -> TagResult:
        """Tag one audio file: its tag probabilities and embedding (see the module)."""
        features, status, detail = self.features_of(audio, damage, max_seconds)
        if features is None:
            return TagResult(str(audio), status, detail, {}, None)
        probabilities, embedding = self.predict_and_embed([features])
        return TagResult(
            str(audio), status, detail, dict(zip(self.tags, map(float, probabilities[0]), strict=True)), embedding[0]
        )

    @property
    def reads_patches(self) -> bool:
        """Scores as musicnn does (patches, float32 features), not as this project trains."""
        return self.kind.windows == "patches"

    @property
    def is_head(self) -> bool:
        """A head on a pretrained embedding (it reads the float16 log-mels a run stores)."""
        return self.base is not None

    def predict(self, features: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Track probabilities ``[len(features), n_tags]``: the mean of window probabilities
        over each clip. Torch's global RNG is left as it was."""
        return self.predict_and_embed(features, batch_size)[0]

    def predict_and_embed(self, features: Sequence[np.ndarray], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities ``[n, n_tags]`` and embeddings ``[n, d]``, each the mean over the
        clip's windows (``cover``: windows covering the clip; ``patches``: musicnn's)."""
        import torch

        from msd_tagging.models.inference import predict

        if self.kind.windows == "cover":
            with torch.random.fork_rng(devices=[]):
                return predict(self.network, features, self.chunk_frames, batch_size, self.device, embed=True)
        if self.is_head:
            return self.predict_from_embeddings(self.base.pooled_embeddings(features, batch_size=batch_size))
        return self._patches(features, batch_size)

    def predict_from_embeddings(self, embeddings: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A head's probabilities ``[n, n_tags]`` from stored embeddings ``[n, d]`` (their
        mean part), and those embeddings."""
        import torch

        width = self.network.config.input_dim
        with torch.inference_mode():
            logits, _ = self.network(torch.from_numpy(np.ascontiguousarray(embeddings[:, :width])).to(self.device))
        return torch.sigmoid(logits.float()).cpu().numpy(), embeddings[:, :width]

    def pooled_embeddings(self, features: Sequence[np.ndarray], *, with_std: bool = False, batch_size: int = 64):
        """Each clip's embedding ``[n, d]``: the mean over its patches (musicnn's windows),
        and with ``with_std`` their standard deviation after it ``[n, 2d]``."""
        patches = self._patch_outputs(features, batch_size)[1]
        owner, rows, n = patches
        mean = _mean_by(owner, [rows], n)
        if not with_std:
            return mean
        deviation = rows.astype(np.float64) - mean[owner].astype(np.float64)
        return np.hstack([mean, np.sqrt(_mean_by(owner, [deviation**2], n))])

    def _patches(self, features: Sequence[np.ndarray], batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        (owner, probabilities, n), (_, embeddings, _) = self._patch_outputs(features, batch_size)
        return _mean_by(owner, [probabilities], n), _mean_by(owner, [embeddings], n)

    def _patch_outputs(self, features: Sequence[np.ndarray], batch_size: int):
        """Per patch: ``((owner, probabilities, n_clips), (owner, embeddings, n_clips))``."""
        import torch

        from msd_tagging.models.pretrained import patches

        if self.device.type == "cpu":
            # Small batches keep a patch's activations in cache: one patch at a time is the
            # fastest on a 2-core CPU (benchmarks/results/pretrained_tagging.md).
            batch_size = min(batch_size, CPU_PATCH_BATCH)
        cut = [patches(x, self.chunk_frames) for x in features]
        owner = np.repeat(np.arange(len(cut)), [len(c) for c in cut])
        stacked = np.concatenate(cut) if cut else np.zeros((0, self.chunk_frames, 96), np.float32)
        probabilities, embeddings = [], []
        with torch.inference_mode():
            for start in range(0, len(stacked), batch_size):
                logits, embedding = self.network(torch.from_numpy(stacked[start : start + batch_size]).to(self.device))
                probabilities.append(torch.sigmoid(logits.float()).cpu().numpy())
                embeddings.append(embedding.float().cpu().numpy())
        probabilities = np.concatenate(probabilities) if probabilities else np.zeros((0, len(self.tags)), np.float32)
        embeddings = np.concatenate(embeddings) if embeddings else np.zeros((0, 0), np.float32)
        return (owner, probabilities, len(cut)), (owner, embeddings, len(cut))


@dataclass(frozen=True)
class TagResult:
    """What :meth:`Tagger.tag` found in one file.

    Attributes:
        file: the file.
        status, detail: ``ok``, or why it was not tagged (``not_audio``, ``truncated``, ...).
        probabilities: ``{tag: probability}`` in the model's tag order (empty if not tagged).
        embedding: the model's penultimate layer, the mean over the file's windows (``None``
            if not tagged).
    """

    file: str
    status: str
    detail: str
    probabilities: dict[str, float]
    embedding: np.ndarray | None

    def top(self, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` most probable tags, most probable first."""
        return sorted(self.probabilities.items(), key=lambda item: -item[1])[:k]


def _mean_by(owner: np.ndarray, pieces: list[np.ndarray], n: int) -> np.ndarray:
    """Mean of the rows of ``pieces`` (stacked) grouped by ``owner`` ``[n, width]``."""
    if not pieces:
        return np.zeros((n, 0), np.float32)
    rows = np.concatenate(pieces).astype(np.float64)
    sums = np.zeros((n, rows.shape[1]))
    np.add.at(sums, owner, rows)
    return (sums / np.maximum(np.bincount(owner, minlength=n), 1)[:, None]).astype(np.float32)
