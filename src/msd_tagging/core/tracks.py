"""The track table as a value: the splits' track IDs, and labels aligned to them.

Ingestion writes ``tracks`` (``track_id, split, …``; split ``none`` for a track outside
the three) and ``tag_labels`` (``track_id`` and one 0/1 column per tag). Every step that
trains or chooses on a split asks the same two questions of them, which IDs a split holds
(among those with features, embeddings or vectors), and their labels in that order;
:class:`TrackTable` answers both in one place.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
import pandas as pd

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class TrackTable:
    """``tracks`` and, where a step reads them, ``tag_labels``."""

    tracks: pd.DataFrame
    tag_labels: pd.DataFrame | None = None

    @property
    def tags(self) -> list[str]:
        """The label columns, in order."""
        return [c for c in self.tag_labels.columns if c != "track_id"] if self.tag_labels is not None else []

    def ids(self, split: str, among: Collection[str] | None = None) -> list[str]:
        """The split's track IDs in table order; with ``among``, only those in it."""
        in_split = self.tracks["split"] == split
        if among is not None:
            in_split &= self.tracks["track_id"].isin(among)
        return self.tracks.loc[in_split, "track_id"].tolist()

    def labels(self, ids) -> np.ndarray:
        """0/1 labels ``[len(ids), tags]`` (int8) of ``ids``, in their order."""
        return self.tag_labels.set_index("track_id").loc[list(ids), self.tags].to_numpy(dtype=np.int8)

    def split(self, name: str, among: Collection[str] | None = None) -> tuple[list[str], np.ndarray]:
        """A split's IDs (:meth:`ids`) and their labels (:meth:`labels`)."""
        ids = self.ids(name, among)
        return ids, self.labels(ids)
