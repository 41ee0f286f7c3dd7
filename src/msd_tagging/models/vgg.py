"""Choi, Fazekas & Sandler 2016, "Automatic tagging using deep convolutional neural
networks" (ISMIR): a fully convolutional VGG-style network on log-mel spectrograms.

Blocks of 3×3 convolution, batch norm, ReLU and max pooling over (frequency, time),
then a global max over what is left, dropout, and one linear layer to tag logits. The
global pooling lets the same network read chunks of any length, so training uses random
fixed-length chunks and tagging averages chunk predictions over the whole clip.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VGGConfig:
    """Network shape. The defaults are the paper-scale FCN-5 as reimplemented by Won et al.
    2020 (``conf/msd``); the demo uses a narrower one (``conf/base/parameters_audio.yml``)."""

    n_mels: int = 96  # input frequency bands
    n_tags: int = 50  # output tags
    channels: tuple[int, ...] = (64, 128, 128, 128, 64)  # one conv block per entry
    pools: tuple[tuple[int, int], ...] = ((2, 4), (2, 4), (2, 4), (3, 5), (4, 4))  # (freq, time) max-pool per block
    dropout: float = 0.5  # before the output layer

    def __post_init__(self):
        if len(self.channels) != len(self.pools):
            raise ValueError(f"channels ({len(self.channels)}) and pools ({len(self.pools)}) need one entry per block")

    def as_dict(self) -> dict:
        return {
            k: [list(p) for p in v] if k == "pools" else list(v) if isinstance(v, tuple) else v
            for k, v in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict) -> VGGConfig:
        data = dict(data)
        data["channels"] = tuple(data["channels"])
        data["pools"] = tuple(tuple(p) for p in data["pools"])
        return cls(**data)


class ConvBlock(nn.Module):
    """3×3 conv → batch norm → ReLU → max pool."""

    def __init__(self, c_in: int, c_out: int, pool: tuple[int, int]):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c_out)
        self.pool = nn.MaxPool2d(pool, ceil_mode=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.bn(self.conv(x))))


class VGGTagger(nn.Module):
    """Choi et al. 2016 fully convolutional tagger.

    Input ``[shape=(batch, n_mels, n_frames)]`` log-mel; output tag logits
    ``[shape=(batch, n_tags)]`` (apply a sigmoid for probabilities).
    """

    def __init__(self, config: VGGConfig):
        super().__init__()
        self.config = config
        self.input_bn = nn.BatchNorm2d(1)  # learns the input scale, as in Won et al.'s FCN
        widths = (1, *config.channels)
        self.blocks = nn.Sequential(
            *(ConvBlock(a, b, p) for a, b, p in zip(widths[:-1], widths[1:], config.pools, strict=True))
        )
        self.dropout = nn.Dropout(config.dropout)
        self.head = nn.Linear(config.channels[-1], config.n_tags)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input_bn(x.unsqueeze(1))  # (B, 1, n_mels, T)
        x = self.blocks(x)  # (B, C, n_mels', T')
        x = x.amax(dim=(2, 3))  # (B, C): global max over frequency and time
        return self.head(self.dropout(x))  # (B, n_tags)
