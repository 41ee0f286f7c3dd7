"""Read-only Kedro dataset over one plain table of a catalogue, CSV or Parquet."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from msd_tagging.errors import MSDDataError

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
    """

    def __init__(  # noqa: PLR0913 - a catalog entry's keys
        self,
        filepath: str,
        optional: bool = False,
        encoding: str = "utf-8-sig",
        columns: dict[str, str] | None = None,
        load_args: dict[str, Any] | None = None,
        weight_scale: float | None = None,
        metadata: dict | None = None,
    ):
        self._filepath = Path(filepath)
        self._optional = optional
        self._columns = _column_map(columns, self._filepath)
        self._pandas_args = dict(load_args or {})
        self._encoding = self._pandas_args.pop("encoding", encoding)
        refused = sorted({"dtype", "names", "converters", "index_col"} & set(self._pandas_args))
        if refused:
            raise MSDDataError(
                f"load_args {', '.join(refused)} cannot be set for a catalogue table: every column is read as text "
                "(the readers give them types and name a bad line), and names come from the header.",
                path=self._filepath,
                fix="drop them from the catalog entry; rename columns with columns: {track_id: your_name}.",
            )
        if weight_scale is not None and (isinstance(weight_scale, bool) or not float(weight_scale) > 0):
            raise MSDDataError(
                f"weight_scale must be a positive number (the top of the weights' scale), not {weight_scale!r}.",
                path=self._filepath,
                fix="e.g. weight_scale: 1 for scores from 0 to 1, or leave it out for Last.fm's 0-100.",
            )
        self._weight_scale = None if weight_scale is None else float(weight_scale)
        self.metadata = metadata

    @property
    def filepath(self) -> Path:
        """The file this entry names (the run record hashes it)."""
        return self._filepath

    def load(self) -> pd.DataFrame | None:
        path = self._filepath
        if not path.exists():
            if self._optional:
                logger.info("Optional table %s is absent; using none.", path)
                return None
            raise MSDDataError(
                "the table does not exist.", path=path, fix="export it there, or point conf/<env>/globals.yml at it."
            )
        from kedro_datasets.pandas import CSVDataset

        dataset = self._dataset()
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
            "source": str(path),
            "format": "csv" if text else "parquet",
            "delimiter": self._pandas_args.get("sep", DELIMITED[self._suffix()[0]]) if text else None,
            "columns": dict(self._columns),
            **({"weight_scale": self._weight_scale} if self._weight_scale is not None else {}),
        }
        return frame

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
                path=self._filepath,
                fix="correct columns: in the catalog entry (the project's name: the export's name).",
            )
        clashing = [ours for ours in self._columns if ours in frame.columns and self._columns[ours] != ours]
        if clashing:
            raise MSDDataError(
                f"the table has a column {clashing[0]!r} of its own and the catalog entry maps "
                f"{self._columns[clashing[0]]!r} to that name: which one is meant is unclear.",
                path=self._filepath,
                fix=f"map {clashing[0]} to one column only, or drop the other from the export.",
            )
        return frame.rename(columns={theirs: ours for ours, theirs in self._columns.items()})

    def _encoding_error(self) -> MSDDataError:
        """Which line is not in the table's declared encoding, and what it may be instead."""
        import gzip

        opener = gzip.open if self._filepath.suffix.lower() == ".gz" else open
        fix = (
            "save the table as UTF-8 (spreadsheets: 'CSV UTF-8'), or declare its encoding in the catalog entry, "
            "e.g. encoding: latin-1"
        )
        with opener(self._filepath, "rb") as handle:
            head = handle.read(4)
            handle.seek(0)
            if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
                return MSDDataError(
                    f"the table is UTF-16 (byte-order mark {head[:2].hex(' ').upper()}), not {self._encoding}.",
                    path=self._filepath,
                    fix=fix.replace("latin-1", "utf-16"),
                )
            for number, line in enumerate(handle, start=1):
                try:
                    line.decode(self._encoding)
                except UnicodeDecodeError as exc:
                    byte = line[exc.start : exc.start + 1].hex().upper()
                    return MSDDataError(
                        f"the table is not {self._encoding.removesuffix('-sig').upper()}: line {number} holds byte "
                        f"0x{byte} at position {exc.start + 1}.",
                        path=self._filepath,
                        fix=fix,
                    )
        return MSDDataError(f"the table is not {self._encoding}.", path=self._filepath, fix=fix)

    def _dataset(self) -> AbstractDataset:
        from kedro_datasets.pandas import CSVDataset, ParquetDataset

        suffix, compressed = self._suffix()
        if suffix in PARQUET:
            return ParquetDataset(filepath=str(self._filepath), load_args=dict(self._pandas_args))
        if suffix not in DELIMITED:
            raise MSDDataError(
                f"cannot tell the table's format from its extension {suffix or '(none)'!r}.",
                path=self._filepath,
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
        return CSVDataset(filepath=str(self._filepath), load_args=load_args)

    def _suffix(self) -> tuple[str, bool]:
        """The format's extension (``.csv`` of ``plays.csv.gz``) and whether it is gzipped."""
        suffixes = [s.lower() for s in self._filepath.suffixes]
        compressed = suffixes[-1:] == [".gz"]
        return (suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")), compressed

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath} is raw catalogue input and read-only.")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "optional": self._optional,
            "encoding": self._encoding,
            "columns": self._columns,
            "load_args": self._pandas_args,
            "weight_scale": self._weight_scale,
        }


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
