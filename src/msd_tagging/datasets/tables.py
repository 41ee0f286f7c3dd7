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

    Args:
        filepath: the table.
        optional: load ``None`` when the file is absent (the listen log, which can stand
            in for the plays table).
        encoding: a text table's encoding (default UTF-8, with or without a byte-order
            mark); a table in another one is named with its first bad line.
    """

    def __init__(
        self, filepath: str, optional: bool = False, encoding: str = "utf-8-sig", metadata: dict | None = None
    ):
        self._filepath = Path(filepath)
        self._optional = optional
        self._encoding = encoding
        self.metadata = metadata

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
        frame.attrs = {
            "source": str(path),
            "format": "csv" if text else "parquet",
            "delimiter": DELIMITED[self._suffix()[0]] if text else None,
        }
        return frame

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
            return ParquetDataset(filepath=str(self._filepath))
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
        return {"filepath": str(self._filepath), "optional": self._optional, "encoding": self._encoding}
