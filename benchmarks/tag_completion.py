"""Benchmark: is the precision the tagged catalogue promises the precision untagged tracks get?

Draws the example catalogue (the demo world as plain tables, ``--env catalogue``) with
``demo_data.untagged_fraction`` (default 0.2): that share of its split tracks loses every
crowd tag, the removed rows kept apart in ``hidden_tags.csv``. The run
(``kedro run --pipeline=hybrid --env catalogue``) treats them as unlabelled, tags them and
predicts per evidence class and tag the precision and recall its decisions should show on
the class's untagged tracks. :mod:`msd_tagging.demo.completion` then compares the
decisions on the hidden tracks with the removed tags.

The named baseline, measured on the same hidden tracks: tagging at random at each tag's
rate, whose precision is the tag's share among them. The table gives the run's precision
as a ratio to it (lift).

Usage::

    python benchmarks/tag_completion.py [--untagged-fraction 0.2] [--scratch DIR] [--out benchmarks/results/tag_completion]

Writes ``--out`` ``.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent


def run_catalogue(scratch: Path, fraction: float, params: dict | None = None) -> Path:
    """``kedro run --pipeline=hybrid --env catalogue`` on the example catalogue with
    ``untagged_fraction``, in a scratch copy of conf/ (a ``bench`` env over conf/catalogue)."""
    from kedro.framework.project import settings
    from kedro.framework.startup import bootstrap_project

    conf = scratch / "conf"
    shutil.copytree(PROJECT / "conf", conf, ignore=shutil.ignore_patterns("local"), dirs_exist_ok=True)
    (conf / "local").mkdir(exist_ok=True)
    env = conf / "catalogue"
    globals_ = yaml.safe_load((env / "globals.yml").read_text())
    raw = scratch / "raw" / "catalogue"
    globals_.update(data_root=str(scratch / "data"), raw_root=str(raw))
    globals_["tables"] = {k: str(raw / Path(v).name) for k, v in globals_["tables"].items()}
    (env / "globals.yml").write_text(yaml.safe_dump(globals_))
    demo = yaml.safe_load((env / "parameters_demo_data.yml").read_text())
    demo["demo_data"]["untagged_fraction"] = fraction
    (env / "parameters_demo_data.yml").write_text(yaml.safe_dump(demo))
    for name, data in (params or {}).items():
        (env / name).write_text(yaml.safe_dump(data))
    bootstrap_project(PROJECT)
    with settings.SESSION_CLASS.create(project_path=PROJECT, env="catalogue", conf_source=str(conf)) as session:
        session.run(pipeline_names=["hybrid"])
    return scratch


def results(scratch: Path, run_name: str = "catalogue") -> tuple[pd.DataFrame, dict]:
    from msd_tagging.demo.completion import run_check

    data = scratch / "data"
    report = json.loads((data / "08_reporting" / run_name / "ingestion_report.json").read_text())
    threshold = float(report["tags"]["tag_threshold"])
    table = run_check(
        scratch / "raw" / run_name, data / "07_model_output" / run_name, data / "03_primary" / run_name, threshold
    )
    return table, report


def markdown(table: pd.DataFrame, record: dict) -> str:
    inside = table["inside"].mean() if len(table) else float("nan")
    lines = [
        "# Tag completion: promised against measured precision on hidden tracks",
        "",
        f"`python benchmarks/tag_completion.py`, commit `{record['commit']}`, {record['machine']}; "
        f"{record['seconds'] / 60:.1f} min. The example catalogue with `demo_data.untagged_fraction: "
        f"{record['untagged_fraction']}`: {record['hidden_tracks']} split tracks lost their crowd tags, were "
        "tagged as unlabelled tracks, and are checked here against the removed tags. Per (evidence class, tag) "
        f"with at least {record['min_positives']} hidden positives: the measured precision and recall, and the "
        "interval the run's report predicted for them from test (`tagging_expectations.json`).",
        "",
        f"**{int(table['inside'].sum())} of {len(table)} ({inside:.0%})** (class, tag) pairs have both their "
        f"precision and recall inside the predicted intervals (precision alone: {table['precision_inside'].mean():.0%}, "
        f"recall alone: {table['recall_inside'].mean():.0%}). Baseline: random tagging at each tag's rate; its "
        "precision is the tag's share of the hidden tracks. Median lift of the decisions over it: "
        f"**{record['median_lift']:.1f}×**.",
        "",
        "| class | tag | hidden positives / tracks | decided | precision | predicted | recall | predicted | "
        "lift over random | inside |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in table.itertuples():
        lines.append(
            f"| {r.evidence} | {r.tag} | {r.hidden_positives} / {r.hidden_tracks} | {r.decided} | {r.precision:.2f} | "
            f"[{r.predicted_precision_low:.2f}, {r.predicted_precision_high:.2f}] | {r.recall:.2f} | "
            f"[{r.predicted_recall_low:.2f}, {r.predicted_recall_high:.2f}] | {r.lift:.1f}× | "
            f"{'yes' if r.inside else 'no'} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--untagged-fraction", type=float, default=0.2)
    parser.add_argument("--scratch", type=Path, help="folder for the catalogue and the run (default: temporary)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "tag_completion")
    args = parser.parse_args(argv)
    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="tag-completion-"))
    started = time.perf_counter()
    run_catalogue(scratch, args.untagged_fraction)
    table, report = results(scratch)
    table["lift"] = table["precision"] / (table["hidden_positives"] / table["hidden_tracks"])
    record = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True
        ).stdout.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": time.perf_counter() - started,
        "untagged_fraction": args.untagged_fraction,
        "hidden_tracks": int(pd.read_csv(scratch / "raw/catalogue/hidden_tags.csv")["track_id"].nunique()),
        "min_positives": 5,
        "pairs": int(len(table)),
        "inside_share": float(table["inside"].mean()) if len(table) else None,
        "median_lift": float(table["lift"].median()) if len(table) else float("nan"),
        "untagged_in_ingestion": report["splits"].get("untagged"),
        "rows": json.loads(table.to_json(orient="records")),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(table, record))
    print(f"{record['inside_share']:.0%} of {len(table)} (class, tag) pairs inside; wrote {args.out}.json/.md")
    return table


if __name__ == "__main__":
    main()
