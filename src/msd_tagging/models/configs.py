"""Shapes of the networks, as parameter blocks (no torch import, so ``kedro`` commands and
parameter checks start fast). The networks are in :mod:`.vgg` and :mod:`.musicnn`; the
registry that pairs them is :mod:`.registry`."""

from __future__ import annotations

from dataclasses import asdict

from msd_tagging.core.config import parameters, setting
from msd_tagging.core.errors import ParameterError


@parameters("audio.model")
class VGGConfig:
    """Network shape. The defaults are the paper-scale FCN-5 as reimplemented by Won et al.
    2020 (``conf/msd``); the demo uses a narrower one (``conf/base/parameters_audio.yml``)."""

    n_mels: int = setting(96, minimum=1)  # input frequency bands
    n_tags: int = setting(50, minimum=1)  # output tags (the run's vocabulary sets it)
    channels: tuple[int, ...] = setting((64, 128, 128, 128, 64), minimum=1)  # one conv block per entry
    pools: tuple[tuple[int, int], ...] = setting(((2, 4), (2, 4), (2, 4), (3, 5), (4, 4)), minimum=1)  # (freq, time)
    dropout: float = setting(0.5, minimum=0.0, maximum=1.0)  # before the output layer

    def __post_init__(self):
        if len(self.channels) != len(self.pools):
            raise ParameterError(
                "audio.model.pools",
                f"channels has {len(self.channels)} entries and pools {len(self.pools)}; they need one per block.",
            )

    def as_dict(self) -> dict:
        return {
            k: [list(p) for p in v] if k == "pools" else list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict) -> VGGConfig:
        return cls(**data)


@parameters("audio.model")
class MusicnnVGGConfig:
    """musicnn's ``vgg``: input batch norm, 5 × (conv 3×3 → ReLU → BN → max pool), dense."""

    n_mels: int = 96  # input frequency bands
    n_frames: int = 187  # patch length: the dense layer fixes it
    n_tags: int = 50
    filters: int = 128  # every conv block
    pools: tuple[tuple[int, int], ...] = ((4, 1), (2, 2), (2, 2), (2, 2), (4, 4))  # (time, frequency)
    strides: tuple[tuple[int, int], ...] = ((2, 2), (2, 2), (2, 2), (2, 2), (4, 4))

    def as_dict(self) -> dict:
        return {k: [list(p) for p in v] if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def flat_size(self) -> int:
        """Features after the last pool, flattened: the embedding's size."""
        time, freq = self.n_frames, self.n_mels
        for (pt, pf), (st, sf) in zip(self.pools, self.strides, strict=True):
            time, freq = (time - pt) // st + 1, (freq - pf) // sf + 1
        return time * freq * self.filters


@parameters("audio.model")
class MusicnnConfig:
    """musicnn: musically motivated front end, dense mid end, global-pool back end."""

    n_mels: int = 96
    n_tags: int = 50
    timbral_filters: int = 204  # int(1.6 × 128), per timbral kernel
    timbral_heights: tuple[float, ...] = (0.4, 0.7)  # kernel heights as shares of n_mels (7 frames wide)
    temporal_filters: int = 51  # int(1.6 × 32), per temporal kernel
    temporal_lengths: tuple[int, ...] = (128, 64, 32)  # frames
    midend_filters: int = 64
    backend_units: int = 200  # the penultimate layer: the embedding

    def as_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def front_channels(self) -> int:
        return self.timbral_filters * len(self.timbral_heights) + self.temporal_filters * len(self.temporal_lengths)


@parameters("audio.head")
class HeadNetConfig:
    """A head on a pretrained model's embedding: the saved shape of :class:`~msd_tagging.models.heads.EmbeddingHead`.

    ``hidden`` 0 is a per-tag logistic regression (one linear layer); otherwise a small MLP.
    ``embedding`` names the pretrained model whose embedding it reads, so a saved head
    rebuilds the whole tagger (``tag_audio.model: run``).
    """

    embedding: str = "msd_musicnn"
    input_dim: int = setting(200, minimum=1)
    n_tags: int = setting(50, minimum=1)
    hidden: int = setting(0, minimum=0)
    dropout: float = setting(0.0, minimum=0.0, maximum=0.9)

    def as_dict(self) -> dict:
        return asdict(self)
