"""Kedro datasets over the embedding store: the handle the ``embed_tracks`` node writes
through, and the manifest it returns, which loads the store's read side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from msd_tagging.datasets.features import StoreManifestDataset
from msd_tagging.models.embeddings import EmbeddingStore, EmbeddingStoreWriter


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


class EmbeddingManifestDataset(StoreManifestDataset):
    """The store's manifest (``track_id, shard`` in row order), returned by ``embed_tracks``;
    loads the read side over it (its ``config.json`` says which model, weights,
    preprocessing and features made it)."""

    store = EmbeddingStore
    made_by = "embed_tracks"
