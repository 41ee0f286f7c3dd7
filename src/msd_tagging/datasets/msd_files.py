"""Read-only Kedro dataset over one MSD file, by format."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from msd_tagging import readers as msd

logger = logging.getLogger(__name__)

READERS = {
    "triplets": msd.read_triplets,
    "unique_tracks": msd.read_unique_tracks,
    "sid_mismatches": msd.read_sid_mismatches,
    "manually_accepted": msd.read_manually_accepted,
    "tag_list": msd.read_tag_list,
    "split": msd.read_split_pickle,
    "lastfm_db": msd.read_lastfm_tags_db,
    "lastfm_json": msd.read_lastfm_json_tree,
    "audio_index": msd.read_audio_index,
}
# Returned in place of an optional file that is absent.
EMPTY = {
    "manually_accepted": lambda: pd.DataFrame({"song_id": [], "track_id": []}, dtype=object),
}


class MSDFileDataset(AbstractDataset[None, Any]):
    """One raw MSD file read by the matching reader of :mod:`msd_tagging.readers`.

    Example ``catalog.yml`` entry::

        taste_triplets:
          type: msd_tagging.datasets.MSDFileDataset
          filepath: ${globals:raw_root}/taste_profile/train_triplets.txt
          format: triplets

    Args:
        filepath: the file (or folder, for ``lastfm_json``).
        format: one of ``triplets``, ``unique_tracks``, ``sid_mismatches``,
            ``manually_accepted``, ``tag_list``, ``split``, ``lastfm_db``,
            ``lastfm_json``, ``audio_index``.
        optional: when true and the file is absent, load an empty table (logged)
            instead of failing. Only for ``manually_accepted``.
    """

    def __init__(self, filepath: str, format: str, optional: bool = False, metadata: dict | None = None):
        if format not in READERS:
            raise DatasetError(f"unknown MSD format {format!r}; expected one of {sorted(READERS)}")
        if optional and format not in EMPTY:
            raise DatasetError(f"format {format!r} cannot be optional")
        self._filepath = Path(filepath)
        self._format = format
        self._optional = optional
        self.metadata = metadata

    @property
    def filepath(self) -> Path:
        """The file this entry names (the run record hashes it)."""
        return self._filepath

    def load(self) -> Any:
        if self._optional and not self._filepath.exists():
            logger.info("Optional %s file %s is absent; using none.", self._format, self._filepath)
            return EMPTY[self._format]()
        return READERS[self._format](self._filepath)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._filepath} is raw MSD input and read-only.")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "format": self._format, "optional": self._optional}
