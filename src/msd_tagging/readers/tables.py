"""A catalogue's plain tables: plays (or a listen log), tags and tracks.

The tables come from a database export as CSV or Parquet (read by
:class:`msd_tagging.datasets.TableDataset`, which hands every column over as text). These
functions check them and give each column its type. A structural problem (a missing
column, a value of the wrong type, a track listed twice with different data) raises
:class:`~msd_tagging.errors.MSDDataError` naming the file, the column and a row, and
saying how to fix it. Harmless repeats are merged and counted in ``attrs["dropped_rows"]``
for the ingestion report.

Formats (a header line; columns in any order; extra columns ignored):

* plays: ``user_id, track_id, plays`` (whole numbers).
* listens: ``user_id, track_id, timestamp``, one row per listen, counted into plays.
* tags: ``track_id, tag`` and optionally ``weight`` (a number, e.g. Last.fm's 0-100).
* tracks: ``track_id`` and optionally ``artist, title, audio_path, split``
  (``train``, ``valid``, ``test``, or empty for a track that only has plays).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msd_tagging.errors import MSDDataError
from msd_tagging.readers.audio_paths import safe_relative_path

TABLE_SPLITS = ("train", "valid", "test")
FORMATS_FIX = "see the README, 'Your own catalogue', for the columns each table needs"


def _source(frame: pd.DataFrame, what: str) -> str:
    return frame.attrs.get("source", f"the {what} table")


def _row(frame: pd.DataFrame, position: int) -> int:
    """The file line of a row (1-based, after the header) for a message."""
    return int(position) + 2


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Stop when ``frame`` lacks one of ``columns``, naming the file and the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise MSDDataError(
            f"the {what} table has no column {', '.join(map(repr, missing))} (its columns: "
            f"{', '.join(map(repr, frame.columns)) or 'none'}).",
            path=_source(frame, what),
            fix=f"name the columns {', '.join(columns)} in the header line; {FORMATS_FIX}.",
        )
    if frame.empty:
        raise MSDDataError(f"the {what} table has no rows.", path=_source(frame, what), fix="export the table again.")


def _ids(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    """A text ID column, stripped; an empty ID stops the run."""
    values = frame[column].astype("string").str.strip()
    empty = values.isna() | (values == "")
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise MSDDataError(
            f"column {column!r} is empty in {int(empty.sum())} row(s), first on line {_row(frame, row)}.",
            path=_source(frame, what),
            fix=f"every row needs a {column}; drop such rows from the export.",
        )
    return values.astype(object)


def _numbers(frame: pd.DataFrame, column: str, what: str, *, whole: bool) -> np.ndarray:
    """A numeric column; text that is not a number stops the run, naming the line."""
    text = frame[column].astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = values.isna() | (whole & ~np.isclose(values.fillna(0) % 1, 0))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        kind = "a whole number" if whole else "a number"
        raise MSDDataError(
            f"column {column!r} must hold {kind}; line {_row(frame, row)} has {frame[column].iloc[row]!r} "
            f"({int(bad.sum())} such row(s)).",
            path=_source(frame, what),
            fix=f"write {column} as {kind}, without units or thousands separators.",
        )
    return values.to_numpy(dtype=np.float64)


def _with_attrs(
    frame: pd.DataFrame, source: pd.DataFrame, rows_in_file: int, dropped: dict[str, int], merged: dict[str, int]
) -> pd.DataFrame:
    """``frame`` with where it came from and what was dropped (unusable rows) and merged (repeats)."""
    frame.attrs = {
        "source": source.attrs.get("source"),
        "rows_in_file": rows_in_file,
        "dropped_rows": dropped,
        "merged_rows": merged,
    }
    return frame


def read_plays(frame: pd.DataFrame) -> pd.DataFrame:
    """Plays ``user_id, track_id, plays``: typed, repeated (user, track) rows summed.

    Returns:
        ``user_id, track_id, play_count`` (int64) in first-seen order of the pairs;
        ``attrs`` count the rows merged and the rows with fewer than one play.
    """
    require_columns(frame, ("user_id", "track_id", "plays"), "plays")
    counts = _numbers(frame, "plays", "plays", whole=True)
    if (counts < 0).any():
        row = int(np.flatnonzero(counts < 0)[0])
        raise MSDDataError(
            f"column 'plays' is negative on line {_row(frame, row)}.",
            path=_source(frame, "plays"),
            fix="play counts are 0 or more.",
        )
    table = pd.DataFrame(
        {"user_id": _ids(frame, "user_id", "plays"), "track_id": _ids(frame, "track_id", "plays"), "play_count": counts}
    )
    return _summed(table, frame, {})


def read_listens(frame: pd.DataFrame) -> pd.DataFrame:
    """A listen log ``user_id, track_id, timestamp``, counted into plays.

    A row repeated exactly (same user, track and timestamp) is one listen logged twice:
    dropped and counted.
    """
    require_columns(frame, ("user_id", "track_id", "timestamp"), "listens")
    table = pd.DataFrame(
        {
            "user_id": _ids(frame, "user_id", "listens"),
            "track_id": _ids(frame, "track_id", "listens"),
            "timestamp": frame["timestamp"].astype("string").str.strip(),
        }
    )
    repeated = table.duplicated()
    table = table[~repeated.to_numpy()].drop(columns="timestamp").assign(play_count=1)
    return _summed(table, frame, {"listen_logged_twice": int(repeated.sum())})


def _summed(table: pd.DataFrame, source: pd.DataFrame, merged: dict[str, int]) -> pd.DataFrame:
    grouped = table.groupby(["user_id", "track_id"], sort=False)["play_count"].sum().reset_index()
    grouped["play_count"] = grouped["play_count"].astype(np.int64)
    merged = {**merged, "repeated_user_track_rows": len(table) - len(grouped)}
    return _with_attrs(grouped, source, len(source), {}, merged)


def read_tags(frame: pd.DataFrame) -> pd.DataFrame:
    """Tags ``track_id, tag[, weight]``: typed; a blank tag is dropped and counted.

    Without a ``weight`` column every row is a positive: its weight is infinite, above any
    threshold.

    Returns:
        ``track_id, tag, weight`` (float64), with ``attrs`` as the Last.fm reader's.
    """
    require_columns(frame, ("track_id", "tag"), "tags")
    weights = (
        _numbers(frame, "weight", "tags", whole=False) if "weight" in frame.columns else np.full(len(frame), np.inf)
    )
    tags = frame["tag"].astype("string").str.strip()
    blank = (tags.isna() | (tags == "")).to_numpy()
    table = pd.DataFrame({"track_id": _ids(frame, "track_id", "tags"), "tag": tags.astype(object), "weight": weights})[
        ~blank
    ]
    repeated = table.duplicated()
    table = table[~repeated.to_numpy()].reset_index(drop=True)
    return _with_attrs(table, frame, len(frame), {"blank_tag": int(blank.sum())}, {"repeated_row": int(repeated.sum())})


def read_tracks(frame: pd.DataFrame) -> pd.DataFrame:
    """Tracks ``track_id[, artist, title, audio_path, split]``.

    A row repeated exactly is dropped and counted; a track listed twice with different
    data stops the run. ``split`` values other than :data:`TABLE_SPLITS` or empty stop the
    run; audio paths must stay under the audio folder.

    Returns:
        ``track_id, artist, title, audio_path, split`` (missing columns filled with
        ``None``; ``split`` ``None`` where empty), in file order.
    """
    require_columns(frame, ("track_id",), "tracks")
    where = _source(frame, "tracks")
    table = pd.DataFrame({"track_id": _ids(frame, "track_id", "tracks")})
    for column in ("artist", "title", "audio_path", "split"):
        if column in frame.columns:
            values = frame[column].astype("string").str.strip()
            table[column] = values.where(values.notna() & (values != ""), None).astype(object)
        else:
            table[column] = None
    repeated = table.duplicated()
    table = table[~repeated.to_numpy()].reset_index(drop=True)
    twice = table["track_id"].duplicated(keep=False)
    if twice.any():
        track = table.loc[twice, "track_id"].iloc[0]
        raise MSDDataError(
            f"track {track!r} is listed {int((table['track_id'] == track).sum())} times with different data "
            f"({int(twice.sum())} rows of {table.loc[twice, 'track_id'].nunique()} tracks).",
            path=where,
            fix="keep one row per track_id in the tracks table.",
        )
    splits = table["split"].dropna()
    unknown = sorted(set(splits) - set(TABLE_SPLITS))
    if unknown:
        raise MSDDataError(
            f"column 'split' holds {', '.join(map(repr, unknown[:5]))}; expected train, valid, test or empty.",
            path=where,
            fix="spell the splits train, valid and test, or drop the column to have a split made.",
        )
    paths = table["audio_path"]
    table["audio_path"] = [None if p is None else safe_relative_path(p, path=where) for p in paths]
    return _with_attrs(table, frame, len(frame), {}, {"repeated_row": int(repeated.sum())})
