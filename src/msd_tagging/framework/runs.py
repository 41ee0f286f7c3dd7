"""Compare runs: every saved version of Table 1 (or the extended table), side by side.

Kedro keeps each run's table under ``<table>.json/<version>/<table>.json``; versions are
UTC timestamps, so sorting them sorts the runs::

    msd-tagging-runs                      # data/08_reporting/demo, Table 1
    msd-tagging-runs --run msd --table extended_table --last 5

Each version has a run record beside it (:mod:`msd_tagging.framework.run_record`): its parameters,
env, commit and the models and score files it wrote, by content::

    msd-tagging-runs --show 2026-12-02T04.30.00.000Z      # what made that Table 1
    msd-tagging-runs --diff 2026-12-01T10.00.00.000Z last  # what differed between two runs
"""

from __future__ import annotations

import argparse
import json
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from msd_tagging.core.errors import MSDDataError

TABLES = {"table_1": "method", "extended_table": "scorer"}

logger = logging.getLogger(__name__)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def load_versions(reporting: str | Path, table: str = "table_1", last: int | None = None) -> pd.DataFrame:
    """One row per (version, method): ``version, method, roc_auc, pr_auc``.

    A version that cannot be read (not JSON, or JSON of another shape: no rows, a method
    twice, an AUC that is not a number, a folder in place of the file) is skipped with a
    warning naming it; the others are shown.

    Args:
        reporting: the run's reporting folder (``data/08_reporting/<run>``).
        table: ``table_1`` or ``extended_table``.
        last: keep only the newest ``last`` readable versions (at least 1).
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; use one of {sorted(TABLES)}")
    if last is not None and last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    folder = Path(reporting) / f"{table}.json"
    versions = sorted(folder.glob(f"*/{table}.json")) if folder.is_dir() else []
    if not versions:
        raise MSDDataError(
            f"no saved version of {table} under {folder}",
            path=folder,
            fix="run `kedro run --pipeline=hybrid` first, or pass the reporting folder of your run (--run / --reporting)",
        )
    readable = []
    for path in versions:
        try:
            readable.append((path, _rows(path, TABLES[table])))
        except (OSError, ValueError) as exc:  # JSONDecodeError is a ValueError
            logger.warning("Skipping %s: %s.", path, exc)
    if not readable:
        raise MSDDataError(
            f"none of the {len(versions)} saved versions of {table} under {folder} can be read (see the warnings)",
            path=folder,
            fix="delete the broken version folders, or run `kedro run --pipeline=hybrid` again",
        )
    if last:
        readable = readable[-last:]
    rows = [{"version": path.parent.name, **row} for path, version_rows in readable for row in version_rows]
    return pd.DataFrame(rows, columns=["version", "method", "roc_auc", "pr_auc"])


def _rows(path: Path, key: str) -> list[dict]:
    """The ``method, roc_auc, pr_auc`` rows of one saved version; ``ValueError`` saying
    what is wrong with it otherwise."""
    if not path.is_file():
        raise ValueError("not a file")
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or not isinstance(record.get("rows"), list) or not record["rows"]:
        raise ValueError("not a saved table (no list of rows)")
    rows, seen = [], set()
    for row in record["rows"]:
        if not isinstance(row, dict) or not isinstance(row.get(key), str):
            raise ValueError(f"a row without a {key} name")
        if row[key] in seen:
            raise ValueError(f"{key} {row[key]!r} appears twice")
        seen.add(row[key])
        for metric in ("roc_auc", "pr_auc"):
            value = row.get(metric)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{key} {row[key]!r} has {metric} {value!r}, not a number")
        rows.append({"method": row[key], "roc_auc": float(row["roc_auc"]), "pr_auc": float(row["pr_auc"])})
    return rows


def run_record(reporting: str | Path, version: str) -> dict:
    """The run record saved with ``version`` (``last``: the newest readable one,
    ``previous``: the one before it), with ``version`` set.

    A damaged record (not JSON, or edited out of shape) is named: skipped with a warning
    when ``last`` or ``previous`` passes over it, an error when asked for by its version.

    Raises:
        MSDDataError: naming the folder when there is no such record, or the file when it
            is damaged.
    """
    folder = Path(reporting) / "run_record.json"
    saved = sorted(p.parent.name for p in folder.glob("*/run_record.json")) if folder.is_dir() else []
    if version in ("last", "previous"):
        readable = []
        for name in saved:
            try:
                readable.append((name, _read_record(folder / name / "run_record.json")))
            except ValueError as exc:
                logger.warning("Skipping %s: %s.", folder / name / "run_record.json", exc)
        wanted = 1 if version == "last" else 2
        if len(readable) >= wanted:
            return readable[-wanted][1]
        if readable:
            return readable[-1][1]
    path = folder / version / "run_record.json"
    if not path.is_file():
        raise MSDDataError(
            f"no readable run record of version {version!r} (saved: {', '.join(saved[-5:]) or 'none'}"
            f"{', ...' if len(saved) > 5 else ''})",
            path=folder,
            fix="pick a version that `msd-tagging-runs` lists; runs before run records have none",
        )
    try:
        return _read_record(path)
    except ValueError as exc:
        raise MSDDataError(
            f"the run record is damaged: {exc}.", path=path, fix="pick another version; this one cannot be shown"
        ) from exc


RUNNER_REPR = re.compile(r"<(?:[\w.]+\.)?(\w+) object at 0x[0-9a-f]+>")
SECTIONS = {"run": dict, "code": dict, "parameters": dict, "inputs": dict, "outputs": dict}


def _read_record(path: Path) -> dict:
    """A run record, checked to have the shape :mod:`msd_tagging.framework.run_record` writes;
    ``ValueError`` saying what is wrong otherwise (JSONDecodeError is one)."""
    record = json.loads(path.read_text())
    if not isinstance(record, dict):
        raise ValueError(f"not a run record (a JSON {type(record).__name__})")
    for key, kind in SECTIONS.items():
        if not isinstance(record.get(key), kind):
            raise ValueError(f"its {key!r} is {'missing' if key not in record else type(record[key]).__name__}")
    for name, entry in record["outputs"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("sha256"), str):
            raise ValueError(f"output {name!r} has no sha256")
    for name, entry in record["inputs"].items():
        if not isinstance(entry, dict):
            raise ValueError(f"input {name!r} is not an entry")
    if not isinstance(record["code"].get("packages", {}), dict):
        raise ValueError("its code.packages is not a mapping")
    runner = record["run"].get("runner")
    if isinstance(runner, str) and (old := RUNNER_REPR.fullmatch(runner)):  # records before the class name
        record["run"] = {**record["run"], "runner": old.group(1)}
    return {**record, "version": record.get("version") or path.parent.name}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """``{"listening": {"bpr": {"factors": 200}}}`` as ``{"listening.bpr.factors": 200}``."""
    if isinstance(data, dict) and data:
        out = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    return {prefix.rstrip("."): data}


def differences(a: dict, b: dict) -> pd.DataFrame:
    """What differed between two run records: ``what, name, a, b`` per differing item
    (the run, the code, each parameter, each output's content)."""
    rows = []
    sides = {
        "run": (flatten(a["run"]), flatten(b["run"])),
        "code": (flatten(a["code"]), flatten(b["code"])),
        "parameter": (flatten(a["parameters"]), flatten(b["parameters"])),
        "input": (
            {k: v.get("sha256", v.get("modified")) for k, v in a["inputs"].items()},
            {k: v.get("sha256", v.get("modified")) for k, v in b["inputs"].items()},
        ),
        "output": (
            {k: v["sha256"][:12] for k, v in a["outputs"].items()},
            {k: v["sha256"][:12] for k, v in b["outputs"].items()},
        ),
    }
    for what, (left, right) in sides.items():
        for name in sorted(set(left) | set(right)):
            if left.get(name) != right.get(name):
                rows.append({"what": what, "name": name, "a": left.get(name, "–"), "b": right.get(name, "–")})
    return pd.DataFrame(rows, columns=["what", "name", "a", "b"])


def describe(record: dict) -> str:
    """A run record as a few lines: when, what, which code, which model."""
    code, run = record["code"], record["run"]
    outputs = record["outputs"]  # records from before the rename name the audio model vgg_model
    model = (
        outputs.get("audio_model")
        or outputs.get("vgg_model")
        or next((v for k, v in outputs.items() if k.endswith("_model") or k.endswith("head")), None)
    )
    lines = [
        f"version   {record['version']}  (finished {record.get('finished', '?')})",
        f"env       {run.get('env') or 'base'}; pipelines {', '.join(run.get('pipeline_names') or ['__default__'])}"
        + (f"; --params {run['runtime_params']}" if run.get("runtime_params") else ""),
        f"commit    {code.get('commit') or 'not a git checkout'}"
        + (" (uncommitted changes)" if code.get("dirty") else ""),
        "packages  " + ", ".join(f"{k} {v}" for k, v in code.get("packages", {}).items() if v),
        f"model     {model.get('path', '?')} sha256 {model['sha256'][:16]}{_kept(model)}"
        if model
        else "model     (none written by this run)",
        f"outputs   {len(record['outputs'])} files by content, {len(record['inputs'])} inputs; parameters: "
        f"{len(flatten(record['parameters']))} values (--json for all)",
    ]
    return "\n".join(lines)


def _kept(entry: dict) -> str:
    """``, kept as <file>`` when the run record's copy of an output is still there."""
    kept = entry.get("kept_as")
    if not kept:
        return ""
    return f", kept as {kept}" if Path(kept).is_file() else f" (its copy {kept} is gone: make clean-data removed it?)"


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
    parser.add_argument("--last", type=_positive, default=None, help="only the newest N runs (N >= 1)")
    parser.add_argument("--all", action="store_true", help="one row per saved version, even when results repeat")
    parser.add_argument("--show", metavar="VERSION", help="what made one version: parameters, commit, model (last)")
    parser.add_argument("--diff", nargs=2, metavar=("A", "B"), help="what differed between two versions")
    parser.add_argument("--json", action="store_true", help="with --show: the whole run record as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(format="warning: %(message)s", level=logging.WARNING)
    reporting = Path(args.reporting) if args.reporting else Path(args.data_root) / "08_reporting" / args.run
    try:
        if args.show:
            record = run_record(reporting, args.show)
            print(json.dumps(record, indent=2) if args.json else describe(record))  # noqa: T201
            return 0
        if args.diff:
            a, b = (run_record(reporting, v) for v in args.diff)
            diff = differences(a, b)
            print(f"{a['version']} (a) against {b['version']} (b):")  # noqa: T201
            print(diff.to_string(index=False) if len(diff) else "no difference")  # noqa: T201
            return 0
        table = side_by_side(load_versions(reporting, args.table, args.last), collapse=not args.all)
    except MSDDataError as exc:
        parser.exit(2, f"error: {exc}\n")
    print(table.to_string())  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
