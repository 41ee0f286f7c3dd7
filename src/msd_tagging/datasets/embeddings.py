"""Kedro datasets over the embedding store: the handle the ``embed_tracks`` node writes
through, and the manifest it returns, which loads the store's read side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from msd_tagging.files import atomic_path
from msd_tagging.models.embeddings import MANIFEST_FILE, EmbeddingStore, EmbeddingStoreWriter


class EmbeddingStoreDataset(AbstractDataset[None, EmbeddingStoreWriter]):
    """Loads a :class:`~msd_tagging.models.embeddings.EmbeddingStoreWriter`; nothing is
    saved through the dataset itself.

    Args:
        path: the store folder.
        progress: show a progress bar when attached to a terminal.
    """

    def __init__(self, path: str, progress: bool = True, metadata: dict | None = None):
        self._writer = EmbeddingStoreWriter(Path(path), progress)
        self.metadata = metadata

    def load(self) -> EmbeddingStoreWriter:
        return self._writer

    def save(self, data: None) -> None:
        raise DatasetError("embeddings are written by the embed_tracks node through the loaded handle")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._writer.root)}


class EmbeddingManifestDataset(AbstractDataset[pd.DataFrame, EmbeddingStore]):
    """The store's manifest (``track_id, shard`` in row order), saved as
    ``<store>/manifest.parquet``; loads the read side over it (its ``config.json`` says
    which model, weights, preprocessing and features made it)."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._root = Path(path)
        self.metadata = metadata

    def save(self, data: pd.DataFrame) -> None:
        self._root.mkdir(parents=True, exist_ok=True)
        with atomic_path(self._root / MANIFEST_FILE) as partial:
            data.to_parquet(partial, index=False)

    def load(self) -> EmbeddingStore:
        if not (self._root / MANIFEST_FILE).is_file():
            raise DatasetError(f"{self._root}: no embedding manifest; run embed_tracks first")
        return EmbeddingStore(self._root, pd.read_parquet(self._root / MANIFEST_FILE))

    def _exists(self) -> bool:
        return (self._root / MANIFEST_FILE).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root)}
