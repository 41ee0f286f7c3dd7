"""Pons & Serra 2019, "musicnn: pre-trained convolutional neural networks for music audio
tagging" (ISMIR late-breaking demo), and the VGG baseline of Pons et al. 2018, "End-to-end
learning for music audio tagging at scale" (ISMIR): torch ports of the two networks that
the ``musicnn`` package ships trained on the MSD (``MSD_musicnn`` and ``MSD_vgg``).

Both read one 3-s patch of log-mel, ``[shape=(batch, 187 frames, 96 bands)]``, and return
the 50 tag logits and an embedding. They follow musicnn's TensorFlow graph operation by
operation, so the converted weights give TensorFlow's outputs:

* TensorFlow's layout is ``[batch, time, frequency, channel]``; here time and frequency
  keep that order after the channel axis, and every flatten happens in TensorFlow's
  order (``_flatten_like_tf``).
* "valid" pooling is torch's default (no padding, floor); "same" padding of an even
  kernel puts the extra row after, as TensorFlow does (``_same_pad``).
* Batch norm uses TensorFlow's epsilon (1e-3) and, in eval mode, the moving averages.
* Convolutions apply ReLU, then batch norm (musicnn's order).

The weights are converted by ``tools/convert_musicnn.py`` (ISC licence, see
``msd_tagging/models/weights/NOTICE``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from msd_tagging.models.configs import MusicnnConfig, MusicnnVGGConfig

TF_BN_EPS = 1e-3  # tf.compat.v1.layers.batch_normalization's default epsilon


def _bn2d(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=TF_BN_EPS)


def _bn1d(channels: int) -> nn.BatchNorm1d:
    return nn.BatchNorm1d(channels, eps=TF_BN_EPS)


def _same_pad(length: int) -> tuple[int, int]:
    """TensorFlow's "same" padding of a stride-1 kernel: the odd row goes after."""
    return (length - 1) // 2, length - 1 - (length - 1) // 2


def _flatten_like_tf(x: torch.Tensor) -> torch.Tensor:
    """``[batch, C, H, W]`` flattened in TensorFlow's NHWC order."""
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


class MusicnnVGG(nn.Module):
    """Pons et al. 2018's VGG baseline, as trained by musicnn-training (``MSD_vgg``)."""

    def __init__(self, config: MusicnnVGGConfig):
        super().__init__()
        self.config = config
        self.input_bn = _bn2d(1)
        self.convs = nn.ModuleList(
            nn.Conv2d(1 if i == 0 else config.filters, config.filters, 3, padding=1) for i in range(len(config.pools))
        )
        self.bns = nn.ModuleList(_bn2d(config.filters) for _ in config.pools)
        self.pools = nn.ModuleList(nn.MaxPool2d(p, s) for p, s in zip(config.pools, config.strides, strict=True))
        self.dense = nn.Linear(config.flat_size(), config.n_tags)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [batch, frames, mels]`` → ``(logits [batch, tags], embedding [batch, flat])``;
        the embedding is the flattened last pool (``pool5``)."""
        x = self.input_bn(x.unsqueeze(1))  # [B, 1, T, F]
        for conv, bn, pool in zip(self.convs, self.bns, self.pools, strict=True):
            x = pool(bn(torch.relu(conv(x))))  # [B, 128, T', F']
        embedding = _flatten_like_tf(x)  # [B, 256] for 187 × 96
        return self.dense(embedding), embedding


class Musicnn(nn.Module):
    """Pons & Serra 2019's musicnn (``MSD_musicnn``)."""

    def __init__(self, config: MusicnnConfig):
        super().__init__()
        self.config = config
        self.input_bn = _bn2d(1)
        self.timbral = nn.ModuleList(
            nn.Conv2d(1, config.timbral_filters, (7, int(h * config.n_mels))) for h in config.timbral_heights
        )
        self.timbral_bns = nn.ModuleList(_bn2d(config.timbral_filters) for _ in config.timbral_heights)
        self.temporal = nn.ModuleList(nn.Conv2d(1, config.temporal_filters, (n, 1)) for n in config.temporal_lengths)
        self.temporal_bns = nn.ModuleList(_bn2d(config.temporal_filters) for _ in config.temporal_lengths)
        width = config.midend_filters
        self.midend = nn.ModuleList(nn.Conv1d(config.front_channels() if i == 0 else width, width, 7) for i in range(3))
        self.midend_bns = nn.ModuleList(_bn1d(width) for _ in range(3))
        pooled = 2 * (config.front_channels() + 3 * width)  # max and mean of every mid-end feature
        self.pool_bn = _bn1d(pooled)
        self.penultimate = nn.Linear(pooled, config.backend_units)
        self.penultimate_bn = _bn1d(config.backend_units)
        self.output = nn.Linear(config.backend_units, config.n_tags)

    def front_end(self, x: torch.Tensor) -> torch.Tensor:
        """``[B, T, F]`` → timbral then temporal features ``[B, 561, T]``."""
        x = self.input_bn(x.unsqueeze(1))  # [B, 1, T, F]
        padded = F.pad(x, (0, 0, 3, 3))  # time only: a cheap "same" for the 7-frame kernels
        features = [
            bn(torch.relu(conv(padded))).amax(dim=3)  # max over all frequencies: [B, 204, T]
            for conv, bn in zip(self.timbral, self.timbral_bns, strict=True)
        ]
        for conv, bn in zip(self.temporal, self.temporal_bns, strict=True):
            before, after = _same_pad(conv.kernel_size[0])
            features.append(bn(torch.relu(conv(F.pad(x, (0, 0, before, after))))).amax(dim=3))  # [B, 51, T]
        return torch.cat(features, dim=1)

    def mid_end(self, front: torch.Tensor) -> torch.Tensor:
        """Dense connections: ``[B, 561, T]`` → ``[B, 561 + 3·64, T]``."""
        outputs = [front]
        x = front
        for i, (conv, bn) in enumerate(zip(self.midend, self.midend_bns, strict=True)):
            y = bn(torch.relu(conv(F.pad(x, (3, 3)))))  # [B, 64, T]
            x = y if i == 0 else y + x  # residual from the second layer on
            outputs.append(x)
        return torch.cat(outputs, dim=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``x [batch, frames, mels]`` → ``(logits [batch, tags], embedding [batch, 200])``;
        the embedding is the penultimate layer after its batch norm (musicnn's ``penultimate``)."""
        features = self.mid_end(self.front_end(x))  # [B, 753, T]
        pooled = torch.stack([features.amax(dim=2), features.mean(dim=2)], dim=2)  # [B, 753, 2]
        pooled = self.pool_bn(pooled.reshape(pooled.shape[0], -1))  # TF flattens (feature, max|mean)
        embedding = self.penultimate_bn(torch.relu(self.penultimate(pooled)))  # [B, 200]
        return self.output(embedding), embedding
