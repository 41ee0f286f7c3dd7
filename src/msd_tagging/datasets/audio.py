"""Kedro datasets for where audio lives: the path convention and the files present."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from msd_tagging.readers import AudioPathIndex, read_7digital_maps, read_audio_index

logger = logging.getLogger(__name__)


class AudioPathsDataset(AbstractDataset[None, AudioPathIndex]):
    """Loads the track → audio path mapping of one convention.

    Args:
        convention: ``track_id`` (``A/A/D/TRAADIN128F931D672.mp3``), ``index`` (a
            ``track_id<TAB>path`` file given as ``index_path``) or ``7digital``
            (``msd_to_7d`` and ``sevend_to_path`` pickles).
        extension: file extension for the ``track_id`` convention.
    """

    def __init__(
        self,
        convention: str = "track_id",
        index_path: str | None = None,
        msd_to_7d: str | None = None,
        sevend_to_path: str | None = None,
        extension: str = ".mp3",
        metadata: dict | None = None,
    ):
        self._convention = convention
        self._index_path = index_path
        self._msd_to_7d = msd_to_7d
        self._sevend_to_path = sevend_to_path
        self._extension = extension
        self.metadata = metadata

    def load(self) -> AudioPathIndex:
        if self._convention == "index":
            if not self._index_path:
                raise DatasetError("the 'index' audio convention needs index_path")
            return AudioPathIndex("index", read_audio_index(self._index_path))
        if self._convention == "7digital":
            if not (self._msd_to_7d and self._sevend_to_path):
                raise DatasetError("the '7digital' audio convention needs msd_to_7d and sevend_to_path")
            return AudioPathIndex("7digital", read_7digital_maps(self._msd_to_7d, self._sevend_to_path))
        return AudioPathIndex(self._convention, None, self._extension)

    def save(self, data: AudioPathIndex) -> None:
        raise DatasetError("audio path conventions are configuration, not outputs")

    def _describe(self) -> dict[str, Any]:
        return {"convention": self._convention, "index_path": self._index_path, "extension": self._extension}


class AudioListingDataset(AbstractDataset[None, pd.DataFrame]):
    """Lists the files under an audio root with their sizes (no audio is decoded).

    Loads a DataFrame with ``path`` (POSIX, relative to the folder ``path``),
    ``size_bytes``, ``link``, ``bad_name`` and ``special``. ``link`` is ``""`` for a plain file,
    ``"inside"`` / ``"outside"`` for a file reached through a symbolic link (to the file,
    or to a folder above it) whose target lies inside / outside the audio root, and
    ``"dangling"`` for a link to nothing (size -1). Links are followed wherever they
    point, folders included: a link farm into other disks is a common way to lay out a
    large collection, and only someone who can write the audio root can place one (index
    files, which name paths as data, are still confined to the root). A folder reached a
    second time (a link loop, or two links to one folder) is listed once; a folder that
    cannot be listed (permissions) is warned and named in ``attrs["unreadable_folders"]``. ``bad_name``
    marks a name that is not valid UTF-8: such a file is shown with ``\\x`` escapes
    and never matched to a track. ``special`` names what an entry is when it is not a
    regular file (``FIFO``, ``character device``, ``block device``, ``socket``, a link to
    one included, such as a link to ``/dev/zero``): such an entry is never read (a FIFO
    would block, a device never ends) and its track's audio status is ``not_a_file``.
    ``attrs`` count the linked folders, the loops cut and the bad names. An absent folder
    lists nothing. ``tag_audio`` lists its folder the same way (:func:`list_files`).
    """

    def __init__(self, path: str, metadata: dict | None = None):
        self._root = Path(path)
        self.metadata = metadata

    def load(self) -> pd.DataFrame:
        return list_files(self._root)

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._root} is raw audio and read-only")

    def _exists(self) -> bool:
        return self._root.is_dir()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._root)}


def list_files(root: Path, raw: bool = False) -> pd.DataFrame:
    """Every file under ``root``, linked folders followed once each (see
    :class:`AudioListingDataset`); with ``raw``, also each file's ``relative`` path as
    the OS spells it (a name that is not UTF-8 included), to open it by."""
    rows: list[tuple[str, int, str, bool, str]] = []
    relative: list[str] = []
    counts = {"linked_folders": 0, "linked_folders_outside": 0, "folder_loops_cut": 0, "bad_names": 0}
    unreadable: list[str] = []
    if root.is_dir():
        for folder, files, through in _walk(root, counts, unreadable):
            rows.extend(_entry(root, folder, name, through, counts) for name in sorted(files))
            if raw:
                relative.extend(os.path.relpath(os.path.join(folder, name), root) for name in sorted(files))
    if unreadable:
        logger.warning(
            "%d folder(s) under the audio root cannot be listed, e.g. %s; their files count as missing.",
            len(unreadable),
            unreadable[0],
        )
    paths, sizes, links, bad, special = zip(*rows, strict=True) if rows else ((), (), (), (), ())
    frame = pd.DataFrame(
        {
            "path": pd.Series(paths, dtype=object),
            "size_bytes": pd.Series(sizes, dtype="int64"),
            "link": pd.Series(links, dtype=object),
            "bad_name": pd.Series(bad, dtype=bool),
            "special": pd.Series(special, dtype=object),
        }
    )
    if raw:
        frame["relative"] = pd.Series(relative, dtype=object)
    frame.attrs = {"root": str(root), **counts, "unreadable_folders": unreadable}
    return frame


SPECIAL = ((stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"),
           (stat.S_ISSOCK, "socket"))  # fmt: skip


def special_kind(path: str | os.PathLike) -> str:
    """What ``path`` (links followed) is when it is not a regular file or a folder, else ``""``."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return ""
    return next((name for test, name in SPECIAL if test(mode)), "")


def _walk(root: Path, counts: dict, unreadable: list[str]):
    """``(folder, file names, reached through a link?)`` of every folder under ``root``,
    linked folders followed, each real folder once (a loop, or a second link to a folder,
    is cut and counted); folders that cannot be listed go to ``unreadable``."""
    real_root = root.resolve()
    seen: set[tuple[int, int]] = set()
    linked: dict[str, bool] = {str(root): False}

    def note(error: OSError) -> None:  # os.walk would skip a folder it cannot list, silently
        unreadable.append(f"{error.filename}: {error.strerror}")

    for folder, dirs, files in os.walk(root, followlinks=True, onerror=note):
        stat = os.stat(folder)
        if (stat.st_dev, stat.st_ino) in seen:
            counts["folder_loops_cut"] += 1
            dirs[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        through = linked.pop(folder, False)
        for name in dirs:
            child = os.path.join(folder, name)
            is_link = os.path.islink(child)
            linked[child] = through or is_link
            if is_link:
                counts["linked_folders"] += 1
                counts["linked_folders_outside"] += not Path(child).resolve().is_relative_to(real_root)
        yield folder, files, through


def _entry(root: Path, folder: str, name: str, through: bool, counts: dict) -> tuple[str, int, str, bool, str]:
    """One listed file: ``(path shown, size, link kind, bad name?, special kind)``."""
    full = os.path.join(folder, name)
    link = ""
    try:
        size = os.path.getsize(full)
    except FileNotFoundError:
        size, link = -1, "dangling"
    if not link and (through or os.path.islink(full)):
        link = "inside" if Path(full).resolve().is_relative_to(root.resolve()) else "outside"
    special = special_kind(full)
    shown = (Path(folder).relative_to(root) / name).as_posix()
    if _is_utf8(shown):
        return shown, size, link, False, special
    counts["bad_names"] += 1
    return os.fsencode(shown).decode("utf-8", "backslashreplace"), size, link, True, special


def _is_utf8(name: str) -> bool:
    """Whether a file name (as ``os`` decodes it, undecodable bytes as surrogates) is valid UTF-8."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
