"""Last.fm dataset tags: ``lastfm_tags.db`` (SQLite), the per-track JSON tree, and
the 50-tag vocabulary."""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.readers.ids import existing_file, is_track_id

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
LASTFM_TABLES = ("tids", "tags", "tid_tag")

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise_tag(tag: str) -> str:
    """Spelling-insensitive key of a tag: case-folded, separators unified, trimmed.

    ``'Hip-Hop'``, ``'hip hop'`` and ``' HIP-HOP '`` share the key ``'hip hop'``;
    ``'female vocalist'`` and ``'female vocalists'`` stay distinct.
    """
    return _SEPARATORS.sub(" ", tag.casefold()).strip()


def tags_in_vocabulary(wanted: list[str], vocabulary: list[str], parameter: str, fallback: int = 0) -> list[str]:
    """The tags of ``wanted`` that the vocabulary has, in its spelling; the others are
    left out with a warning naming ``parameter`` (e.g. a 10-tag ``50tagList.txt``).

    When none is there (a catalogue's own vocabulary) and ``fallback`` is above 0, the
    vocabulary's first ``fallback`` tags (its most frequent for a made vocabulary) stand in,
    and the log says so."""
    by_key = {normalise_tag(t): t for t in vocabulary}
    found, missing = [], []
    for tag in wanted:
        match = by_key.get(normalise_tag(str(tag)))
        (found if match is not None else missing).append(match if match is not None else tag)
    if missing:
        logger.warning(
            "%s: %s not in the tag vocabulary (%d tags), left out. Choose from: %s.",
            parameter,
            ", ".join(map(repr, missing)),
            len(vocabulary),
            ", ".join(vocabulary[:20]) + (" …" if len(vocabulary) > 20 else ""),
        )
    if not found and fallback and vocabulary:
        found = list(vocabulary[:fallback])
        logger.warning(
            "%s: none in the vocabulary; using its first %d tags: %s.", parameter, len(found), ", ".join(found)
        )
    return list(dict.fromkeys(found))


def read_tag_list(path: str | PathLike) -> list[str]:
    """Read the tag vocabulary (``50tagList.txt``): one tag per line, order kept.

    Raises:
        MSDDataError: if the file is empty or two lines name the same tag once spelling
            is normalised.
    """
    path = existing_file(path, "tag list")
    tags: list[str] = []
    first_seen: dict[str, int] = {}
    with open(path, encoding="utf-8-sig") as handle:  # -sig: a BOM would become part of the first tag
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


# Each tid_tag row is classified in SQL, so a dirty database is counted, not crashed on.
_ROW_CLASS = """
    CASE
        WHEN tid_tag.tid IS NULL OR tid_tag.tag IS NULL THEN 'null_id'
        WHEN typeof(tid_tag.tid) != 'integer' OR typeof(tid_tag.tag) != 'integer' THEN 'id_not_a_rowid'
        WHEN tid_tag.val IS NULL THEN 'null_weight'
        WHEN typeof(tid_tag.val) NOT IN ('integer', 'real') THEN 'weight_not_a_number'
        ELSE 'ok'
    END
"""
LASTFM_BAD_ROWS = (
    "null_id",
    "id_not_a_rowid",
    "null_weight",
    "weight_not_a_number",
    "unknown_tid",
    "unknown_tag",
    "tid_not_a_track_id",
    "null_tag",
)


def read_lastfm_tags_db(path: str | PathLike, *, chunk_rows: int = 1 << 20) -> pd.DataFrame:
    """Read every (track, tag, weight) triple from ``lastfm_tags.db``.

    Real schema: ``tids(tid TEXT)``, ``tags(tag TEXT)``, ``tid_tag(tid, tag, val)``
    where ``tid_tag.tid`` / ``tid_tag.tag`` are ROWIDs into ``tids`` / ``tags`` and
    ``val`` is the weight 0-100. The database is opened read-only and read in chunks of
    ``chunk_rows`` straight into integer arrays (8.6M rows never become Python tuples).

    Rows that cannot be used are skipped and counted by reason in
    ``frame.attrs["dropped_rows"]`` (see :data:`LASTFM_BAD_ROWS`): NULL IDs or weights,
    text weights, ROWIDs missing from ``tids`` / ``tags``, ``tids`` entries that are not
    track IDs, NULL tag names. A track ID listed twice in ``tids`` keeps one ID (counted in
    ``attrs["duplicate_tids"]``); the ingestion node decides how much loss is too much.

    Returns:
        DataFrame with categorical ``track_id`` and ``tag`` (raw spelling) and float32
        ``weight``.
    """
    path = Path(path)
    tids, tags, links, dropped = _read_tables(path, chunk_rows)

    track_names, track_of_rowid, duplicate_tids = _id_table(tids, is_track_id)
    tag_names, tag_of_rowid, _ = _id_table(tags, lambda t: isinstance(t, str))
    track_codes, unknown_tid = _rowid_codes(links[:, 0], tids, track_of_rowid)
    tag_codes, unknown_tag = _rowid_codes(links[:, 1], tags, tag_of_rowid)
    dropped["unknown_tid"] = int((track_codes == -2).sum())
    dropped["tid_not_a_track_id"] = int((track_codes == -1).sum())
    dropped["unknown_tag"] = int((tag_codes == -2).sum())
    dropped["null_tag"] = int((tag_codes == -1).sum())
    keep = (track_codes >= 0) & (tag_codes >= 0)
    frame = pd.DataFrame(
        {
            "track_id": pd.Categorical.from_codes(track_codes[keep], categories=pd.Index(track_names, dtype=object)),
            "tag": pd.Categorical.from_codes(tag_codes[keep], categories=pd.Index(tag_names, dtype=object)),
            "weight": links[keep, 2].astype(np.float32),
        }
    )
    frame.attrs["source"] = str(path)
    frame.attrs["rows_in_file"] = int(len(links) + sum(v for k, v in dropped.items() if k in _SQL_KINDS))
    frame.attrs["dropped_rows"] = {k: v for k, v in dropped.items() if v}
    frame.attrs["duplicate_tids"] = duplicate_tids
    frame.attrs["examples"] = {
        "unknown_tid": unknown_tid,
        "unknown_tag": unknown_tag,
    }
    return frame


_SQL_KINDS = ("null_id", "id_not_a_rowid", "null_weight", "weight_not_a_number")


def _read_tables(path: Path, chunk_rows: int) -> tuple[list, list, np.ndarray, dict[str, int]]:
    """``tids`` and ``tags`` as (ROWID, name) rows, the usable ``tid_tag`` rows as a float
    array ``[n, 3]`` (tid ROWID, tag ROWID, weight), and the unusable rows counted by kind."""
    connection = _open_sqlite_read_only(path)
    try:
        try:
            present = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as exc:
            raise MSDDataError(f"cannot read SQLite database: {exc}.", path=path) from exc
        missing = [t for t in LASTFM_TABLES if t not in present]
        if missing:
            raise MSDDataError(
                f"not a Last.fm tags database: table(s) {', '.join(missing)} missing.",
                path=path,
                fix="expected tables tids(tid), tags(tag), tid_tag(tid, tag, val).",
            )
        try:
            tids = connection.execute("SELECT ROWID, tid FROM tids ORDER BY ROWID").fetchall()
            tags = connection.execute("SELECT ROWID, tag FROM tags ORDER BY ROWID").fetchall()
            dropped = dict.fromkeys(LASTFM_BAD_ROWS, 0)
            for kind, count in connection.execute(f"SELECT {_ROW_CLASS} AS kind, COUNT(*) FROM tid_tag GROUP BY kind"):
                if kind != "ok":
                    dropped[kind] = int(count)
            cursor = connection.execute(f"SELECT tid, tag, val FROM tid_tag WHERE {_ROW_CLASS} = 'ok'")
            chunks = []
            while rows := cursor.fetchmany(chunk_rows):
                chunks.append(np.array(rows, dtype=np.float64).reshape(-1, 3))
        except sqlite3.DatabaseError as exc:
            raise MSDDataError(f"cannot read table tid_tag: {exc}.", path=path) from exc
    finally:
        connection.close()
    return tids, tags, (np.concatenate(chunks) if chunks else np.zeros((0, 3))), dropped


def _id_table(rows: list[tuple[int, object]], valid) -> tuple[list[str], dict[int, int], int]:
    """Distinct valid names of an ID table and each ROWID's position among them (-1 for an
    invalid name). A name listed under two ROWIDs maps both to one position."""
    names: list[str] = []
    position: dict[str, int] = {}
    of_rowid: dict[int, int] = {}
    duplicates = 0
    for rowid, name in rows:
        if not valid(name):
            of_rowid[rowid] = -1
            continue
        if name in position:
            duplicates += 1
        else:
            position[name] = len(names)
            names.append(name)
        of_rowid[rowid] = position[name]
    return names, of_rowid, duplicates


def _rowid_codes(
    values: np.ndarray, rows: list[tuple[int, object]], of_rowid: dict[int, int]
) -> tuple[np.ndarray, list[int]]:
    """Positions of ROWIDs ``values``: -2 where the ROWID is not in the table, -1 where its
    name is invalid. Also a few of the unknown ROWIDs, for the report."""
    values = values.astype(np.int64)
    rowids = np.fromiter((r for r, _ in rows), dtype=np.int64, count=len(rows))
    lookup = np.fromiter((of_rowid[r] for r, _ in rows), dtype=np.int64, count=len(rows))
    if values.size == 0:
        return np.zeros(0, dtype=np.int64), []
    if rowids.size == 0:
        return np.full(values.size, -2, dtype=np.int64), values[:5].tolist()
    at = np.searchsorted(rowids, values).clip(0, rowids.size - 1)
    known = rowids[at] == values
    codes = np.where(known, lookup[at], -2)
    return codes, np.unique(values[~known])[:5].tolist()


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
            record = json.loads(file.read_text(encoding="utf-8-sig"))
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
                raise MSDDataError(f"tag entry {pair!r} is not [tag, weight].", path=file) from exc
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
