"""A trained tagger, loaded once and used to score: the pipeline's scoring, Dask scoring
and ``tag_audio`` all go through :class:`Tagger`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class Tagger:
    """A network with its tag names, chunk length and device.

    Attributes:
        network: the ``nn.Module``, in eval mode on ``device``.
        tags: tag names, in output order.
        chunk_frames: frames per chunk the network was trained on.
        device: the torch device it runs on.
    """

    network: Any
    tags: list[str]
    chunk_frames: int
    device: Any

    @classmethod
    def load(cls, model: dict, device: str = "auto") -> Tagger:
        """The tagger a saved model (``{"config", "state_dict", "tags", "chunk_frames"}``)
        holds, on ``device`` (``auto``: CUDA when available, else CPU)."""
        from msd_tagging.models.training import choose_device
        from msd_tagging.models.vgg import VGGConfig, VGGTagger

        chosen = choose_device(device)
        network = VGGTagger(VGGConfig.from_dict(model["config"]))
        network.load_state_dict(model["state_dict"])
        return cls(network.to(chosen), list(model["tags"]), int(model["chunk_frames"]), chosen)

    def predict(self, features: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Track probabilities ``[len(features), n_tags]``: the mean of chunk probabilities
        over chunks covering each clip. Torch's global RNG is left as it was."""
        import torch

        from msd_tagging.models.training import predict

        with torch.random.fork_rng(devices=[]):
            return predict(self.network, features, self.chunk_frames, batch_size, self.device)
