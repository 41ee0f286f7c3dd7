"""Kedro datasets for the raw-data folder: what is there, and the handle a demo world is
written into it through."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from msd_tagging.demo.world import DemoWorld
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


@dataclass(frozen=True)
class RawFolder:
    """The raw-data folder a demo world is drawn into: a handle the ``draw_world`` node
    writes through (heavy: rendering and MP3-encoding every clip).

    Attributes:
        root: the raw-data folder.
        format: ``msd`` writes the MSD's files; ``tables`` a catalogue's plain tables.
        workers: audio rendering processes (0: one per core).
        progress: show a progress bar when attached to a terminal.
    """

    root: Path
    format: str = "msd"
    workers: int = 0
    progress: bool = True

    def write(self, world: DemoWorld) -> dict:
        """Write ``world`` here, replacing the folder only when it does not exist, is empty,
        or carries the generator's marker (:func:`msd_tagging.demo.writer.check_replaceable`);
        returns the world's record."""
        write = write_world if self.format == "msd" else write_catalogue
        return write(world, self.root, workers=self.workers, progress=self.progress)

    def record(self) -> dict:
        """What raw data is in place: the demo generator's record, or ``external``."""
        return read_marker(self.root) or {"source": "external", "root": str(self.root), "format": self.format}


class RawFolderDataset(AbstractDataset[None, RawFolder]):
    """Loads the :class:`RawFolder` handle that the ``draw_world`` node writes a demo world
    through; nothing is saved through the dataset itself.

    Args:
        path: raw-data folder.
        format: ``msd`` or ``tables``.
        workers: audio rendering processes (0: one per core).
        progress: show a progress bar when attached to a terminal.
    """

    def __init__(
        self, path: str, format: str = "msd", workers: int = 0, progress: bool = True, metadata: dict | None = None
    ):
        if format not in FORMATS:
            raise DatasetError(f"unknown raw format {format!r}; expected one of {FORMATS}")
        self._folder = RawFolder(Path(path), format, workers, progress)
        self.metadata = metadata

    def load(self) -> RawFolder:
        return self._folder

    def save(self, data: None) -> None:
        raise DatasetError("the demo world is written by the draw_world node through the loaded handle")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._folder.root), "format": self._folder.format, "workers": self._folder.workers}
