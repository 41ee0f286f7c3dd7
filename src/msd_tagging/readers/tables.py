"""A catalogue's plain tables: plays (or a listen log), tags and tracks.

The tables come from a database export as CSV or Parquet (read by
:class:`msd_tagging.datasets.TableDataset`, which hands every column over as text). These
functions check them and give each column its type. A structural problem (a missing
column, a value of the wrong type, a track listed twice with different data, a line break
inside a value) raises :class:`~msd_tagging.core.errors.MSDDataError` naming the file, the
column and the line, and saying how to fix it. Harmless repeats are merged and counted in
``attrs["merged_rows"]`` for the ingestion report.

Formats (a header line; columns in any order; extra columns ignored):

* plays: ``user_id, track_id, plays`` (whole numbers, at most 2,147,483,647 per pair).
* listens: ``user_id, track_id, timestamp``, one row per listen, counted into plays;
  times are ISO 8601 (``2024-01-05T10:00:00Z``, ``2024-01-05``) or Unix seconds.
* tags: ``track_id, tag`` and optionally ``weight`` (a number, e.g. Last.fm's 0-100).
* tracks: ``track_id`` and optionally ``artist, title, audio_path, split``
  (``train``, ``valid``, ``test``, or empty for a track that only has plays).
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.tracks import SPLITS
from msd_tagging.readers.audio_paths import safe_relative_path

logger = logging.getLogger(__name__)


FORMATS_FIX = "see docs/catalogue.md for the columns each table needs"
MAX_PLAY_COUNT = int(np.iinfo(np.int32).max)  # plays of one (user, track) pair, as stored
LISTEN_REPEATS = ("auto", "drop", "keep")
_WHOLE = re.compile(r"\+?[0-9]+(\.0*)?")  # ASCII digits only: \d also matches "１２" and "١٢"
_EPOCH = re.compile(r"[+-]?[0-9]+(\.[0-9]*)?")


def _source(frame: pd.DataFrame, what: str) -> str:
    return frame.attrs.get("source", f"the {what} table")


def where(frame: pd.DataFrame, position: int) -> str:
    """Where row ``position`` is in its file, for a message: ``line 7`` of a text table
    (1-based, the header is line 1; values holding line breaks counted), ``row 6`` of a
    Parquet file (1-based)."""
    position = int(position)
    if frame.attrs.get("format") == "parquet":
        return f"row {position + 1}"
    before = frame.iloc[:position]  # line breaks inside quoted values of the rows before
    breaks = sum(int(before[c].astype("string").str.count("\n").sum()) for c in before.columns) if position else 0
    line = position + 1 + breaks  # 0-based among the lines read, the header being 0
    for skipped in frame.attrs.get("skipped_lines", ()):  # load_args skiprows: count the lines left out
        if skipped > line:
            break
        line += 1
    return f"line {line + 1}"


def require_columns(frame: pd.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Stop when ``frame`` lacks one of ``columns``, naming the file and the columns it has."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        header = "the Parquet schema" if frame.attrs.get("format") == "parquet" else "the header line"
        raise MSDDataError(
            f"the {what} table has no column {', '.join(map(repr, missing))} (its columns: "
            f"{', '.join(map(repr, frame.columns)) or 'none'}).",
            path=_source(frame, what),
            fix=f"name the columns {', '.join(columns)} in {header}, or map yours to them in the catalog entry "
            f"(columns: {{{missing[0]}: your_column}}); {FORMATS_FIX}.",
        )
    if frame.empty:
        raise MSDDataError(f"the {what} table has no rows.", path=_source(frame, what), fix="export the table again.")


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    """A text column stripped, as Python strings; ``None`` where empty or missing (never
    the text ``"<NA>"`` or ``"nan"``)."""
    values = frame[column].astype("string").str.strip()
    values = values.mask(values == "")
    return pd.Series(values.to_numpy(dtype=object, na_value=None), index=frame.index, dtype=object)


CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0 (line breaks, tabs, NUL ...), DEL and C1 controls


def _check_no_control_characters(frame: pd.DataFrame, columns, what: str) -> None:
    """A line break inside a value is almost always a stray quote that merged rows; NUL and
    other control characters are never text (C1 ones are often cp1252 read as latin-1)."""
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column].astype("string")
        found = values.str.contains(CONTROL.pattern, regex=True, na=False).to_numpy()
        if not found.any():
            continue
        row = int(np.flatnonzero(found)[0])
        value = str(frame[column].iloc[row])
        char = CONTROL.search(value).group()
        if char in "\r\n":
            raise MSDDataError(
                f"column {column!r} holds a line break on {where(frame, row)} ({int(found.sum())} such row(s)): "
                f"{value[:80]!r}. A stray quote in the export merges the rows after it this way.",
                path=_source(frame, what),
                fix="remove the stray quote (or quote the field properly), or export without quoting.",
            )
        c1 = "\x80" <= char <= "\x9f"
        raise MSDDataError(
            f"column {column!r} holds the control character U+{ord(char):04X} on {where(frame, row)} "
            f"({int(found.sum())} such row(s)): {value[:80]!r}. Text never holds one.",
            path=_source(frame, what),
            fix="the export was likely read in the wrong encoding: declare encoding: cp1252 in the catalog entry"
            if c1
            else "remove control characters (NUL, tabs, escapes) from the export's values.",
        )


def _check_no_delimiter(frame: pd.DataFrame, columns, what: str, *, warn_only=()) -> int:
    """A delimiter inside an ID or split value stops the run; inside ``warn_only`` columns
    (an artist may be "Crosby, Stills, Nash & Young") it is warned and counted."""
    delimiter = frame.attrs.get("delimiter")
    flagged = 0
    if not delimiter:
        return 0
    for column in columns:
        if column not in frame.columns:
            continue
        inside = frame[column].astype("string").str.contains(delimiter, regex=False, na=False).to_numpy()
        if not inside.any():
            continue
        row = int(np.flatnonzero(inside)[0])
        shown = "TAB" if delimiter == "\t" else repr(delimiter)
        if column in warn_only:
            flagged += int(inside.sum())
            logger.warning(
                "%s: %d value(s) of column %r hold the delimiter %s, first on %s (%r); check that no rows were "
                "merged by a stray quote.",
                _source(frame, what),
                int(inside.sum()),
                column,
                shown,
                where(frame, row),
                frame[column].iloc[row],
            )
            continue
        raise MSDDataError(
            f"column {column!r} holds the delimiter {shown} on {where(frame, row)} ({int(inside.sum())} such "
            f"row(s)): {frame[column].iloc[row]!r}. An ID or split never does; rows were likely merged by a stray quote.",
            path=_source(frame, what),
            fix="fix the quoting of that line in the export.",
        )
    return flagged


def _ids(frame: pd.DataFrame, column: str, what: str) -> pd.Series:
    """A text ID column, stripped; an empty ID stops the run."""
    values = _text(frame, column)
    empty = values.isna().to_numpy()
    if empty.any():
        row = int(np.flatnonzero(empty)[0])
        raise MSDDataError(
            f"column {column!r} is empty in {int(empty.sum())} row(s), first on {where(frame, row)}.",
            path=_source(frame, what),
            fix=f"every row needs a {column}; drop such rows from the export.",
        )
    return values


def _numbers(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """A numeric column (float64); text that is not a number stops the run, naming the line."""
    text = frame[column].astype("string").str.strip()
    values = pd.to_numeric(text, errors="coerce")
    bad = (values.isna() | ~np.isfinite(values.fillna(0))).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        shown = frame[column].iloc[row]
        raise MSDDataError(
            f"column {column!r} must hold a number; {where(frame, row)} has {shown if isinstance(shown, str) else ''!r} "
            f"({int(bad.sum())} such row(s)).",
            path=_source(frame, what),
            fix=f"write {column} as a number, without units or thousands separators.",
        )
    return values.to_numpy(dtype=np.float64)


def _counts(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    """A column of play counts: whole numbers from 0 to :data:`MAX_PLAY_COUNT` (int64).

    Parsed from the text exactly (never through a float), so a count too large for any
    integer type is named, not turned into a negative number or a rounding."""
    text = frame[column].astype("string").str.strip().fillna("")
    whole = text.str.fullmatch(_WHOLE.pattern).to_numpy()
    if not whole.all():
        row = int(np.flatnonzero(~whole)[0])
        value = frame[column].iloc[row]
        negative = isinstance(value, str) and value.strip().startswith("-")
        foreign = isinstance(value, str) and any(c.isdigit() and not c.isascii() for c in value)
        raise MSDDataError(
            f"column {column!r} must hold a whole number of 0 or more; {where(frame, row)} has {value!r} "
            f"({int((~whole).sum())} such row(s)).",
            path=_source(frame, what),
            fix="play counts are 0 or more."
            if negative
            else f"write {column} with the digits 0-9 (not full-width or other scripts' digits)."
            if foreign
            else f"write {column} as a whole number, without units.",
        )
    digits = text.str.replace(r"^\+", "", regex=True).str.replace(r"\.0*$", "", regex=True).str.lstrip("0")
    long = (digits.str.len() > len(str(MAX_PLAY_COUNT))).to_numpy()
    counts = np.zeros(len(text), dtype=np.int64)
    counts[~long] = pd.to_numeric(digits[~long].replace("", "0")).to_numpy(dtype=np.int64)
    over = long | (counts > MAX_PLAY_COUNT)
    if over.any():
        row = int(np.flatnonzero(over)[0])
        raise MSDDataError(
            f"column {column!r} on {where(frame, row)} is {frame[column].iloc[row]!r}, above {MAX_PLAY_COUNT:,}, "
            f"the most plays one (user, track) pair can hold ({int(over.sum())} such row(s)).",
            path=_source(frame, what),
            fix="check the export: a count this large is an error (a timestamp or an ID in the wrong column?).",
        )
    return counts


def _with_attrs(
    frame: pd.DataFrame, source: pd.DataFrame, rows_in_file: int, dropped: dict[str, int], merged: dict[str, int]
) -> pd.DataFrame:
    """``frame`` with where it came from and what was dropped (unusable rows) and merged (repeats)."""
    frame.attrs = {
        "source": source.attrs.get("source"),
        "format": source.attrs.get("format"),
        "rows_in_file": rows_in_file,
        "dropped_rows": dropped,
        "merged_rows": merged,
    }
    return frame


def read_plays(frame: pd.DataFrame) -> pd.DataFrame:
    """Plays ``user_id, track_id, plays``: typed, repeated (user, track) rows summed.

    Returns:
        ``user_id, track_id, play_count`` (int64) in first-seen order of the pairs;
        ``attrs`` count the rows merged.

    Raises:
        MSDDataError: naming the line of a count that is not a whole number of 0 to
            :data:`MAX_PLAY_COUNT`, and the pair whose merged rows sum above it.
    """
    require_columns(frame, ("user_id", "track_id", "plays"), "plays")
    _check_no_control_characters(frame, ("user_id", "track_id", "plays"), "plays")
    _check_no_delimiter(frame, ("user_id", "track_id"), "plays")
    counts = _counts(frame, "plays", "plays")
    table = pd.DataFrame(
        {"user_id": _ids(frame, "user_id", "plays"), "track_id": _ids(frame, "track_id", "plays"), "play_count": counts}
    )
    return _summed(table, frame, {})


def read_listens(frame: pd.DataFrame, repeats: str = "auto", max_repeated_fraction: float = 0.05) -> pd.DataFrame:
    """A listen log ``user_id, track_id, timestamp``, counted into plays.

    Timestamps are parsed (ISO 8601 or Unix seconds); one that cannot be stops the run,
    naming its line. Rows repeating a (user, track, time) are listens logged twice only
    where the times can tell listens apart:

    * ``repeats="auto"``: dropped (and counted) when the log's times resolve to the second
      and are not all equal; kept (and counted, with a warning saying why) when they
      resolve only to the minute or the day, or are constant;
    * ``"drop"``: always dropped; ``"keep"``: never.

    A listen without a time is kept and counted. When more than ``max_repeated_fraction``
    of the rows would be dropped the run stops: they may be real listens.
    """
    if repeats not in LISTEN_REPEATS:
        raise ValueError(f"repeats must be one of {LISTEN_REPEATS}, got {repeats!r}")
    require_columns(frame, ("user_id", "track_id", "timestamp"), "listens")
    _check_no_control_characters(frame, ("user_id", "track_id", "timestamp"), "listens")
    _check_no_delimiter(frame, ("user_id", "track_id"), "listens")
    times = _timestamps(frame)
    table = pd.DataFrame(
        {
            "user_id": _ids(frame, "user_id", "listens"),
            "track_id": _ids(frame, "track_id", "listens"),
            "time": times,
        }
    )
    timed = times.notna().to_numpy()
    repeated = (table.duplicated() & pd.Series(timed, index=table.index)).to_numpy()
    resolution = _resolution(times[timed])
    drop = repeats == "drop" or (repeats == "auto" and resolution == "second")
    merged = {"listens_without_timestamp": int((~timed).sum()), "timestamp_resolution": resolution}
    if repeated.any() and not drop:
        merged["repeated_listens_kept"] = int(repeated.sum())
        why = "ingestion.listen_repeats is keep" if repeats == "keep" else f"the times are {resolution}"
        logger.warning(
            "%s: %d listen(s) repeat a (user, track, time) of another; kept as real listens because %s "
            "(set ingestion.listen_repeats: drop if the export logged them twice).",
            _source(frame, "listens"),
            int(repeated.sum()),
            why,
        )
    if drop:
        share = repeated.sum() / len(table)
        if share > max_repeated_fraction:
            raise MSDDataError(
                f"{int(repeated.sum())} of {len(table)} listens ({share:.1%}) repeat a (user, track, time) and would "
                f"be dropped as logged twice, above ingestion.max_repeated_listen_fraction={max_repeated_fraction}.",
                path=_source(frame, "listens"),
                fix="if they are real listens set ingestion.listen_repeats: keep; if the export logged them twice, "
                "raise the fraction.",
            )
        merged["listen_logged_twice"] = int(repeated.sum())
        table = table[~repeated]
    if (~timed).any():
        logger.warning(
            "%s: %d listen(s) have no timestamp; each counts as one play.", _source(frame, "listens"), (~timed).sum()
        )
    table = table.drop(columns="time").assign(play_count=np.int64(1))
    return _summed(table, frame, merged)


def _timestamps(frame: pd.DataFrame) -> pd.Series:
    """The ``timestamp`` column as UTC times (NaT where empty): ISO 8601, or Unix seconds
    (milliseconds when every value is above 10^11)."""
    text = _text(frame, "timestamp")
    present = text.notna().to_numpy()
    out = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if not present.any():
        return out
    given = text[present].astype(str)
    if given.str.fullmatch(_EPOCH.pattern).all():
        seconds = pd.to_numeric(given)
        unit = "ms" if (seconds.abs() > 1e11).all() else "s"
        parsed = pd.to_datetime(seconds, unit=unit, utc=True, errors="coerce")
    else:
        parsed = pd.to_datetime(given, utc=True, errors="coerce", format="ISO8601")
    bad = parsed.isna().to_numpy()
    if bad.any():
        row = int(np.flatnonzero(present)[np.flatnonzero(bad)[0]])
        raise MSDDataError(
            f"column 'timestamp' on {where(frame, row)} is {frame['timestamp'].iloc[row]!r}, which is not a time "
            f"({int(bad.sum())} such row(s)).",
            path=_source(frame, "listens"),
            fix="write times as ISO 8601 (2024-01-05T10:00:00Z) or Unix seconds, one format for the whole column; "
            "leave it empty where unknown.",
        )
    out[present] = parsed.to_numpy()
    return out


def _resolution(times: pd.Series) -> str:
    """How finely the log's times tell listens apart: ``second``, ``minute``, ``day``,
    ``constant`` (one time for every listen) or ``none`` (no times)."""
    if times.empty:
        return "none"
    if times.nunique() == 1:
        return "constant" if len(times) > 1 else "second"
    ns = times.dt.tz_convert(None).astype("int64").to_numpy()
    if (ns % (86_400 * 10**9) == 0).all():
        return "day"
    if (ns % (60 * 10**9) == 0).all():
        return "minute"
    return "second"


def _summed(table: pd.DataFrame, source: pd.DataFrame, merged: dict) -> pd.DataFrame:
    """Rows of the same (user, track) summed; a sum above :data:`MAX_PLAY_COUNT` stops the run."""
    grouped = table.groupby(["user_id", "track_id"], sort=False)["play_count"].sum().reset_index()
    grouped["play_count"] = grouped["play_count"].astype(np.int64)  # each row <= int32 max: no int64 overflow
    over = (grouped["play_count"] > MAX_PLAY_COUNT).to_numpy()
    if over.any():
        user, track = grouped.loc[over, ["user_id", "track_id"]].iloc[0]
        rows = table.index[((table["user_id"] == user) & (table["track_id"] == track)).to_numpy()]
        raise MSDDataError(
            f"the plays of user {user!r} and track {track!r} ({', '.join(where(source, r) for r in rows[:3])}) "
            f"sum to {int(grouped.loc[over, 'play_count'].iloc[0]):,}, above {MAX_PLAY_COUNT:,}, the most one pair "
            "can hold.",
            path=_source(source, "plays"),
            fix="check the export for a count that is an error.",
        )
    merged = {**merged, "repeated_user_track_rows": len(table) - len(grouped)}
    return _with_attrs(grouped, source, len(source), {}, merged)


def read_tags(frame: pd.DataFrame) -> pd.DataFrame:
    """Tags ``track_id, tag[, weight]``: typed; a blank tag is dropped and counted.

    Without a ``weight`` column every row is a positive: its weight is infinite, above any
    threshold.

    Returns:
        ``track_id, tag, weight`` (float64), with ``attrs`` as the Last.fm reader's, and
        ``attrs["weighted"]``: whether the table had weights.
    """
    require_columns(frame, ("track_id", "tag"), "tags")
    _check_no_control_characters(frame, ("track_id", "tag", "weight"), "tags")
    _check_no_delimiter(frame, ("track_id",), "tags")
    weighted = "weight" in frame.columns
    if not weighted:
        logger.info("%s: no weight column: every tag row counts as a positive.", _source(frame, "tags"))
    weights = _numbers(frame, "weight", "tags") if weighted else np.full(len(frame), np.inf)
    scale = frame.attrs.get("weight_scale")
    if weighted and scale is not None:  # the catalog entry's weight_scale: onto Last.fm's 0-100
        weights = np.round(weights * (100.0 / scale), 9)
    if weighted and (weights < 0).any():
        row = int(np.flatnonzero(weights < 0)[0])
        raise MSDDataError(
            f"column 'weight' is negative on {where(frame, row)}.",
            path=_source(frame, "tags"),
            fix="weights are 0 or more.",
        )
    tags = _text(frame, "tag")
    blank = tags.isna().to_numpy()
    table = pd.DataFrame({"track_id": _ids(frame, "track_id", "tags"), "tag": tags, "weight": weights})[~blank]
    repeated = table.duplicated()
    table = table[~repeated.to_numpy()].reset_index(drop=True)
    out = _with_attrs(table, frame, len(frame), {"blank_tag": int(blank.sum())}, {"repeated_row": int(repeated.sum())})
    out.attrs["weighted"] = weighted
    if weighted and scale is not None:
        out.attrs["weight_scale"] = scale
    if weighted and len(table):
        top = int(np.argmax(weights))
        out.attrs["weight_range"] = (float(weights.min()), float(weights.max()), where(frame, top))
    return out


def check_weight_scale(tags: pd.DataFrame, threshold: float, scale_max: float) -> None:
    """Stop when the tag weights do not fit the scale ``tag_threshold`` is on.

    A weight above ``scale_max`` (``ingestion.tag_weight_max``, 100 for Last.fm's 0-100)
    means another scale (0-1000): the threshold would count far more rows as positive.
    Weights that all lie within 0-1 while the threshold is above 1 mean a 0-1 scale: no row
    would be positive.
    """
    if not tags.attrs.get("weighted") or "weight_range" not in tags.attrs:
        return
    low, high, line = tags.attrs["weight_range"]
    source = _source(tags, "tags")
    if high > scale_max:
        raise MSDDataError(
            f"tag weights run up to {high:g} ({line}), above ingestion.tag_weight_max={scale_max:g}, the top of the "
            f"scale ingestion.tag_threshold={threshold:g} is on: the threshold would count rows as positive that "
            "are not.",
            path=source,
            fix=f"for weights on a 0-{high:g} scale set ingestion.tag_weight_max: {high:g} and a tag_threshold on "
            "that scale, or rescale the weights to 0-100.",
        )
    if high <= 1.0 < threshold:
        raise MSDDataError(
            f"tag weights run from {low:g} to {high:g}, a 0-1 scale, but ingestion.tag_threshold={threshold:g} is on "
            f"a 0-{scale_max:g} scale: no row would be positive.",
            path=source,
            fix="set ingestion.tag_weight_max: 1 and a tag_threshold between 0 and 1 (e.g. 0.5), or rescale the "
            "weights to 0-100.",
        )


def read_tracks(frame: pd.DataFrame) -> pd.DataFrame:
    """Tracks ``track_id[, artist, title, audio_path, split]``.

    A row repeated exactly is dropped and counted; a track listed twice with different
    data stops the run. ``split`` values other than :data:`SPLITS` or empty stop the
    run; audio paths must stay under the audio folder. A line break in any value, or the
    delimiter in an ID, path or split, stops the run naming the line (a stray quote merges
    rows that way); the delimiter in an artist is warned and counted
    (``attrs["artists_with_delimiter"]``).

    Returns:
        ``track_id, artist, title, audio_path, split`` (missing columns filled with
        ``None``; empty cells ``None``), in file order.
    """
    require_columns(frame, ("track_id",), "tracks")
    where_ = _source(frame, "tracks")
    _check_no_control_characters(frame, ("track_id", "artist", "title", "audio_path", "split"), "tracks")
    flagged = _check_no_delimiter(frame, ("track_id", "audio_path", "split", "artist"), "tracks", warn_only=("artist",))
    table = pd.DataFrame({"track_id": _ids(frame, "track_id", "tracks")})
    for column in ("artist", "title", "audio_path", "split"):
        table[column] = _text(frame, column) if column in frame.columns else None
    repeated = table.duplicated()
    table = table[~repeated.to_numpy()].reset_index(drop=True)
    twice = table["track_id"].duplicated(keep=False)
    if twice.any():
        track = table.loc[twice, "track_id"].iloc[0]
        raise MSDDataError(
            f"track {track!r} is listed {int((table['track_id'] == track).sum())} times with different data "
            f"({int(twice.sum())} rows of {table.loc[twice, 'track_id'].nunique()} tracks).",
            path=where_,
            fix="keep one row per track_id in the tracks table.",
        )
    splits = table["split"].dropna()
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown:
        raise MSDDataError(
            f"column 'split' holds {', '.join(map(repr, unknown[:5]))}; expected train, valid, test or empty.",
            path=where_,
            fix="spell the splits train, valid and test, or drop the column to have a split made.",
        )
    table["audio_path"] = [None if p is None else safe_relative_path(p, path=where_) for p in table["audio_path"]]
    out = _with_attrs(table, frame, len(frame), {}, {"repeated_row": int(repeated.sum())})
    out.attrs["artists_with_delimiter"] = flagged
    return out
