"""Kedro datasets over the log-mel feature store: the handle extraction writes through,
and the manifest it returns, which downstream nodes read the store by."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from msd_tagging.audio.store import MANIFEST_FILE, FeatureStore, FeatureStoreWriter
from msd_tagging.core.files import atomic_path

logger = logging.getLogger(__name__)


class FeatureStoreDataset(AbstractDataset[None, FeatureStoreWriter]):
    """Loads a :class:`~msd_tagging.audio.store.FeatureStoreWriter`, the handle the
    ``extract_features`` node writes shards through (as ``CheckpointDataset`` does for
    training); nothing is saved through the dataset itself.

    Args:
        path: the store folder.
        audio_root: the folder that relative audio paths start from.
        progress: show a progress bar when attached to a terminal.
    """

    def __init__(self, path: str, audio_root: str, progress: bool = True, metadata: dict | None = None):
        self._writer = FeatureStoreWriter(Path(path), Path(audio_root), progress)
        self.metadata = metadata

    def load(self) -> FeatureStoreWriter:
        return self._writer

    def save(self, data: None) -> None:
        raise DatasetError("features are written by the extract_features node through the loaded handle")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._writer.root), "audio_root": str(self._writer.audio_root)}


class StoreManifestDataset(AbstractDataset[pd.DataFrame, Any]):
    """A store's manifest, saved atomically as ``<store>/manifest.parquet`` by the node that
    fills the store; loads the store's read side (``store``) over it. Subclasses name the
    store and the node.

    Args:
        path: the store folder.
    """

    store: Any = None  # the read side's class: store(root, manifest)
    made_by: str = ""  # the node that writes the store, for the error when it has not run

    def __init__(self, path: str, metadata: dict | None = None):
        self._root = Path(path)
        self.metadata = metadata

    def save(self, data: pd.DataFrame) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        with atomic_path(self._root / MANIFEST_FILE) as partial:
            data.to_parquet(partial, index=False)

    def load(self):
        if not self._exists():
            raise DatasetError(f"{self._root}: no manifest; run {self.made_by} first")
        return type(self).store(self._root, pd.read_parquet(self._root / MANIFEST_FILE))

    def _exists(self) -> bool:
        return (self._root / MANIFEST_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root)}


class FeatureManifestDataset(StoreManifestDataset):
    """The feature store's manifest (one row per track tried: status, shard, offset,
    frames), returned by ``extract_features``; loads the store's read side
    (:class:`~msd_tagging.audio.store.FeatureStore`) over it."""

    store = FeatureStore
    made_by = "extract_features"
