"""A store of pretrained embeddings, one row per track with audio, computed once from the
log-mel store.

Layout::

    <store>/config.json              the model (name, weight file's SHA-256), its preprocessing,
                                     the feature store's source, whether the std is kept
    <store>/shards/<name>.npy        float32 [tracks, d] (or [tracks, 2d]: mean then std)
    <store>/shards/<name>.parquet    the shard's track IDs, in row order: its commit
    <store>/manifest.parquet         every part together, as the last embedding returned it

The embedding of a track is the mean over its patches of the network's penultimate layer
(musicnn's ``MSD_musicnn``: 200 values, ``MSD_vgg``: 256), optionally with the standard
deviation. A shard counts once its ``.parquet`` exists, both files moved into place with
the ``.npy`` first, so an interrupted run leaves nothing that counts half-done and a rerun
embeds only the tracks no committed shard has; a committed shard whose ``.npy`` is cut,
unreadable or short of rows is redone (as the feature store does), and the read side
names such a shard rather than shifting rows. A store made with another model, other
weights, other preprocessing or from another feature store is rebuilt (its rows would be
another space's); the read side checks the same on load.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.audio.store import FeatureStore
from msd_tagging.core import shards
from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.shards import ShardedStore

logger = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.parquet"
REDO = "rerun the embed_tracks node (kedro run --pipeline=hybrid), which checks every shard and redoes a bad one"


def store_config(model: str, record: dict, features: FeatureStore, with_std: bool) -> dict:
    """What a store's rows depend on: the model and its weight file (the SHA-256 the
    package records for it), the preprocessing, the feature store's source, and whether
    the standard deviation is kept."""
    from msd_tagging.models.pretrained import checksums

    weights = checksums().get(f"{model}.pt")
    return {
        "model": model,
        "weights_sha256": weights,
        "preprocessing": {k: v for k, v in record["preprocessing"].items()},
        "features_source": (features.config or {}).get("source"),
        "with_std": bool(with_std),
    }


class EmbeddingStore(ShardedStore):
    """Read side: the embedding of every stored track, as one matrix."""

    def __init__(self, root: str | Path, manifest: pd.DataFrame | None = None):
        super().__init__(root, manifest)
        self._matrix: np.ndarray | None = None

    @property
    def track_ids(self) -> list[str]:
        return self.manifest["track_id"].tolist()

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1]) if len(self.manifest) else 0

    @property
    def matrix(self) -> np.ndarray:
        """``[tracks, d]`` float32, rows in manifest order."""
        if self._matrix is None:
            parts = [self._shard(s, n) for s, n in self.manifest.groupby("shard", sort=False).size().items()]
            self._matrix = np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)
        return self._matrix

    def _shard(self, name: str, rows: int) -> np.ndarray:
        """One shard's rows, checked against its manifest: a cut or short shard would shift
        every later track's row."""
        path = self.root / "shards" / f"{name}.npy"
        try:
            data = np.load(path)
        except (OSError, ValueError) as exc:
            raise MSDDataError(f"the embedding shard cannot be read ({exc}).", path=path, fix=REDO) from exc
        if data.shape[0] != rows:
            raise MSDDataError(
                f"the embedding shard holds {data.shape[0]} rows, its manifest {rows}.", path=path, fix=REDO
            )
        return data

    def rows(self, track_ids) -> np.ndarray:
        """Embeddings of ``track_ids`` ``[n, d]``; an error names a track without one."""
        index = pd.Index(self.manifest["track_id"])
        where = index.get_indexer(pd.Index(track_ids))
        if (where < 0).any():
            missing = pd.Index(track_ids)[where < 0]
            raise MSDDataError(
                f"{len(missing)} track(s) have no embedding in {self.root}, e.g. {missing[0]}",
                fix="rerun the embed_tracks node (kedro run --pipeline=hybrid) after feature extraction",
            )
        return self.matrix[where]

    def check(self, expected: dict) -> None:
        """Stop when the store was made by another model, weights, preprocessing or features."""
        if self.config != expected:
            differ = sorted(k for k in expected if (self.config or {}).get(k) != expected[k])
            raise MSDDataError(
                f"the embedding store was made with other settings ({', '.join(differ)} differ)",
                path=self.root / "config.json",
                fix="rerun the embed_tracks node, which rebuilds it (kedro run --pipeline=hybrid)",
            )


def read_manifest(root: Path) -> pd.DataFrame:
    return shards.read_manifest(root, ShardedStore.columns)


@dataclass(frozen=True)
class EmbeddingStoreWriter:
    """Where the ``embed_tracks`` node writes (as the feature store's writer)."""

    root: Path
    progress: bool = True

    def embed(self, features: FeatureStore, model: str, record: dict, settings) -> pd.DataFrame:
        """Embed every track of ``features`` that no committed shard holds; the manifest.

        Args:
            settings: ``audio.embeddings`` (``with_std``, ``tracks_per_shard``, the device,
                the Dask scheduler address when given).
        """
        config = store_config(model, record, features, settings.with_std)
        _open(self.root, config)
        shards.drop_broken_shards(self.root / "shards", len, "Embedding")
        done = set(read_manifest(self.root)["track_id"])
        todo = [t for t in features.track_ids if t not in done]
        logger.info("Embeddings (%s): %d tracks to embed, %d already in %s.", model, len(todo), len(done), self.root)
        if todo:
            _embed_all(features, todo, record, settings, self.root, self.progress)
        return read_manifest(self.root)


def _open(root: Path, config: dict) -> None:
    """Create the store, or empty it when it was made with other settings."""
    shards.open_store(root, config, "Embedding", lambda existing: "was made with other settings")


def _embed_all(features: FeatureStore, todo: list[str], record: dict, settings, root: Path, progress: bool) -> None:
    from msd_tagging.core.progress import Progress

    size = settings.tracks_per_shard
    parts = [todo[i : i + size] for i in range(0, len(todo), size)]
    bar = Progress(len(todo), "embeddings", "track", enabled=progress, logger=logger)
    if settings.dask_scheduler:
        from distributed import Client, as_completed

        with Client(settings.dask_scheduler) as client:
            shipped = client.scatter(record, broadcast=True)
            futures = [
                client.submit(
                    embed_shard,
                    shipped,
                    str(features.root),
                    part,
                    str(root),
                    settings.with_std,
                    settings.device,
                    pure=False,
                )
                for part in parts
            ]
            for future in as_completed(futures):
                bar.update(future.result())
    else:
        from msd_tagging.models.tagger import Tagger

        tagger = Tagger.load(record, settings.device)
        for part in parts:
            bar.update(_write_shard(tagger, features, part, root, settings.with_std))
    bar.close()


def embed_shard(record: dict, features: str, ids: list[str], root: str, with_std: bool, device: str) -> int:
    """One shard, on a Dask worker (the feature store and the embedding store on shared paths)."""
    from msd_tagging.models.tagger import Tagger

    return _write_shard(Tagger.load(record, device), FeatureStore(features), ids, Path(root), with_std)


def _write_shard(tagger, features: FeatureStore, ids: list[str], root: Path, with_std: bool) -> int:
    pooled = tagger.pooled_embeddings([features.features(t) for t in ids], with_std=with_std)
    name = shards.shard_name(ids)
    shards.commit_shard(root, name, pooled.astype(np.float32), pd.DataFrame({"track_id": ids, "shard": name}))
    return len(ids)
