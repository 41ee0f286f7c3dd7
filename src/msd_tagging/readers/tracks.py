"""MSD ``unique_tracks.txt``: ``track_id<SEP>song_id<SEP>artist<SEP>title``."""

from __future__ import annotations

from os import PathLike

import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.readers.ids import existing_file, is_song_id, is_track_id

SEP = "<SEP>"


def read_unique_tracks(path: str | PathLike) -> pd.DataFrame:
    """Read MSD ``unique_tracks.txt``.

    One song can have several tracks; each track appears once.

    Returns:
        DataFrame with ``track_id``, ``song_id``, ``artist``, ``title`` in file order.

    Raises:
        MSDDataError: naming the file and line of a row without four ``<SEP>`` fields,
            a malformed ID, or a track listed twice.
    """
    path = existing_file(path, "unique_tracks file")
    rows: list[list[str]] = []
    seen: dict[str, int] = {}
    # Artist and title are free text of mixed encodings; IDs are ASCII.
    with open(path, encoding="utf-8-sig", errors="replace") as handle:  # -sig: a leading BOM is dropped
        for number, line in enumerate(handle, start=1):
            line = line.rstrip("\r\n")
            if not line:
                continue
            fields = line.split(SEP, 3)
            if len(fields) != 4:
                raise MSDDataError(
                    f"expected 4 fields separated by the literal '<SEP>', found {len(fields)}.",
                    path=path,
                    line=number,
                    fix="this must be MSD unique_tracks.txt (track<SEP>song<SEP>artist<SEP>title).",
                )
            track_id, song_id = fields[0], fields[1]
            if not is_track_id(track_id):
                raise MSDDataError(f"{track_id!r} is not an MSD track ID.", path=path, line=number)
            if not is_song_id(song_id):
                raise MSDDataError(f"{song_id!r} is not an MSD song ID.", path=path, line=number)
            if track_id in seen:
                raise MSDDataError(
                    f"track {track_id} is listed twice (first on line {seen[track_id]}).",
                    path=path,
                    line=number,
                )
            seen[track_id] = number
            rows.append(fields)
    if not rows:
        raise MSDDataError("no tracks in file.", path=path)
    return pd.DataFrame(rows, columns=["track_id", "song_id", "artist", "title"])
