"""One sharded store for everything computed per track and kept between runs: the log-mel
features (:mod:`msd_tagging.audio.store`) and the pretrained embeddings
(:mod:`msd_tagging.models.embeddings`).

Layout::

    <store>/config.json                 what the store was built with
    <store>/shards/<name>.npy           the shard's rows
    <store>/shards/<name>.parquet       the shard's manifest part (one row per track)

A shard counts as done only once its manifest part exists; both files are written to a
temporary name and moved into place, the ``.npy`` first (:func:`commit_shard`). So an
interrupted run leaves at most an orphan ``.npy`` that is ignored and redone, never a
half-written shard that counts as done. A shard whose ``.npy`` is gone, cut or short is
un-committed before a run counts what is done (:func:`drop_broken_shards`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError

logger = logging.getLogger(__name__)


class ShardedStore:
    """Read side of a store: its folder, its ``config.json`` (``None`` when absent) and
    its manifest (read from the shards' parts unless given)."""

    columns: Sequence[str] = ("track_id", "shard")

    def __init__(self, root: str | os.PathLike, manifest: pd.DataFrame | None = None):
        self.root = Path(root)
        path = self.root / "config.json"
        self.config = json.loads(path.read_text()) if path.is_file() else None
        self.manifest = read_manifest(self.root, self.columns) if manifest is None else manifest


def shard_name(track_ids: Sequence[str]) -> str:
    """A shard's name: a digest of the tracks it holds, in order."""
    return hashlib.sha1("\n".join(track_ids).encode()).hexdigest()[:16]


def read_manifest(root: Path, columns: Sequence[str]) -> pd.DataFrame:
    """The manifest of every committed shard of the store at ``root``, in shard-name order."""
    parts = sorted((root / "shards").glob("*.parquet")) if (root / "shards").is_dir() else []
    frames = [pd.read_parquet(p) for p in parts]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.concat(frames, ignore_index=True).reindex(columns=list(columns))


def commit_shard(root: Path, name: str, rows: np.ndarray, manifest: pd.DataFrame) -> None:
    """Write a shard's rows, then its manifest part: the commit."""
    from msd_tagging.core.files import atomic_path

    shards = root / "shards"
    with atomic_path(shards / f"{name}.npy") as partial, open(partial, "wb") as handle:
        np.save(handle, rows)
    with atomic_path(shards / f"{name}.parquet") as partial:
        manifest.to_parquet(partial, index=False)


def open_store(
    root: Path, config: dict, what: str, stale: Callable[[dict], str | None], differs: str = "other settings"
) -> None:
    """Create the store at ``root`` for ``config``, or check the one there.

    A store built with another config is emptied when ``stale(existing)`` gives a reason
    (logged), and is an error otherwise: its rows cannot be reused, and rebuilding it is
    the user's call.
    """
    from msd_tagging.core.files import atomic_path

    path = root / "config.json"
    if path.is_file():
        existing = json.loads(path.read_text())
        if existing != json.loads(json.dumps(config)):
            reason = stale(existing)
            if reason is None:
                raise MSDDataError(
                    f"the {what.lower()} store was built with {differs}.",
                    path=path,
                    fix="delete the store folder to rebuild it, or point the catalog entry at a new folder.",
                )
            logger.info("%s store %s %s: rebuilding it.", what, root, reason)
            shutil.rmtree(root / "shards", ignore_errors=True)
            path.unlink()
    (root / "shards").mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        with atomic_path(path) as partial:
            partial.write_text(json.dumps(config, indent=2))


def drop_broken_shards(shards: Path, rows_of: Callable[[pd.DataFrame], int], what: str) -> int:
    """Un-commit every shard whose ``.npy`` is gone, unreadable, or holds another number of
    rows than its manifest part says (``rows_of(part)``), so that it is made again. Returns
    how many were dropped."""
    dropped = 0
    for part in sorted(shards.glob("*.parquet")):
        try:
            expected = int(rows_of(pd.read_parquet(part)))
            intact = np.load(part.with_suffix(".npy"), mmap_mode="r").shape[0] == expected
        except (OSError, ValueError, KeyError):  # a cut .npy or parquet part raises one of these
            intact = False
        if not intact:
            logger.warning(
                "%s shard %s is missing, cut or short; its tracks are done again.", what, part.with_suffix(".npy")
            )
            part.unlink()
            dropped += 1
    return dropped
