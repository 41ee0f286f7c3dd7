"""Shapes of the networks this project trains, as parameter blocks (no torch import, so
``kedro`` commands and parameter checks start fast). The networks are in :mod:`.vgg`."""

from __future__ import annotations

from dataclasses import asdict

from msd_tagging.config import parameters, setting
from msd_tagging.errors import ParameterError


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
