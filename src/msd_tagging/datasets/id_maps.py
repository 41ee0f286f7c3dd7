"""Kedro dataset persisting :class:`IdMaps` as one Parquet file per entity."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset

from msd_tagging.core.files import atomic_path
from msd_tagging.core.mapping import IdMaps


class IdMapsDataset(AbstractDataset[IdMaps, IdMaps]):
    """A folder ``<entity>.parquet`` (one ``id`` column, row = index) per entity."""

    def __init__(self, path: str, metadata: dict | None = None):
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> IdMaps:
        maps = {}
        for file in sorted(self._path.glob("*.parquet")):
            ids = pd.read_parquet(file)["id"]
            maps[file.stem] = pd.Index(ids.astype(object), name=file.stem)
        return IdMaps(maps)

    def save(self, data: IdMaps) -> None:
        self._path.mkdir(parents=True, exist_ok=True)
        for entity, index in data.maps.items():
            with atomic_path(self._path / f"{entity}.parquet") as partial:
                pd.DataFrame({"id": index.astype(str)}).to_parquet(partial, index=False)

    def _exists(self) -> bool:
        return self._path.is_dir() and any(self._path.glob("*.parquet"))

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
