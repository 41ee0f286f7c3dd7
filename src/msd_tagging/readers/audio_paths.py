"""Where a track's audio lives, by the three conventions in use.

* Track-ID convention: ``A/A/D/TRAADIN128F931D672.mp3`` (characters 3-5 of the ID).
* 7digital maps: ``MSD_id_to_7D_id.pkl`` then ``7D_id_to_path.pkl`` (``d0/d1/<id>.clip.mp3``).
* A plain index: ``track_id<TAB>relative_path`` per line (musicnn-training's ``index_MSD.tsv``).

Every path is relative to the audio root and is checked so that nothing outside that
root can be named.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import PurePosixPath

import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.readers.ids import check_track_id, existing_file, is_track_id
from msd_tagging.readers.splits import load_data_pickle

CONVENTIONS = ("track_id", "index", "7digital")


def track_id_audio_path(track_id: str, extension: str = ".mp3") -> str:
    """Relative path of a track by the track-ID convention.

    >>> track_id_audio_path("TRAADIN128F931D672")
    'A/A/D/TRAADIN128F931D672.mp3'
    """
    check_track_id(track_id)
    return f"{track_id[2]}/{track_id[3]}/{track_id[4]}/{track_id}{extension}"


def safe_relative_path(value: object, *, path: str | PathLike | None = None, line: int | None = None) -> str:
    """Return ``value`` as a normalised POSIX relative path that stays under its root.

    Raises:
        MSDDataError: for absolute paths, ``..`` components, empty paths, or control
            characters (newlines, NUL).
    """
    text = str(value)
    if not text or any(ord(c) < 32 for c in text) or "\\" in text:
        raise MSDDataError(
            f"audio path {text!r} is empty or holds control characters or backslashes.", path=path, line=line
        )
    rel = PurePosixPath(text)
    if rel.is_absolute() or ".." in rel.parts:
        raise MSDDataError(
            f"audio path {text!r} points outside the audio root.",
            path=path,
            line=line,
            fix="audio paths must be relative to the audio root, without '..'.",
        )
    return rel.as_posix()


def read_audio_index(path: str | PathLike) -> pd.DataFrame:
    """Read a ``track_id<TAB>relative_path`` index (no header).

    Returns:
        DataFrame with ``track_id`` and ``path``.
    """
    path = existing_file(path, "audio index")
    rows: list[tuple[str, str]] = []
    with open(path, encoding="utf-8-sig") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.split("\t")
            if len(fields) != 2:
                raise MSDDataError(
                    f"expected 2 tab-separated columns (track_id, relative path), found {len(fields)}.",
                    path=path,
                    line=number,
                )
            track_id = check_track_id(fields[0], path=path, line=number)
            rows.append((track_id, safe_relative_path(fields[1], path=path, line=number)))
    return _index_frame(rows, path)


def read_7digital_maps(msd_to_7d: str | PathLike, sevend_to_path: str | PathLike) -> pd.DataFrame:
    """Resolve audio paths through ``MSD_id_to_7D_id.pkl`` and ``7D_id_to_path.pkl``.

    Tracks whose 7digital ID has no path are left out (they have no audio).

    Returns:
        DataFrame with ``track_id`` and ``path``.
    """
    ids = load_data_pickle(msd_to_7d, "MSD-to-7digital map")
    paths = load_data_pickle(sevend_to_path, "7digital-to-path map")
    for data, where in ((ids, msd_to_7d), (paths, sevend_to_path)):
        if not isinstance(data, dict):
            raise MSDDataError(f"expected a pickled dict, found {type(data).__name__}.", path=where)
    by_7d = {_text(k): v for k, v in paths.items()}
    rows = []
    for track_id, sevend in ids.items():
        track_id = _text(track_id)
        if not is_track_id(track_id):
            raise MSDDataError(f"key {track_id!r} is not an MSD track ID.", path=msd_to_7d)
        rel = by_7d.get(_text(sevend))
        if rel is not None:
            rows.append((track_id, safe_relative_path(_text(rel), path=sevend_to_path)))
    return _index_frame(rows, sevend_to_path)


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _index_frame(rows: list[tuple[str, str]], path) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["track_id", "path"])
    duplicated = frame["track_id"].duplicated()
    if duplicated.any():
        raise MSDDataError(f"track {frame['track_id'][duplicated].iloc[0]} has two audio paths.", path=path)
    return frame


@dataclass(frozen=True)
class AudioPathIndex:
    """Maps track IDs to audio paths relative to the audio root, by one convention.

    Attributes:
        convention: ``track_id``, ``index`` or ``7digital``.
        table: ``track_id`` → ``path`` for the ``index`` and ``7digital`` conventions.
        extension: file extension of the track-ID convention.
    """

    convention: str = "track_id"
    table: pd.DataFrame | None = None
    extension: str = ".mp3"

    def __post_init__(self):
        if self.convention not in CONVENTIONS:
            raise MSDDataError(
                f"unknown audio path convention {self.convention!r}; use one of {', '.join(CONVENTIONS)}."
            )
        if self.convention != "track_id" and self.table is None:
            raise MSDDataError(f"the {self.convention!r} convention needs its index table.")

    def paths_for(self, track_ids: pd.Series) -> pd.Series:
        """Relative audio path of each track, ``None`` where the index has none."""
        if self.convention == "track_id":
            return track_ids.map(lambda t: track_id_audio_path(t, self.extension)).astype(object)
        lookup = self.table.set_index("track_id")["path"]
        return track_ids.map(lookup).astype(object).where(lambda s: s.notna(), None)
