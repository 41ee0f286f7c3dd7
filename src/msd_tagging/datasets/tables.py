"""Read-only Kedro dataset over one plain table of a catalogue, CSV or Parquet."""

from __future__ import annotations

import logging
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
    its file in ``attrs["source"]``.

    Args:
        filepath: the table.
        optional: load ``None`` when the file is absent (the listen log, which can stand
            in for the plays table).
    """

    def __init__(self, filepath: str, optional: bool = False, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self._optional = optional
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
            raise MSDDataError(f"cannot be read as a table: {str(cause)[:200]}", path=path) from exc
        if not isinstance(dataset, CSVDataset):  # Parquet: hand the columns over as text, as from a CSV
            frame = frame.astype({c: "string" for c in frame.columns}).astype(object).where(frame.notna(), None)
        frame.columns = [str(c).strip() for c in frame.columns]
        frame.attrs = {"source": str(path)}
        return frame

    def _dataset(self) -> AbstractDataset:
        from kedro_datasets.pandas import CSVDataset, ParquetDataset

        suffixes = [s.lower() for s in self._filepath.suffixes]
        compressed = suffixes[-1:] == [".gz"]
        suffix = suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
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
            "encoding": "utf-8-sig",  # a BOM from spreadsheet exports is not part of the first column's name
            "compression": "gzip" if compressed else None,
        }
        return CSVDataset(filepath=str(self._filepath), load_args=load_args)

    def save(self, data: pd.DataFrame) -> None:
        raise DatasetError(f"{self._filepath} is raw catalogue input and read-only.")

    def _exists(self) -> bool:
        return self._filepath.exists()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "optional": self._optional}
