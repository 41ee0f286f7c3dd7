"""Echo Nest Taste Profile: ``train_triplets.txt``, ``sid_mismatches.txt`` and the
manually accepted matches."""

from __future__ import annotations

import re
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.core.errors import MSDDataError
from msd_tagging.readers.ids import SONG_ID_PATTERN, TRACK_ID_PATTERN, USER_ID_PATTERN, existing_file

TRIPLET_COLUMNS = ("user_id", "song_id", "play_count")

_MISMATCH = re.compile(rf"^(?:< )?ERROR: <({SONG_ID_PATTERN}) ({TRACK_ID_PATTERN})>")


def read_triplets(path: str | PathLike, *, block_size: int = 16 << 20) -> pd.DataFrame:
    """Read ``train_triplets.txt`` (``user<TAB>song<TAB>count``, no header), streaming.

    The file is parsed in blocks by pyarrow with the two ID columns dictionary-encoded,
    so the full 48,373,586-row file becomes three integer columns
    instead of 97 million Python strings.

    Args:
        path: the triplets file.
        block_size: bytes parsed per block.

    Returns:
        DataFrame ``[shape=(n_rows, 3)]`` with categorical ``user_id`` and ``song_id``
        and int64 ``play_count``, in file order (row ``i`` is line ``i + 1``).

    Raises:
        MSDDataError: naming the file and the first bad line: wrong number of columns,
            a count that is not an integer, or an ID of the wrong shape.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    path = existing_file(path, "Taste Profile triplets file")
    dictionary = pa.dictionary(pa.int32(), pa.string())
    read_options = pacsv.ReadOptions(column_names=list(TRIPLET_COLUMNS), block_size=block_size)
    # Blank lines (a trailing newline too many) carry nothing: skipped. Row numbers then
    # differ from line numbers, so errors find their line with a slow scan.
    parse_options = pacsv.ParseOptions(delimiter="\t", quote_char=False, double_quote=False, ignore_empty_lines=True)
    convert_options = pacsv.ConvertOptions(
        column_types={"user_id": dictionary, "song_id": dictionary, "play_count": pa.int64()},
        strings_can_be_null=False,
    )
    try:
        with pacsv.open_csv(
            path,
            read_options=read_options,
            parse_options=parse_options,
            convert_options=convert_options,
        ) as reader:
            table = pa.Table.from_batches(list(reader), schema=reader.schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _locate_triplet_error(path) or MSDDataError(str(exc), path=path) from exc

    if table.num_rows == 0:
        raise MSDDataError("the triplets file is empty.", path=path)
    if table.column("play_count").null_count:
        row = int(pc.index(pc.is_null(table.column("play_count")), True).as_py())
        raise MSDDataError("play count is missing.", path=path, line=_line_of_row(path, row))

    table = table.unify_dictionaries()
    for column, pattern, what in (
        ("user_id", USER_ID_PATTERN, "a Taste Profile user ID (40 hex digits)"),
        ("song_id", SONG_ID_PATTERN, "an MSD song ID (SO + 16 characters)"),
    ):
        _check_dictionary(table.column(column), pattern, what, path)

    frame = table.to_pandas()
    return frame


def _check_dictionary(column, pattern: str, what: str, path: Path) -> None:
    """Validate the distinct values of a dictionary-encoded column; name the first bad line."""
    import pyarrow.compute as pc

    dictionary = column.chunk(0).dictionary if column.num_chunks else None
    if dictionary is None:
        return
    ok = pc.match_substring_regex(dictionary, f"^(?:{pattern})$")
    if pc.all(ok).as_py():
        return
    bad_code = int(pc.index(ok, False).as_py())
    bad_value = dictionary[bad_code].as_py()
    row = 0
    for chunk in column.chunks:
        hits = np.flatnonzero(chunk.indices.to_numpy(zero_copy_only=False) == bad_code)
        if hits.size:
            row += int(hits[0])
            break
        row += len(chunk)
    raise MSDDataError(
        f"{bad_value!r} is not {what}.",
        path=path,
        line=_line_of_row(path, row),
        fix="check that this is the Taste Profile train_triplets.txt (user<TAB>song<TAB>count).",
    )


def _line_of_row(path: Path, row: int) -> int:
    """The line number of data row ``row`` (0-based), blank lines skipped as the parser does."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        seen = -1
        for number, line in enumerate(handle, start=1):
            if line.strip("\r\n"):
                seen += 1
                if seen == row:
                    return number
    return row + 1


INT64_MAX = 2**63 - 1


def _locate_triplet_error(path: Path) -> MSDDataError | None:
    """Slow path, taken only after a parse failure: find and describe the first bad line."""
    with open(path, encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip("\r\n"):
                continue
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) != 3:
                return MSDDataError(
                    f"expected 3 tab-separated columns (user, song, play count), found {len(fields)}.",
                    path=path,
                    line=number,
                    fix="the Taste Profile file is user<TAB>song<TAB>count with no header.",
                )
            try:
                count = int(fields[2])
            except ValueError:
                return MSDDataError(
                    f"play count {fields[2]!r} is not an integer.",
                    path=path,
                    line=number,
                )
            if abs(count) > INT64_MAX:
                return MSDDataError(
                    f"play count {fields[2]} is too large (more than {INT64_MAX}).",
                    path=path,
                    line=number,
                    fix="play counts are listens per user and song; this line is corrupt.",
                )
    return None


def _read_pairs(path: Path, *, strict: bool) -> tuple[pd.DataFrame, int]:
    """Read ``ERROR: <SO… TR…> …`` lines; ``strict`` rejects any other non-blank line."""
    songs: list[str] = []
    tracks: list[str] = []
    ignored = 0
    with open(path, encoding="utf-8-sig", errors="replace") as handle:  # -sig: a BOM is not part of the line
        for number, line in enumerate(handle, start=1):
            match = _MISMATCH.match(line)
            if match:
                songs.append(match.group(1))
                tracks.append(match.group(2))
            elif line.strip():
                if strict:
                    raise MSDDataError(
                        f"expected 'ERROR: <SOxxxxxxxxxxxxxxxx TRxxxxxxxxxxxxxxxx> …', found {line[:80].rstrip()!r}.",
                        path=path,
                        line=number,
                        fix="this must be the Taste Profile sid_mismatches.txt.",
                    )
                ignored += 1
    pairs = pd.DataFrame({"song_id": songs, "track_id": tracks}).drop_duplicates(ignore_index=True)
    return pairs, ignored


def read_sid_mismatches(path: str | PathLike) -> pd.DataFrame:
    """Read ``sid_mismatches.txt``: the known wrong song↔track matches.

    Returns:
        DataFrame with ``song_id`` and ``track_id``, one row per distinct pair.
    """
    pairs, _ = _read_pairs(existing_file(path, "sid_mismatches file"), strict=True)
    return pairs


def read_manually_accepted(path: str | PathLike) -> pd.DataFrame:
    """Read ``sid_matches_manually_accepted.txt``: mismatches reviewed and kept.

    The file is diff-style: pairs stand on lines ``< ERROR: <SO… TR…> …``; other lines
    (diff markers, blank lines) carry no pair and are passed over.

    Returns:
        DataFrame with ``song_id`` and ``track_id``, one row per distinct pair.
    """
    pairs, _ = _read_pairs(existing_file(path, "manually accepted matches file"), strict=False)
    return pairs
