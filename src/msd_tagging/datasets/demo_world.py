"""Kedro datasets for the raw-data folder: what is there, and the demo world written into it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from msd_tagging.demo.world import DemoWorld, RawDataOnDisk
from msd_tagging.demo.writer import LAYOUT, TABLES_LAYOUT, may_replace, read_marker, write_catalogue, write_world

FORMATS = ("msd", "tables")
# Files a run cannot do without, by format; the MSD's manually accepted matches and a
# catalogue's plays (a listen log can stand in) are optional.
REQUIRED = {
    "msd": ("triplets", "sid_mismatches", "unique_tracks", "lastfm_tags_db", "tag_list", "split_train", "split_test"),
    "tables": ("tags", "tracks"),
}


class RawInventoryDataset(AbstractDataset[None, dict]):
    """Read-only: which of the expected raw files exist under the folder ``path``.

    Loads ``{"root", "format", "present": {name: bool}, "files", "required", "manifest":
    dict | None, "replaceable": bool}`` where ``manifest`` is the demo generator's record,
    if a demo world was written there, and ``replaceable`` whether the generator may write
    the folder (it does not exist, is empty, or carries that record).

    Args:
        path: the raw-data folder.
        format: ``msd`` (the MSD's files) or ``tables`` (a catalogue's plain tables).
        files: name → path of each expected file; relative paths are under ``path``
            (default: the format's layout).
    """

    def __init__(
        self, path: str, format: str = "msd", files: dict[str, str] | None = None, metadata: dict | None = None
    ):
        if format not in FORMATS:
            raise DatasetError(f"unknown raw format {format!r}; expected one of {FORMATS}")
        self._root = Path(path)
        self._format = format
        layout = LAYOUT if format == "msd" else TABLES_LAYOUT
        self._files = {k: v for k, v in dict(files or layout).items() if k != "audio"}
        self.metadata = metadata

    def load(self) -> dict:
        return {
            "root": str(self._root),
            "format": self._format,
            "present": {name: (self._root / rel).exists() for name, rel in self._files.items()},
            "files": self._files,
            "required": list(REQUIRED[self._format]),
            "manifest": read_marker(self._root),
            "replaceable": may_replace(self._root),
        }

    def save(self, data: None) -> None:
        raise DatasetError("the raw inventory is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root)}


class DemoWorldDataset(AbstractDataset[DemoWorld | RawDataOnDisk, dict]):
    """Writes a drawn :class:`DemoWorld` as MSD files under the folder ``path``; loads the
    record of the raw data in place.

    Heavy work in ``save()``: saving a world renders and MP3-encodes every clip (about a
    minute for the default demo on 2 cores). It replaces ``path`` only when the folder does
    not exist, is empty, or carries the generator's marker; otherwise it raises and touches
    nothing (:func:`msd_tagging.demo.writer.check_replaceable`).

    Saving :class:`RawDataOnDisk` writes nothing: the files are already there.

    Args:
        path: raw-data folder.
        format: ``msd`` writes the MSD's files; ``tables`` a catalogue's plain tables
            (:func:`msd_tagging.demo.writer.write_catalogue`).
        workers: audio rendering processes (0: one per core).
        progress: show a progress bar when attached to a terminal.
    """

    def __init__(
        self, path: str, format: str = "msd", workers: int = 0, progress: bool = True, metadata: dict | None = None
    ):
        if format not in FORMATS:
            raise DatasetError(f"unknown raw format {format!r}; expected one of {FORMATS}")
        self._root = Path(path)
        self._format = format
        self._workers = workers
        self._progress = progress
        self.metadata = metadata

    def save(self, data: DemoWorld | RawDataOnDisk) -> None:
        if isinstance(data, RawDataOnDisk):
            return
        if not isinstance(data, DemoWorld):
            raise DatasetError(f"expected a DemoWorld or RawDataOnDisk, got {type(data).__name__}")
        write = write_world if self._format == "msd" else write_catalogue
        write(data, self._root, workers=self._workers, progress=self._progress)

    def load(self) -> dict:
        return read_marker(self._root) or {"source": "external", "root": str(self._root)}

    def _exists(self) -> bool:
        return self._root.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root), "format": self._format, "workers": self._workers}
