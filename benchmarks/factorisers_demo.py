"""Benchmark: the method on the demo world with each registered factoriser.

Runs ``kedro run --pipeline=hybrid`` once (the world, the features and the trained VGG
are then in place and shared), then, for every factoriser of
``msd_tagging.listening.factorisers``, the pipeline from ``factorise_plays`` on with
``listening.model`` set to it, evaluated on the validation split (which decides) and on
the test split (what the README shows). BPR, the default, is the named baseline.

Usage::

    python benchmarks/factorisers_demo.py [--env base] [--models bpr,als,lmf,warp]

Writes ``benchmarks/results/factorisers_demo.{json,md}``. The demo world is drawn: which
factoriser wins there is a direction for the demo's listeners, not a size for the MSD.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from msd_tagging.framework.run_record import commit_label, machine_label

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RESULTS = HERE / "results"
COMPARED = ("mf", "mf_classifier", "hybrid", "fusion_classifier")
METRIC_KEYS = ("roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low", "pr_auc_high")


def _kedro(*args: str) -> tuple[float, float | None]:
    """Run kedro; the run's seconds, and ``factorise_plays``'s from its cost table."""
    from msd_tagging.framework.hooks import parse_cost_log

    started = time.perf_counter()
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", *args], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"kedro run {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    costs = parse_cost_log(done.stdout + done.stderr) or {}
    fit = costs.get("nodes", {}).get("factorise_plays", {}).get("seconds")
    return time.perf_counter() - started, fit


def _newest(reporting: Path, table: str) -> dict:
    return json.loads(sorted((reporting / f"{table}.json").glob(f"*/{table}.json"))[-1].read_text())


def _registered() -> list[str]:
    from msd_tagging.listening.factorisers import FACTORISERS, warp_available

    return [name for name, f in FACTORISERS.items() if f.extra != "warp" or warp_available()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="base")
    parser.add_argument("--run-name", default="demo", help="the env's run_name (globals.yml)")
    parser.add_argument(
        "--models",
        default=",".join(_registered()),
        help="default: every registered factoriser whose extra is installed (warp: the warp extra)",
    )
    args = parser.parse_args()
    reporting = PROJECT / "data" / "08_reporting" / args.run_name
    _kedro("--pipelines=hybrid", f"--env={args.env}")  # world, features, VGG: shared by every point
    points = []
    for model in args.models.split(","):
        point = {"factoriser": model, "splits": {}}
        for split in ("valid", "test"):
            seconds, fit = _kedro(
                "--pipelines=hybrid", f"--env={args.env}", "--from-nodes=factorise_plays,audio.evaluate_scorer",
                f"--params=listening.model={model},evaluation.split={split}",
            )  # fmt: skip
            rows = {r["scorer"]: r for r in _newest(reporting, "extended_table")["rows"]}
            point["splits"][split] = {name: {k: rows[name][k] for k in METRIC_KEYS} for name in ("audio", *COMPARED)}
            point[f"{split}_run_seconds"] = seconds
            point[f"{split}_fit_seconds"] = fit
            print(model, split, {k: round(v["roc_auc"], 4) for k, v in point["splits"][split].items()}, flush=True)
        points.append(point)
    record = {
        "commit": commit_label(PROJECT),
        "machine": machine_label(),
        "env": args.env,
        "baseline": "bpr",
        "points": points,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "factorisers_demo.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "factorisers_demo.md").write_text(markdown(record))
    print((RESULTS / "factorisers_demo.md").read_text())
    return 0


def quality(metrics: dict) -> float:
    """The project's selection criterion: (ROC-AUC + PR-AUC) / 2."""
    return (metrics["roc_auc"] + metrics["pr_auc"]) / 2


def best_on_validation(record: dict) -> dict[str, str]:
    """Per compared role, the factoriser with the best validation criterion."""
    roles = {"MF-centroids": ("mf",), "MF classifier": ("mf_classifier",),
             "best fusion": ("hybrid", "fusion_classifier")}  # fmt: skip
    out = {}
    for role, scorers in roles.items():
        scored = {p["factoriser"]: max(quality(p["splits"]["valid"][s]) for s in scorers) for p in record["points"]}
        out[role] = max(scored, key=scored.get)
    return out


def _pair(m: dict) -> str:
    """``ROC-AUC [low, high] / PR-AUC [low, high]``; the intervals when the record has them."""

    def one(metric: str) -> str:
        low = m.get(f"{metric}_low")
        return f"{m[metric]:.4f}" + (f" [{low:.4f}, {m[f'{metric}_high']:.4f}]" if low is not None else "")

    return f"{one('roc_auc')} / {one('pr_auc')}"


def markdown(record: dict) -> str:
    lines = [
        "# The demo with each factoriser",
        "",
        f"`python benchmarks/factorisers_demo.py`, commit `{record['commit']}`, {record['machine']}, env "
        f"`{record['env']}`. The world, features and trained VGG are shared; only the listening side differs. "
        "ROC-AUC / PR-AUC, macro over the 50 tags, with 95 % bootstrap intervals where the run measured them; "
        "validation decides (the best fusion too), test is reported. Fit: `factorise_plays`'s seconds in the run.",
        "",
        "| factoriser | split | fit s | MF-centroids | MF classifier | hybrid (mean) | best fusion (on validation) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for point in record["points"]:
        valid = point["splits"]["valid"]
        best = max(("hybrid", "fusion_classifier"), key=lambda s: quality(valid[s]))
        for split in ("valid", "test"):
            m = point["splits"][split]
            fit = point.get(f"{split}_fit_seconds")
            cells = [f"{fit:.1f}" if fit is not None else "–"]
            cells += [_pair(m[s]) for s in ("mf", "mf_classifier", "hybrid")] + [f"{_pair(m[best])} (`{best}`)"]
            lines.append(f"| `{point['factoriser']}` | {split} | " + " | ".join(cells) + " |")
    winners = best_on_validation(record)
    lines += ["", "Best on validation, by (ROC-AUC + PR-AUC) / 2: " + "; ".join(f"{k}: `{v}`" for k, v in winners.items())
              + ". A demo result is a direction for the drawn world's listeners, never a size for the MSD."]  # fmt: skip
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
