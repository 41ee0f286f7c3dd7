"""Benchmark: listening for unplayed audio, measured on enough cold tracks.

In each world a ``kedro run --pipeline=hybrid`` first scores every track with its plays (the
warm run). Then, for each seed, the pipeline from ``factorise_plays`` on runs again with
``listening.withhold.share`` of the test tracks' plays left out of the factorisation
(``listening.withhold``): those tracks are cold, as a new release nobody has played, and the
listening side is learned without them. On the withheld tracks it reports, with 95 %
bootstrap intervals (the same resamples for every scorer, so differences are paired):

* ``audio``: the audio tagger alone, the named baseline;
* ``mf_classifier_from_audio`` and ``fusion_from_audio``: listening predicted from audio
  (the loss, cosine or the contrastive InfoNCE of Ferraro et al. 2021, chosen on validation);
* ``fusion_classifier`` and ``hybrid``: the fusions, which keep the audio score on a cold
  track (a check: equal to audio);
* ``fusion_classifier`` of the warm run on the same tracks: what their plays would have added.

Worlds (``benchmarks/heads.py``'s scratch envs): ``demo``, ``catalogue`` (the example
catalogue) and ``renamed`` (its tags renamed, 20 of 50 dropped).

Usage::

    python benchmarks/cold_start.py [--worlds demo,catalogue,renamed] [--seeds 1,2,3] [--share 0.3]

Writes ``benchmarks/results/cold_start.{json,md}``. The worlds are drawn: a gain here is a
direction for such worlds, never a size for the MSD.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.framework.run_record import commit_label, machine_label

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RESULTS = HERE / "results"
sys.path.insert(0, str(HERE))
import heads  # noqa: E402  (the worlds' scratch envs)

COLD = ("audio", "mf_classifier_from_audio", "fusion_from_audio", "fusion_classifier", "hybrid")
WARM = "fusion_classifier"
SAMPLES, CONFIDENCE = 1000, 0.95


def _run(conf: Path, env: str, *extra: str, pipeline: str = "hybrid") -> None:
    log = conf.parent / f"{env}.log"
    command = [sys.executable, "-m", "kedro", "run", f"--pipelines={pipeline}", f"--env={env}",
               f"--conf-source={conf}", *extra]  # fmt: skip
    with open(log, "w") as handle:
        done = subprocess.run(command, cwd=PROJECT, stdout=handle, stderr=subprocess.STDOUT,
                              env={**heads.os.environ, "KEDRO_DISABLE_TELEMETRY": "1"})  # fmt: skip
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed; see {log}")


def _tables(data: Path, world: str, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    folder = lambda layer: data / layer / world  # noqa: E731
    tables = {n: pd.read_parquet(folder("07_model_output") / f"{n}_scores.parquet") for n in names}
    tables["track_vectors"] = pd.read_parquet(
        folder("06_models") / "track_vectors.parquet", columns=["track_id", "cold"]
    )
    tables["tracks"] = pd.read_parquet(folder("03_primary") / "tracks.parquet")
    tables["tag_labels"] = pd.read_parquet(folder("03_primary") / "tag_labels.parquet")
    report = folder("08_reporting") / "mf_classifier_from_audio_report.json"
    tables["loss"] = json.loads(report.read_text()).get("loss") if report.exists() else None
    return tables


def measure(warm: dict, cold: dict, seed: int) -> dict:
    """Each scorer on the withheld tracks (test tracks cold in ``cold``, warm in ``warm``),
    with intervals and paired differences against audio."""
    from msd_tagging.core.metrics import bootstrap_weights, interval
    from msd_tagging.scoring.evaluation import evaluate

    vectors = cold["track_vectors"].set_index("track_id")["cold"]
    was_warm = ~warm["track_vectors"].set_index("track_id")["cold"]
    test = cold["tracks"].loc[cold["tracks"]["split"] == "test", "track_id"]
    ids = test[vectors.reindex(test).fillna(True).to_numpy() & was_warm.reindex(test).fillna(False).to_numpy()]
    weights = bootstrap_weights(len(ids), SAMPLES, seed)
    rows, samples = {}, {}
    sources = {**{n: cold[n] for n in COLD}, f"{WARM} (with their plays)": warm[WARM]}
    for name, scores in sources.items():
        summary, _ = evaluate(scores, cold["tag_labels"], ids.reset_index(drop=True), weights, CONFIDENCE)
        rows[name] = {
            "tracks_scored": summary["n_tracks_scored"],
            **{m: summary[f"{m}_macro"] for m in ("roc_auc", "pr_auc")},
            **{f"{m}_interval": summary["interval"][m] for m in ("roc_auc", "pr_auc")},
        }
        samples[name] = {m: np.asarray(summary["bootstrap"][m]) for m in ("roc_auc", "pr_auc")}
    for name, row in rows.items():
        for m in ("roc_auc", "pr_auc"):
            point = row[m] - rows["audio"][m]
            row[f"{m}_vs_audio"] = [point, *interval(samples[name][m] - samples["audio"][m], CONFIDENCE, centre=point)]
    return {"seed": seed, "withheld_tracks": int(len(ids)), "test_tracks": int(len(test)), "loss": cold["loss"],
            "scorers": rows}  # fmt: skip


def world_runs(scratch: Path, world: str, seeds: list[int], share: float) -> list[dict]:
    conf, env = heads._conf(scratch, world)
    if world == "renamed" and not (scratch / "raw" / world / "tags.csv").exists():
        _run(conf, env, pipeline="demo_data")
        heads._rename(scratch / "raw" / world)
    _run(conf, env)
    data = scratch / "data"
    warm = _tables(data, world, (*COLD, WARM))
    points = []
    for seed in seeds:
        _run(conf, env, "--from-nodes=factorise_plays",
             f"--params=listening.withhold.share={share},listening.withhold.seed={seed}")  # fmt: skip
        point = measure(warm, _tables(data, world, COLD), seed)
        print(world, seed, point["withheld_tracks"], {k: round(v["roc_auc"], 4) for k, v in point["scorers"].items()},
              flush=True)  # fmt: skip
        points.append(point)
    return points


def _cell(value: float, bounds: list[float]) -> str:
    return f"{value:.4f} [{bounds[0]:.4f}, {bounds[1]:.4f}]"


def _difference(triple: list[float]) -> str:
    point, low, high = triple
    return f"{point:+.4f} [{low:+.4f}, {high:+.4f}]"


def summary(record: dict) -> list[dict]:
    """Per world and scorer: the means over seeds of macro ROC-AUC, PR-AUC and the paired
    ROC-AUC difference against audio, and in how many seeds that difference's interval lies
    above zero, or below."""
    rows = []
    for world, points in record["worlds"].items():
        for name in points[0]["scorers"]:
            got = [p["scorers"][name] for p in points]
            rows.append({
                "world": world, "scorer": name, "seeds": len(points),
                "withheld": sorted({p["withheld_tracks"] for p in points}),
                "roc_auc": float(np.mean([g["roc_auc"] for g in got])),
                "pr_auc": float(np.mean([g["pr_auc"] for g in got])),
                "roc_auc_vs_audio": float(np.mean([g["roc_auc_vs_audio"][0] for g in got])),
                "above": sum(g["roc_auc_vs_audio"][1] > 0 for g in got),
                "below": sum(g["roc_auc_vs_audio"][2] < 0 for g in got),
            })  # fmt: skip
    return rows


def _verdict(row: dict) -> str:
    shown = row["seeds"] - row["above"] - row["below"]
    return f"{round(row['roc_auc_vs_audio'], 4) + 0.0:+.4f}: {row['above']} above, {row['below']} below, {shown} no difference shown"


def summary_markdown(record: dict) -> str:
    """What was measured, and the summary table (the docs render this part)."""
    lines = [
        f"`benchmarks/cold_start.py` at `{record['commit']}` ({record['machine']}): in each world the plays of "
        f"{record['share']:.0%} of the test tracks are left out of the factorisation (`listening.withhold`, seeds "
        f"{', '.join(map(str, record['seeds']))}), so those tracks are cold; every scorer is measured on them, with "
        f"{CONFIDENCE:.0%} bootstrap intervals ({SAMPLES} resamples of the withheld tracks, the same for every scorer) "
        "and paired differences against `audio`, the named baseline. `fusion_classifier` and `hybrid` keep the audio "
        "score on a cold track (a check: they equal audio); the last row of each world is the warm run's "
        "`fusion_classifier` on the same tracks, what their plays would have added. Means over seeds, and in how many "
        "seeds the difference's interval lies above or below zero. The worlds are drawn: a difference here is a "
        "direction, never a size for the MSD.",
        "",
        "| world | withheld tracks per seed | scorer | ROC-AUC | PR-AUC | ROC-AUC vs audio: mean, and per seed |",
        "|---|---:|---|---:|---:|---|",
    ]
    for row in summary(record):
        low, high = row["withheld"][0], row["withheld"][-1]
        verdict = "baseline" if row["scorer"] == "audio" else _verdict(row)
        lines.append(
            f"| {row['world']} | {low if low == high else f'{low}–{high}'} | `{row['scorer']}` | {row['roc_auc']:.4f} | "
            f"{row['pr_auc']:.4f} | {verdict} |"
        )
    return "\n".join(lines)


def markdown(record: dict) -> str:
    lines = ["# Listening for unplayed audio, on tracks whose plays were withheld", "", summary_markdown(record)]
    for world, points in record["worlds"].items():
        for p in points:
            lines += [
                "",
                f"## {world}, seed {p['seed']}: {p['withheld_tracks']} of {p['test_tracks']} test tracks withheld "
                f"(from-audio loss chosen on validation: {p['loss'] or 'n/a'})",
                "",
                "| scorer | tracks scored | ROC-AUC | PR-AUC | ROC-AUC vs audio | PR-AUC vs audio |",
                "|---|---:|---:|---:|---:|---:|",
            ]
            for name, row in p["scorers"].items():
                lines.append(
                    f"| `{name}` | {row['tracks_scored']} | {_cell(row['roc_auc'], row['roc_auc_interval'])} | "
                    f"{_cell(row['pr_auc'], row['pr_auc_interval'])} | {_difference(row['roc_auc_vs_audio'])} | "
                    f"{_difference(row['pr_auc_vs_audio'])} |"
                )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default="demo,catalogue,renamed")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--share", type=float, default=0.3, help="share of the test tracks whose plays are withheld")
    parser.add_argument("--scratch", type=Path, help="where the worlds' conf and data go (default: a temp folder)")
    parser.add_argument("--out", type=Path, default=RESULTS / "cold_start")
    args = parser.parse_args(argv)
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="cold_start_"))
    seeds = [int(s) for s in args.seeds.split(",")]
    record = {
        "commit": commit_label(PROJECT),
        "machine": machine_label(),
        "share": args.share,
        "seeds": seeds,
        "worlds": {},
    }
    for world in args.worlds.split(","):
        record["worlds"][world] = world_runs(scratch, world, seeds, args.share)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps(record, indent=1))  # a cut run keeps its worlds
        args.out.with_suffix(".md").write_text(markdown(record))
    print(f"wrote {args.out.with_suffix('.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
