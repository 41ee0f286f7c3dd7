"""Last.fm dataset tags: ``lastfm_tags.db`` (SQLite), the per-track JSON tree, and
the 50-tag vocabulary."""

from __future__ import annotations

import json
import re
import sqlite3
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.errors import MSDDataError
from msd_tagging.msd.ids import existing_file, is_track_id

SQLITE_MAGIC = b"SQLite format 3\x00"
LASTFM_TABLES = ("tids", "tags", "tid_tag")

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise_tag(tag: str) -> str:
    """Spelling-insensitive key of a tag: case-folded, separators unified, trimmed.

    ``'Hip-Hop'``, ``'hip hop'`` and ``' HIP-HOP '`` share the key ``'hip hop'``;
    ``'female vocalist'`` and ``'female vocalists'`` stay distinct.
    """
    return _SEPARATORS.sub(" ", tag.casefold()).strip()


def read_tag_list(path: str | PathLike) -> list[str]:
    """Read the tag vocabulary (``50tagList.txt``): one tag per line, order kept.

    Raises:
        MSDDataError: if the file is empty or two lines name the same tag once spelling
            is normalised.
    """
    path = existing_file(path, "tag list")
    tags: list[str] = []
    first_seen: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            tag = line.strip()
            if not tag:
                continue
            key = normalise_tag(tag)
            if key in first_seen:
                raise MSDDataError(
                    f"tag {tag!r} repeats line {first_seen[key]} (same tag after spelling normalisation).",
                    path=path,
                    line=number,
                )
            first_seen[key] = number
            tags.append(tag)
    if not tags:
        raise MSDDataError("the tag list is empty.", path=path)
    return tags


def _open_sqlite_read_only(path: Path) -> sqlite3.Connection:
    # A plain sqlite3.connect(path) creates an empty database when the file is missing:
    # check first, then open through a read-only URI that can never create one.
    path = existing_file(path, "Last.fm tags database")
    with open(path, "rb") as handle:
        magic = handle.read(len(SQLITE_MAGIC))
    if magic != SQLITE_MAGIC:
        raise MSDDataError(
            "not an SQLite database (wrong file header).",
            path=path,
            fix="download lastfm_tags.db from the Last.fm dataset again; it must be the SQLite file.",
        )
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


def read_lastfm_tags_db(path: str | PathLike) -> pd.DataFrame:
    """Read every (track, tag, weight) triple from ``lastfm_tags.db``.

    Real schema: ``tids(tid TEXT)``, ``tags(tag TEXT)``, ``tid_tag(tid, tag, val)``
    where ``tid_tag.tid`` / ``tid_tag.tag`` are ROWIDs into ``tids`` / ``tags`` and
    ``val`` is the weight 0-100. The database is opened read-only.

    Returns:
        DataFrame with categorical ``track_id`` and ``tag`` (raw spelling) and float32
        ``weight``.
    """
    path = Path(path)
    connection = _open_sqlite_read_only(path)
    try:
        try:
            present = {
                name
                for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as exc:
            raise MSDDataError(f"cannot read SQLite database: {exc}.", path=path) from exc
        missing = [t for t in LASTFM_TABLES if t not in present]
        if missing:
            raise MSDDataError(
                f"not a Last.fm tags database: table(s) {', '.join(missing)} missing.",
                path=path,
                fix="expected tables tids(tid), tags(tag), tid_tag(tid, tag, val).",
            )
        tids = connection.execute("SELECT ROWID, tid FROM tids ORDER BY ROWID").fetchall()
        tags = connection.execute("SELECT ROWID, tag FROM tags ORDER BY ROWID").fetchall()
        links = np.array(
            connection.execute("SELECT tid, tag, val FROM tid_tag").fetchall(), dtype=np.float64
        ).reshape(-1, 3)
    finally:
        connection.close()

    track_codes = _rowid_codes(links[:, 0], [r for r, _ in tids], "tid_tag.tid", "tids", path)
    tag_codes = _rowid_codes(links[:, 1], [r for r, _ in tags], "tid_tag.tag", "tags", path)
    track_ids = [t for _, t in tids]
    bad = next((t for t in track_ids if not is_track_id(t)), None)
    if bad is not None:
        raise MSDDataError(f"table tids holds {bad!r}, which is not an MSD track ID.", path=path)
    return pd.DataFrame(
        {
            "track_id": pd.Categorical.from_codes(track_codes, categories=pd.Index(track_ids)),
            "tag": pd.Categorical.from_codes(
                tag_codes, categories=pd.Index([t for _, t in tags]).astype(object)
            ),
            "weight": links[:, 2].astype(np.float32),
        }
    )


def _rowid_codes(values: np.ndarray, rowids: list[int], column: str, table: str, path: Path) -> np.ndarray:
    """Map ROWIDs to positions in ``rowids``; an unknown ROWID is a broken database."""
    values = values.astype(np.int64)
    if values.size == 0:
        return np.zeros(0, dtype=np.int32)
    rowids_arr = np.asarray(rowids, dtype=np.int64)
    positions = np.searchsorted(rowids_arr, values).clip(0, max(rowids_arr.size - 1, 0))
    unknown = (rowids_arr[positions] != values) if rowids_arr.size else np.ones(values.size, bool)
    if unknown.any():
        first = int(values[np.flatnonzero(unknown)[0]])
        raise MSDDataError(f"{column} refers to ROWID {first}, which is not in table {table}.", path=path)
    return positions.astype(np.int32)


def read_lastfm_json_tree(root: str | PathLike) -> pd.DataFrame:
    """Read the Last.fm per-track JSON tree (``lastfm_train/A/A/A/TRAAAAK128F9318786.json``).

    Each file holds ``{"track_id": ..., "tags": [[tag, "weight"], ...], ...}``.

    Returns:
        DataFrame with ``track_id``, ``tag`` (raw spelling) and float32 ``weight``, the
        same columns as :func:`read_lastfm_tags_db`.
    """
    root = Path(root)
    if not root.is_dir():
        raise MSDDataError("Last.fm JSON folder not found.", path=root)
    track_ids: list[str] = []
    tags: list[str] = []
    weights: list[float] = []
    for file in sorted(root.rglob("*.json")):
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            track_id = record["track_id"]
            pairs = record["tags"]
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MSDDataError(f"not valid JSON: {exc}.", path=file) from exc
        except (KeyError, TypeError) as exc:
            raise MSDDataError(f"missing key {exc} (expected 'track_id' and 'tags').", path=file) from exc
        if not is_track_id(track_id):
            raise MSDDataError(f"track_id {track_id!r} is not an MSD track ID.", path=file)
        for pair in pairs:
            try:
                tag, weight = pair
                weight = float(weight)
            except (TypeError, ValueError) as exc:
                raise MSDDataError(
                    f"tag entry {pair!r} is not [tag, weight].", path=file
                ) from exc
            track_ids.append(track_id)
            tags.append(str(tag))
            weights.append(weight)
    return pd.DataFrame(
        {
            "track_id": pd.Categorical(track_ids),
            "tag": pd.Categorical(tags),
            "weight": np.asarray(weights, dtype=np.float32),
        }
    )
