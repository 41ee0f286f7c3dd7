"""Read-only Kedro dataset over one plain table of a catalogue, CSV or Parquet."""

from __future__ import annotations

import logging
import re
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from msd_tagging.core.errors import MSDDataError

logger = logging.getLogger(__name__)

PARQUET = (".parquet", ".pq")
DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": "\t"}


class TableDataset(AbstractDataset[None, pd.DataFrame | None]):
    """One table of a catalogue export, read by kedro-datasets' ``pandas.CSVDataset`` or
    ``pandas.ParquetDataset`` as the file's extension says (``.csv``, ``.tsv``, ``.txt``,
    ``.parquet``, ``.pq``; ``.gz`` after a text extension is decompressed).

    Every column is read as text, so IDs such as ``007`` keep their zeros; the readers of
    :mod:`msd_tagging.readers.tables` give columns their types and name the line of a bad
    value. A byte-order mark and CRLF line endings are accepted. The loaded frame carries
    its file in ``attrs["source"]``, its format (``csv`` or ``parquet``) and delimiter.

    An export as it comes is mapped by configuration alone (docs/catalogue.md)::

        catalogue_listens:
          type: msd_tagging.datasets.TableDataset
          filepath: exports/listens.parquet
          columns: {user_id: listener_uuid, track_id: isrc, timestamp: played_at}
        catalogue_tags:
          type: msd_tagging.datasets.TableDataset
          filepath: exports/tags.csv
          columns: {track_id: isrc, tag: label, weight: score}
          load_args: {sep: ";"}
          weight_scale: 1           # scores from 0 to 1

    Args:
        filepath: the table.
        optional: load ``None`` when the file is absent (the listen log, which can stand
            in for the plays table).
        encoding: a text table's encoding (default UTF-8, with or without a byte-order
            mark); a table in another one is named with its first bad line.
        columns: ``{the project's name: the export's name}``, e.g. ``{track_id: isrc}``;
            the export's columns are renamed on load, and one the table lacks is named
            with the columns it has.
        load_args: passed to ``pandas.read_csv`` (``sep``, ``quotechar``, ``escapechar``,
            ``comment``, ``skiprows``, ``encoding``, ...) or to ``pandas.read_parquet``
            (``columns``, ``filters``), over this dataset's own (text columns, empty
            cells as missing). ``dtype`` and ``names`` are refused: every column is read
            as text, and ``columns`` maps names.
        weight_scale: the top of a tags table's weight scale, when it is not Last.fm's
            0-100 (``1`` for scores from 0 to 1): the weights are rescaled to 0-100 on
            reading, so ``ingestion.tag_threshold`` keeps its meaning, and the ingestion
            report says so.
        credentials: for a table in a bucket (``s3://bucket/tracks.csv``, ``gs://``,
            ``abfs://``, any fsspec URL): the credentials.yml entry the catalog names, as
            kedro-datasets' own datasets take them.
        fs_args: extra arguments of the fsspec file system, as kedro-datasets' take them.
    """

    def __init__(  # noqa: PLR0913 - a catalog entry's keys
        self,
        filepath: str,
        optional: bool = False,
        encoding: str = "utf-8-sig",
        columns: dict[str, str] | None = None,
        load_args: dict[str, Any] | None = None,
        weight_scale: float | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict | None = None,
    ):
        import fsspec
        from kedro.io.core import get_protocol_and_path

        self._uri = str(filepath)
        self._protocol, path = get_protocol_and_path(self._uri)
        self._credentials, self._fs_args = dict(credentials or {}), dict(fs_args or {})
        self._fs = fsspec.filesystem(self._protocol, **self._credentials, **self._fs_args)
        self._path = path
        self._filepath = Path(path) if self._local else PurePosixPath(path)  # for its extensions
        self._shown = self._filepath if self._local else self._uri  # for messages: the whole URL
        self._optional = optional
        self._columns = _column_map(columns, self._shown)
        self._pandas_args = dict(load_args or {})
        self._encoding = self._pandas_args.pop("encoding", encoding)
        refused = sorted({"dtype", "names", "converters", "index_col"} & set(self._pandas_args))
        if refused:
            raise MSDDataError(
                f"load_args {', '.join(refused)} cannot be set for a catalogue table: every column is read as text "
                "(the readers give them types and name a bad line), and names come from the header.",
                path=self._shown,
                fix="drop them from the catalog entry; rename columns with columns: {track_id: your_name}.",
            )
        if weight_scale is not None and (isinstance(weight_scale, bool) or not float(weight_scale) > 0):
            raise MSDDataError(
                f"weight_scale must be a positive number (the top of the weights' scale), not {weight_scale!r}.",
                path=self._shown,
                fix="e.g. weight_scale: 1 for scores from 0 to 1, or leave it out for Last.fm's 0-100.",
            )
        self._weight_scale = None if weight_scale is None else float(weight_scale)
        self.metadata = metadata

    @property
    def _local(self) -> bool:
        return self._protocol in ("file", "local")

    @property
    def filepath(self) -> Path | None:
        """The local file this entry names (the run record hashes it); ``None`` in a bucket."""
        return self._filepath if self._local else None

    def load(self) -> pd.DataFrame | None:
        path = self._shown
        if not self._fs.exists(self._path):
            if self._optional:
                logger.info("Optional table %s is absent; using none.", path)
                return None
            raise MSDDataError(
                "the table does not exist.", path=path, fix="export it there, or point conf/<env>/globals.yml at it."
            )
        from kedro_datasets.pandas import CSVDataset

        dataset = self._dataset()
        self._announce()
        try:
            frame = dataset.load()
        except DatasetError as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, pd.errors.EmptyDataError):
                raise MSDDataError("the table is empty (no header line).", path=path) from exc
            if isinstance(cause, UnicodeError):
                raise self._encoding_error() from exc
            unclosed = re.search(r"EOF inside string starting at row (\d+)", str(cause))
            if unclosed:  # pandas counts the header as row 0: row N is on line N + 1
                raise MSDDataError(
                    f'a quote opened on line {int(unclosed.group(1)) + 1} is never closed: a stray quote (") in a '
                    "value makes the rest of the file one field.",
                    path=path,
                    fix="remove the stray quote or quote that value properly, then export again.",
                ) from exc
            raise MSDDataError(f"cannot be read as a table: {str(cause)[:200]}", path=path) from exc
        text = isinstance(dataset, CSVDataset)
        if not text:  # Parquet: hand the columns over as text, as from a CSV
            frame = frame.astype({c: "string" for c in frame.columns}).astype(object).where(frame.notna(), None)
        frame.columns = [str(c).strip() for c in frame.columns]
        frame = self._renamed(frame, "the header line" if text else "the Parquet schema")
        frame.attrs = {
            "source": str(path),  # the file, or the URL of a table in a bucket
            "skipped_lines": self._skipped_lines() if text else [],
            "format": "csv" if text else "parquet",
            "delimiter": self._pandas_args.get("sep", DELIMITED[self._suffix()[0]]) if text else None,
            "columns": dict(self._columns),
            **({"weight_scale": self._weight_scale} if self._weight_scale is not None else {}),
        }
        return frame

    def _announce(self) -> None:
        """One log line per load_args option that changes which rows or columns are read."""
        args, path = self._pandas_args, self._shown
        said = {
            "nrows": lambda v: f"reads only the first {v} rows",
            "skiprows": lambda v: (
                f"skips {'the first ' + str(v) + ' lines' if isinstance(v, int) else 'lines ' + str(v)}"
                " (line numbers in messages still count them)"
            ),
            "skipfooter": lambda v: f"drops the last {v} lines",
            "usecols": lambda v: (
                f"reads only the columns {list(v) if not callable(v) else v}: any other column, a tags "
                "table's weight included, is as if absent"
            ),
            "comment": lambda v: f"drops everything after {v!r} on each line",
            "header": lambda v: f"takes line {v + 1 if isinstance(v, int) else v} as the header",
            "columns": lambda v: f"reads only the columns {list(v)}",
            "filters": lambda v: f"reads only the rows passing {v}",
        }
        for option, words in said.items():
            if option in args and args[option] is not None:
                logger.warning("%s: load_args %s %s.", path, option, words(args[option]))

    def _skipped_lines(self) -> list[int]:
        """The 0-based lines ``load_args: skiprows`` leaves out, so messages name true lines."""
        skip = self._pandas_args.get("skiprows")
        if skip is None:
            return []
        if isinstance(skip, int):
            return list(range(skip))
        if callable(skip):
            logger.warning(
                "%s: load_args skiprows is a function; line numbers in messages count the lines read.", self._shown
            )
            return []
        return sorted(int(i) for i in skip)

    def _renamed(self, frame: pd.DataFrame, header: str) -> pd.DataFrame:
        """The export's columns under the project's names (``columns``)."""
        if not self._columns:
            return frame
        missing = {ours: theirs for ours, theirs in self._columns.items() if theirs not in frame.columns}
        if missing:
            raise MSDDataError(
                "the catalog entry maps "
                + ", ".join(f"{ours} to column {theirs!r}" for ours, theirs in missing.items())
                + f", which {header} lacks (its columns: {', '.join(map(repr, frame.columns)) or 'none'}).",
                path=self._shown,
                fix="correct columns: in the catalog entry (the project's name: the export's name).",
            )
        clashing = [ours for ours in self._columns if ours in frame.columns and self._columns[ours] != ours]
        if clashing:
            raise MSDDataError(
                f"the table has a column {clashing[0]!r} of its own and the catalog entry maps "
                f"{self._columns[clashing[0]]!r} to that name: which one is meant is unclear.",
                path=self._shown,
                fix=f"map {clashing[0]} to one column only, or drop the other from the export.",
            )
        return frame.rename(columns={theirs: ours for ours, theirs in self._columns.items()})

    def _encoding_error(self) -> MSDDataError:
        """Which line is not in the table's declared encoding, and what it may be instead."""
        import gzip
        from contextlib import nullcontext

        compressed = self._filepath.suffix.lower() == ".gz"
        with self._fs.open(self._path, "rb") as raw, gzip.open(raw) if compressed else nullcontext(raw) as handle:
            guess = _legacy_encoding(iter(lambda: handle.read(1 << 20), b""))
            handle.seek(0)
            fix = (
                "save the table as UTF-8 (spreadsheets: 'CSV UTF-8'), or declare its encoding in the catalog entry, "
                f"e.g. encoding: {guess}"
            )
            head = handle.read(4)
            handle.seek(0)
            if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
                return MSDDataError(
                    f"the table is UTF-16 (byte-order mark {head[:2].hex(' ').upper()}), not {self._encoding}.",
                    path=self._shown,
                    fix=fix.replace(guess, "utf-16"),
                )
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode(self._encoding)
                except UnicodeDecodeError as exc:
                    byte = line[exc.start : exc.start + 1].hex().upper()
                    return MSDDataError(
                        f"the table is not {self._encoding.removesuffix('-sig').upper()}: line {number} holds byte "
                        f"0x{byte} at position {exc.start + 1}.",
                        path=self._shown,
                        fix=fix,
                    )
        return MSDDataError(f"the table is not {self._encoding}.", path=self._shown, fix=fix)

    def _dataset(self) -> AbstractDataset:
        from kedro_datasets.pandas import CSVDataset, ParquetDataset

        suffix, compressed = self._suffix()
        remote = {"credentials": self._credentials or None, "fs_args": self._fs_args or None}
        if suffix in PARQUET:
            return ParquetDataset(filepath=self._uri, load_args=dict(self._pandas_args), **remote)
        if suffix not in DELIMITED:
            raise MSDDataError(
                f"cannot tell the table's format from its extension {suffix or '(none)'!r}.",
                path=self._shown,
                fix="name it .csv, .tsv or .parquet (.csv.gz and .tsv.gz work too).",
            )
        load_args = {
            "sep": DELIMITED[suffix],
            "dtype": str,
            "keep_default_na": False,
            "na_values": [""],
            "encoding": self._encoding,  # utf-8-sig: a BOM from spreadsheet exports is not part of the first name
            "compression": "gzip" if compressed else None,
            **self._pandas_args,
        }
        return CSVDataset(filepath=self._uri, load_args=load_args, **remote)

    def _suffix(self) -> tuple[str, bool]:
        """The format's extension (``.csv`` of ``plays.csv.gz``) and whether it is gzipped."""
        suffixes = [s.lower() for s in self._filepath.suffixes]
        compressed = suffixes[-1:] == [".gz"]
        return (suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")), compressed

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._shown} is raw catalogue input and read-only.")

    def _exists(self) -> bool:
        return self._fs.exists(self._path)

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._uri,
            "optional": self._optional,
            "encoding": self._encoding,
            "columns": self._columns,
            "load_args": self._pandas_args,
            "weight_scale": self._weight_scale,
        }


C1_BYTES = re.compile(rb"[\x80-\x9f]")
CP1252_UNDEFINED = frozenset(bytes([b]) for b in b"\x81\x8d\x8f\x90\x9d")


def _legacy_encoding(blocks) -> str:
    """The 8-bit encoding a non-UTF-8 table (its bytes, in ``blocks``) most likely is:
    ``cp1252`` (Windows) when it holds bytes 0x80-0x9F, which latin-1 would read as
    invisible control characters (``“rock”`` as ``\x93rock\x94``) and cp1252 as
    punctuation; else ``latin-1``."""
    c1 = set()
    for block in blocks:
        c1.update(C1_BYTES.findall(block))
    return "cp1252" if c1 and not c1 & CP1252_UNDEFINED else "latin-1"


def _column_map(columns: dict | None, path: Path) -> dict[str, str]:
    """``columns`` checked: names to names, no export column mapped twice."""
    if columns is None:
        return {}
    if not isinstance(columns, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in columns.items()):
        raise MSDDataError(
            f"columns must map the project's column names to the export's, not {columns!r}.",
            path=path,
            fix="e.g. columns: {track_id: isrc, user_id: listener_uuid}",
        )
    theirs = list(columns.values())
    twice = sorted({c for c in theirs if theirs.count(c) > 1})
    if twice:
        raise MSDDataError(
            f"columns maps the export's column {twice[0]!r} to two names.", path=path, fix="map each column once."
        )
    return dict(columns)
