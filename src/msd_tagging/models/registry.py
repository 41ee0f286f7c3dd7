"""Every network behind one interface: a registry ``{name: Architecture}``.

Each network takes a batch of log-mel windows and returns ``(logits, embedding)``; each
saved model, trained here or shipped pretrained, is one record::

    {"format", "architecture", "config", "state_dict", "tags", "preprocessing", "provenance"}

``preprocessing`` holds the log-mel settings the model was trained on and
``patch_frames``, its window length. Training, :class:`~msd_tagging.models.tagger.Tagger`
(scoring, Dask scoring, ``tag_audio``) and the pretrained checks all build networks
through :func:`build` and read records through :func:`read_record`. Adding an
architecture is its module, one entry here and one ``audio.model`` block (docs/extending.md,
"Adding an architecture"). No torch import at module level.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from msd_tagging.core.errors import MSDDataError
from msd_tagging.models.configs import HeadNetConfig, MusicnnConfig, MusicnnVGGConfig, VGGConfig

FORMAT = "msd-tagging tagger, version 2"
FORMATS = (FORMAT, "msd-tagging pretrained tagger, version 1")  # the shipped weights' format, the same keys
RECORD_KEYS = ("format", "architecture", "config", "state_dict", "tags", "preprocessing", "provenance")


@dataclass(frozen=True)
class Architecture:
    """One network and how it is fed.

    Attributes:
        network: ``"module:Class"`` of the ``nn.Module`` (imported when built).
        config: its shape's parameter block class.
        layout: the window's axes: ``mels_frames`` (``[batch, n_mels, frames]``) or
            ``frames_mels`` (``[batch, frames, n_mels]``, musicnn's TensorFlow layout).
        windows: how a clip is cut for scoring: ``cover`` (windows of ``patch_frames``
            covering the whole clip, the tail included: trained on random chunks),
            ``patches`` (musicnn's: non-overlapping from the start, a trailing partial
            one dropped, a short clip repeat-padded) or ``embedding`` (a head: its
            pretrained network's patches, their embedding pooled).
        output_layer: the name of its last layer's parameters (reordering a model's tags).
        trainable: whether ``train_tagger`` trains it here.
        channels_last: run on CPU in channels-last memory (faster for 128-filter convs).
    """

    network: str
    config: type
    layout: str = "mels_frames"
    windows: str = "cover"
    output_layer: str = "head"
    trainable: bool = False
    channels_last: bool = False

    def __post_init__(self):
        if self.trainable and self.layout != "mels_frames":
            raise ValueError(
                f"{self.network}: a trainable architecture is trained on log-mel windows [batch, n_mels, frames] "
                f"(layout mels_frames), not {self.layout!r}; a network on a base network's embedding is a head."
            )


ARCHITECTURES: dict[str, Architecture] = {
    "vgg": Architecture("msd_tagging.models.vgg:VGGTagger", VGGConfig, trainable=True),
    "musicnn_vgg": Architecture(
        "msd_tagging.models.musicnn:MusicnnVGG", MusicnnVGGConfig, "frames_mels", "patches", "dense",
        channels_last=True,
    ),
    "musicnn": Architecture("msd_tagging.models.musicnn:Musicnn", MusicnnConfig, "frames_mels", "patches", "output"),
    # A head on a pretrained network's embedding (audio.model_source: head): trained by
    # train_tagger, fed the pooled embeddings the run stores.
    "head": Architecture("msd_tagging.models.heads:EmbeddingHead", HeadNetConfig, "embedding", "embedding", "output"),
}  # fmt: skip


def architecture(name: str) -> Architecture:
    """The registered architecture ``name``; an error listing the registered ones otherwise."""
    if name not in ARCHITECTURES:
        raise MSDDataError(
            f"no architecture named {name!r}; the registry has {', '.join(ARCHITECTURES)}.",
            fix="add it to msd_tagging.models.registry.ARCHITECTURES (docs/extending.md, 'Adding an architecture').",
        )
    return ARCHITECTURES[name]


def make_config(name: str, config: Any) -> Any:
    """``config`` (a mapping, or already the block) as the architecture's config block."""
    cls = architecture(name).config
    return config if isinstance(config, cls) else cls(**dict(config))


def build(name: str, config: Any):
    """The ``nn.Module`` of architecture ``name`` with shape ``config`` (untrained)."""
    module, _, cls = architecture(name).network.partition(":")
    return getattr(importlib.import_module(module), cls)(make_config(name, config))


def model_record(
    name: str, config: Any, state_dict: dict, tags: list[str], preprocessing: dict, provenance: dict
) -> dict:
    """A saved model: everything needed to rebuild, check and use it."""
    return {
        "format": FORMAT,
        "architecture": name,
        "config": make_config(name, config).as_dict(),
        "state_dict": state_dict,
        "tags": list(tags),
        "preprocessing": dict(preprocessing),
        "provenance": dict(provenance),
    }


def read_record(record: dict, where: str = "the model") -> dict:
    """``record`` checked to be a saved model of a registered architecture.

    A model trained by an earlier version (no ``architecture``; its window length under
    ``chunk_frames``) is read as the VGG it is.

    Raises:
        MSDDataError: naming what is missing, or an architecture the registry lacks.
    """
    if "architecture" not in record and {"config", "state_dict", "tags", "chunk_frames"} <= set(record):
        mel = dict(record.get("preprocessing") or {})
        record = model_record(
            "vgg",
            record["config"],
            record["state_dict"],
            record["tags"],
            {**mel, "patch_frames": int(record["chunk_frames"])},
            record.get("provenance") or {},
        )
    missing = [key for key in RECORD_KEYS if key not in record]
    if missing or record["format"] not in FORMATS:
        raise MSDDataError(
            f"{where} is not a saved tagger (missing {', '.join(missing) or 'nothing'}, format "
            f"{record.get('format')!r})",
            fix="retrain it (kedro run --pipeline=hybrid), or regenerate shipped weights with tools/convert_musicnn.py",
        )
    architecture(record["architecture"])
    if "patch_frames" not in record["preprocessing"]:
        raise MSDDataError(f"{where} does not record its window length (preprocessing.patch_frames)")
    return record
