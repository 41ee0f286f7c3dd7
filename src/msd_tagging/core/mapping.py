"""The one owner of ID ↔ index maps (users, songs, tracks, tags).

Built once by ingestion, persisted in the catalog (``id_maps``), reused by every later
step, in the spirit of LightFM's ``Dataset.mapping``. Indices are positions in a
``pandas.Index``; an unseen ID raises instead of becoming -1.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError

ENTITIES = ("users", "songs", "tracks", "tags")


@dataclass(frozen=True)
class IdMaps:
    """ID ↔ index maps, one ``pandas.Index`` of unique IDs per entity."""

    maps: Mapping[str, pd.Index] = field(default_factory=dict)

    @classmethod
    def build(cls, **ids: Iterable[str]) -> IdMaps:
        """Build maps from ID collections, keeping first-seen order, e.g. ``build(users=..., tracks=...)``."""
        unknown = set(ids) - set(ENTITIES)
        if unknown:
            raise ValueError(f"unknown entities {sorted(unknown)}; expected some of {ENTITIES}")
        return cls(
            {
                name: pd.Index(pd.unique(pd.Series(list(values), dtype=object)), name=name)
                for name, values in ids.items()
            }
        )

    def __post_init__(self):
        for name, index in self.maps.items():
            if not index.is_unique:
                raise MSDDataError(f"the {name} map repeats IDs, e.g. {index[index.duplicated()][0]!r}.")

    def size(self, entity: str) -> int:
        return len(self._index(entity))

    def ids(self, entity: str) -> pd.Index:
        return self._index(entity)

    def index(self, entity: str, ids: Iterable[str] | pd.Series) -> np.ndarray:
        """Indices of ``ids``; raises naming the first ID the map has never seen."""
        positions = self._index(entity).get_indexer(ids)
        if (positions < 0).any():
            first = np.asarray(ids, dtype=object)[np.flatnonzero(positions < 0)[0]]
            raise MSDDataError(
                f"{entity[:-1]} {first!r} is not in the {entity} map built by ingestion.",
                fix="rerun ingestion so the maps cover every ID (kedro run --pipeline=ingestion).",
            )
        return positions.astype(np.int32)

    def lookup(self, entity: str, positions: Iterable[int]) -> np.ndarray:
        return self._index(entity)[np.asarray(positions)].to_numpy()

    def _index(self, entity: str) -> pd.Index:
        try:
            return self.maps[entity]
        except KeyError:
            raise KeyError(f"no {entity!r} map; have {sorted(self.maps)}") from None
