"""Choi, Fazekas & Sandler 2016, "Automatic tagging using deep convolutional neural
networks" (ISMIR): a fully convolutional VGG-style network on log-mel spectrograms.

Blocks of 3×3 convolution, batch norm, ReLU and max pooling over (frequency, time),
then a global max over what is left, dropout, and one linear layer to tag logits. The
global pooling lets the same network read chunks of any length, so training uses random
fixed-length chunks and tagging averages chunk predictions over the whole clip.
"""

from __future__ import annotations

import torch
from torch import nn

from msd_tagging.models.configs import VGGConfig

__all__ = ["ConvBlock", "VGGConfig", "VGGTagger"]


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
    ``[shape=(batch, n_tags)]`` (apply a sigmoid for probabilities) and the embedding,
    the globally max-pooled last block ``[shape=(batch, channels[-1])]``.
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

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.input_bn(x.unsqueeze(1))  # (B, 1, n_mels, T)
        x = self.blocks(x)  # (B, C, n_mels', T')
        embedding = x.amax(dim=(2, 3))  # (B, C): global max over frequency and time
        return self.head(self.dropout(embedding)), embedding  # (B, n_tags), (B, C)
