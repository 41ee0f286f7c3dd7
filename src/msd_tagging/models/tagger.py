"""A tagger, loaded once and used to score: the pipeline's scoring, Dask scoring and
``tag_audio`` all go through :class:`Tagger`, whether its network was trained by this
project or is one of the pretrained MSD taggers (``msd_tagging.models.pretrained``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

CPU_PATCH_BATCH = 1  # patches per forward pass of a pretrained tagger on a CPU


@dataclass
class Tagger:
    """A network with its tag names, chunk length and device.

    Attributes:
        network: the ``nn.Module``, in eval mode on ``device``.
        tags: tag names, in output order.
        chunk_frames: frames per chunk (trained) or patch (pretrained).
        device: the torch device it runs on.
        pretrained: scores as musicnn does (non-overlapping patches from the start, the
            trailing partial one dropped, a short clip repeat-padded), and can embed.
    """

    network: Any
    tags: list[str]
    chunk_frames: int
    device: Any
    pretrained: bool = False

    @classmethod
    def load(cls, model: dict, device: str = "auto") -> Tagger:
        """The tagger a saved model holds, on ``device`` (``auto``: CUDA when available).

        ``model`` is either a trained VGG (``{"config", "state_dict", "tags",
        "chunk_frames"}``) or a pretrained record (``architecture`` and ``preprocessing``
        too, see :func:`msd_tagging.models.pretrained.pretrained_record`)."""
        from msd_tagging.models.training import choose_device

        chosen = choose_device(device)
        if "architecture" in model:
            from msd_tagging.models.musicnn import build

            network = build(model["architecture"], model["config"])
            network.load_state_dict(model["state_dict"])
            network = network.to(chosen).eval()
            if model["architecture"] == "musicnn_vgg":
                import torch

                # oneDNN's NHWC convolutions: 1.5x faster for the 128-filter VGG on CPU (slower for musicnn)
                network = network.to(memory_format=torch.channels_last)
            frames = int(model["preprocessing"]["patch_frames"])
            return cls(network, list(model["tags"]), frames, chosen, pretrained=True)
        from msd_tagging.models.vgg import VGGConfig, VGGTagger

        network = VGGTagger(VGGConfig.from_dict(model["config"]))
        network.load_state_dict(model["state_dict"])
        return cls(network.to(chosen), list(model["tags"]), int(model["chunk_frames"]), chosen)

    def predict(self, features: Sequence[np.ndarray], batch_size: int = 64) -> np.ndarray:
        """Track probabilities ``[len(features), n_tags]``: the mean of chunk (or patch)
        probabilities over each clip. Torch's global RNG is left as it was."""
        import torch

        from msd_tagging.models.training import predict

        if self.pretrained:
            return self.predict_and_embed(features, batch_size)[0]
        with torch.random.fork_rng(devices=[]):
            return predict(self.network, features, self.chunk_frames, batch_size, self.device)

    def predict_and_embed(self, features: Sequence[np.ndarray], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Pretrained taggers only: probabilities ``[n, n_tags]`` and embeddings ``[n, d]``,
        each the mean over the clip's patches (musicnn's ``top_tags`` averages sigmoids)."""
        import torch

        from msd_tagging.models.pretrained import patches

        if not self.pretrained:
            raise ValueError("embeddings come from the pretrained taggers (tag_audio.model: msd_musicnn or msd_vgg)")
        if self.device.type == "cpu":
            # Small batches keep a patch's activations in cache: on 2 cores, 96 patches of
            # msd_vgg take 1.9 s one by one, 3.0 s in batches of 4 and 6.6 s in batches of 64.
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
        return _mean_by(owner, probabilities, len(cut)), _mean_by(owner, embeddings, len(cut))


def _mean_by(owner: np.ndarray, pieces: list[np.ndarray], n: int) -> np.ndarray:
    """Mean of the rows of ``pieces`` (stacked) grouped by ``owner`` ``[n, width]``."""
    if not pieces:
        return np.zeros((n, 0), np.float32)
    rows = np.concatenate(pieces).astype(np.float64)
    sums = np.zeros((n, rows.shape[1]))
    np.add.at(sums, owner, rows)
    return (sums / np.maximum(np.bincount(owner, minlength=n), 1)[:, None]).astype(np.float32)
