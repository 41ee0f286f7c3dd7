"""CSV files meant for people: opened in a spreadsheet, so never a formula.

Crowd tags, artists and titles are user text. A cell that starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return is a formula to Excel, LibreOffice and Google
Sheets (``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). :class:`ReportCSVDataset` writes
such a text cell with a leading ``'`` (OWASP's rule for CSV injection), which spreadsheets
show as text; loading takes it off again, so a round trip keeps the text. Numbers are
numbers and never changed. Text is read back as written: ``NA``, ``null`` or ``None`` stay
text, only an empty cell is missing, and the ID and tag columns stay text whatever they
hold (``000002`` and a tag named ``100`` are not numbers). Parquet outputs keep the raw text.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from kedro_datasets.pandas import CSVDataset

FORMULA = re.compile(r"'*[=+\-@\t\r]")  # a cell a spreadsheet would evaluate (behind any quotes already there)
TEXT_LOAD_ARGS = {"keep_default_na": False, "na_values": [""], "dtype": str}
# Columns that hold IDs, tags and names: text, even when every value looks like a number.
TEXT_COLUMNS = r"track_id|file|path|tag|tag_\d+|\w*_tags|artist|title|status|detail|evidence|scorer|method|label"


def neutralised(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would evaluate prefixed by ``'``."""
    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if values.dtype != object and not pd.api.types.is_string_dtype(values.dtype):
            continue
        text = values.map(lambda v: "'" + v if isinstance(v, str) and FORMULA.match(v) else v)
        out[column] = text
    out.columns = [("'" + c if isinstance(c, str) and FORMULA.match(c) else c) for c in out.columns]
    return out


def restored(frame: pd.DataFrame, text_columns: str = TEXT_COLUMNS) -> pd.DataFrame:
    """A CSV read as text, back as written: the inverse of :func:`neutralised` (one leading
    ``'`` taken off the cells it added it to), and every column but ``text_columns`` (a
    regular expression over names) numeric where all its values are numbers."""

    def undo(value: Any) -> Any:
        return value[1:] if isinstance(value, str) and value.startswith("'") and FORMULA.match(value[1:]) else value

    out = frame.copy()
    out.columns = [undo(c) for c in out.columns]
    text = re.compile(text_columns)
    for column in out.columns:
        values = out[column].map(undo).astype(object).where(out[column].notna(), None)
        if not text.fullmatch(str(column)):
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.notna().sum() == values.notna().sum():
                out[column] = numbers
                continue
        out[column] = values
    return out


class ReportCSVDataset(CSVDataset):
    """kedro-datasets' ``pandas.CSVDataset`` for CSVs meant for people (see the module):
    text cells that would start a formula are written with a leading ``'``, and text such
    as ``NA`` or ``None`` loads as text, not as missing."""

    def __init__(self, *, load_args: dict[str, Any] | None = None, text_columns: str = TEXT_COLUMNS, **kwargs: Any):
        super().__init__(load_args={**TEXT_LOAD_ARGS, **(load_args or {})}, **kwargs)
        self._text_columns = text_columns

    def load(self) -> pd.DataFrame:
        return restored(super().load(), self._text_columns)

    def save(self, data: pd.DataFrame) -> None:
        super().save(neutralised(data))
