"""Compare runs: every saved version of Table 1 (or the extended table), side by side.

Kedro keeps each run's table under ``<table>.json/<version>/<table>.json``; versions are
UTC timestamps, so sorting them sorts the runs::

    python -m msd_tagging.runs                      # data/08_reporting/demo, Table 1
    python -m msd_tagging.runs --run msd --table extended_table --last 5
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pandas as pd

from msd_tagging.errors import MSDDataError

TABLES = {"table_1": "method", "extended_table": "scorer"}


def load_versions(reporting: str | Path, table: str = "table_1", last: int | None = None) -> pd.DataFrame:
    """One row per (version, method): ``version, method, roc_auc, pr_auc``.

    Args:
        reporting: the run's reporting folder (``data/08_reporting/<run>``).
        table: ``table_1`` or ``extended_table``.
        last: keep only the newest ``last`` versions.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; use one of {sorted(TABLES)}")
    folder = Path(reporting) / f"{table}.json"
    versions = sorted(p for p in folder.glob(f"*/{table}.json")) if folder.is_dir() else []
    if not versions:
        raise MSDDataError(
            f"no saved version of {table} under {folder}",
            path=folder,
            fix="run `kedro run --pipeline=hybrid` first, or pass the reporting folder of your run (--run / --reporting)",
        )
    if last:
        versions = versions[-last:]
    rows = []
    for path in versions:
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise MSDDataError(
                f"{table} version is not valid JSON: {exc}", path=path, fix="delete that version folder"
            ) from exc
        for row in record["rows"]:
            rows.append(
                {
                    "version": path.parent.name,
                    "method": row[TABLES[table]],
                    "roc_auc": row["roc_auc"],
                    "pr_auc": row["pr_auc"],
                }
            )
    return pd.DataFrame(rows)


def side_by_side(versions: pd.DataFrame, *, collapse: bool = True) -> pd.DataFrame:
    """One row per run (oldest first), one column per method, ``ROC-AUC / PR-AUC`` in each cell.

    With ``collapse``, consecutive runs with identical results (a partial rerun saves Table 1
    again) are one row, under the first run's version, with their count in ``runs``.
    """
    cells = versions.assign(
        cell=versions["roc_auc"].map("{:.4f}".format) + " / " + versions["pr_auc"].map("{:.4f}".format)
    )
    order = list(dict.fromkeys(versions["method"]))
    table = cells.pivot(index="version", columns="method", values="cell")[order].rename_axis(columns=None)
    if not collapse:
        return table
    same_as_previous = table.eq(table.shift()).all(axis=1)
    group = (~same_as_previous).cumsum()
    runs = group.groupby(group).transform("size")
    return table[~same_as_previous.to_numpy()].assign(runs=runs[~same_as_previous.to_numpy()].to_numpy())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Past runs' Table 1 (ROC-AUC / PR-AUC), side by side.")
    parser.add_argument("--run", default="demo", help="run name (globals.yml run_name); default demo")
    parser.add_argument("--data-root", default="data", help="the data_root of globals.yml; default data")
    parser.add_argument("--reporting", help="reporting folder; overrides --run and --data-root")
    parser.add_argument("--table", default="table_1", choices=sorted(TABLES))
    parser.add_argument("--last", type=int, default=None, help="only the newest N runs")
    parser.add_argument("--all", action="store_true", help="one row per saved version, even when results repeat")
    args = parser.parse_args(argv)
    reporting = Path(args.reporting) if args.reporting else Path(args.data_root) / "08_reporting" / args.run
    try:
        table = side_by_side(load_versions(reporting, args.table, args.last), collapse=not args.all)
    except MSDDataError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(table.to_string())  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
