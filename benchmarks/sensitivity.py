"""Benchmark: when does listening help? The hybrid on demo worlds that move where tag
information lives, one knob at a time.

The demo world decides how much of each tag the audio can hear and how much the listening
data carries. Its default is one choice among many, so one world's gains are a direction,
never a size. This sweep moves three knobs of :class:`msd_tagging.demo.world.DemoWorldConfig`
away from the default, one at a time, and runs ``kedro run --pipeline=hybrid`` on each
world (a Kedro session per point, in its own env and run folder):

* ``era_audible`` (audio): the share of tracks whose production sounds like their decade.
  The listening data and the tags are the same world's at every value.
* ``scene_strength`` (listening): a factor on how strongly listeners follow their scene's
  eras, genres and qualities (``era_weight``, ``genre_weight``, ``quality_weight``); 0
  leaves only popularity and chance. The audio and the tags are the same world's.
* ``tag_dropout`` (tags): the share of vocabulary tag rows Last.fm users never gave, so
  true tags go missing in training and test alike. Audio and plays are the same world's.

What the points share is reused, after checking it is the same: a world whose clips are
the default's hard-links them (no rendering); one whose audio and tags are the default's
takes the trained VGG (``train_tagger`` is skipped); one whose plays are the default's takes
the listening vectors (``factorise_plays`` is skipped). The default point is a plain run of the
default world, so its Table 1 is the demo's.

Writes ``--out`` (default ``benchmarks/results/sensitivity``) ``.csv``, ``.md`` and
``.png``: per point, VGG, MF-centroids and the hybrid (Table 1), the MF classifier and the
best learned fusion (fitted on validation), each as macro ROC-AUC / PR-AUC and gain over
VGG, with the point's wall time and what it reused.

Usage::

    python benchmarks/sensitivity.py [--knobs "era_audible=0,0.5,1;scene_strength=0,0.5,1,2;tag_dropout=0,0.25,0.5"]
        [--scratch DIR] [--params-file overrides.yml] [--out benchmarks/results/sensitivity]
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
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
DEFAULT_KNOBS = "era_audible=0,0.5,1;scene_strength=0,0.5,1,2;tag_dropout=0,0.25,0.5"
SCENE_WEIGHTS = ("era_weight", "genre_weight", "quality_weight")
KNOBS = {
    "era_audible": "audio: share of tracks whose production sounds like their era",
    "scene_strength": "listening: factor on how strongly listeners follow their scenes",
    "tag_dropout": "tags: share of vocabulary tag rows never given",
}
LEARNED_FUSIONS = ("fusion_global", "fusion_by_tag", "fusion_classifier")  # fitted on validation


@dataclass
class Point:
    knob: str  # "default" for the default world
    value: float
    demo: dict  # the point's demo_data parameters (overrides of the base world)
    reused: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return "default" if self.knob == "default" else f"{self.knob}_{self.value:g}".replace(".", "p")


def parse_knobs(text: str) -> dict[str, list[float]]:
    knobs = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, values = part.partition("=")
        if name not in KNOBS:
            raise SystemExit(f"unknown knob {name!r}; known: {', '.join(KNOBS)}")
        knobs[name] = [float(v) for v in values.split(",") if v.strip()]
    return knobs


def points(knobs: dict[str, list[float]], base: dict) -> list[Point]:
    """The default point, then every knob's other values."""
    defaults = {"era_audible": base["era_audible"], "scene_strength": 1.0, "tag_dropout": base["tag_dropout"]}
    out = [Point("default", 0.0, {})]
    for knob, values in knobs.items():
        for value in values:
            if value == defaults[knob]:
                continue
            if knob == "scene_strength":
                demo = {w: base[w] * value for w in SCENE_WEIGHTS}
            else:
                demo = {knob: value}
            out.append(Point(knob, value, demo))
    return out


class Sweep:
    """Runs the points in a scratch copy of the project's configuration."""

    def __init__(self, scratch: Path, overrides: dict):
        self.scratch = scratch
        self.conf = scratch / "conf"
        self.overrides = overrides  # parameters files: {filename: yaml data}
        shutil.copytree(PROJECT / "conf", self.conf, ignore=shutil.ignore_patterns("local"), dirs_exist_ok=True)
        (self.conf / "local").mkdir(exist_ok=True)
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(PROJECT)

    def write_env(self, point: Point) -> None:
        env = self.conf / point.name
        env.mkdir(exist_ok=True)
        globals_ = {
            "data_root": str(self.scratch / "data"),
            "run_name": point.name,
            "raw_root": str(self.scratch / "raw" / point.name),
        }
        files = {k: json.loads(json.dumps(v)) for k, v in self.overrides.items()}
        files["globals.yml"] = {**files.get("globals.yml", {}), **globals_}
        demo = files.setdefault("parameters_demo_data.yml", {}).setdefault("demo_data", {})
        demo.update(point.demo)
        for name, data in files.items():
            (env / name).write_text(yaml.safe_dump(data))

    def demo_params(self, point: Point) -> dict:
        """The point's merged ``demo_data`` parameters, as the run will read them."""
        from kedro.config import OmegaConfigLoader
        from kedro.framework.project import settings

        loader = OmegaConfigLoader(str(self.conf), env=point.name, **settings.CONFIG_LOADER_ARGS)
        return dict(loader["parameters"]["demo_data"])

    def run(self, point: Point, skip: set[str]) -> float:
        from kedro.framework.project import pipelines
        from kedro.framework.session import KedroSession
        from kedro.framework.startup import bootstrap_project

        bootstrap_project(PROJECT)
        names = [n.name for n in pipelines["hybrid"].nodes if n.name not in skip]
        started = time.perf_counter()
        with KedroSession.create(project_path=PROJECT, env=point.name, conf_source=str(self.conf)) as session:
            session.run(pipeline_names=["hybrid"], node_names=names if skip else None)
        return time.perf_counter() - started

    def path(self, point: Point, layer: str, name: str) -> Path:
        return self.scratch / "data" / layer / point.name / name

    def results(self, point: Point) -> dict:
        def newest(name: str) -> dict:
            (latest,) = sorted(self.path(point, "08_reporting", f"{name}.json").glob(f"*/{name}.json"))[-1:]
            return json.loads(latest.read_text())

        rows = {r["scorer"]: r for r in newest("extended_table")["rows"]}
        fused = max(LEARNED_FUSIONS, key=lambda s: rows[s]["pr_auc"])
        out = {}
        for label, scorer in (("vgg", "audio"), ("mf", "mf"), ("hybrid", "hybrid"), ("mf_classifier", "mf_classifier")):
            out[f"{label}_roc_auc"], out[f"{label}_pr_auc"] = rows[scorer]["roc_auc"], rows[scorer]["pr_auc"]
        out["best_fusion"] = fused
        out["best_fusion_roc_auc"], out["best_fusion_pr_auc"] = rows[fused]["roc_auc"], rows[fused]["pr_auc"]
        for label in ("hybrid", "best_fusion", "mf_classifier"):
            for metric in ("roc_auc", "pr_auc"):
                out[f"{label}_{metric}_gain"] = out[f"{label}_{metric}"] / out[f"vgg_{metric}"] - 1
        table_1 = {r["method"]: r for r in newest("table_1")["rows"]}
        out["table_1"] = {m: (r["roc_auc"], r["pr_auc"]) for m, r in table_1.items()}
        return out


def reuse(sweep: Sweep, point: Point, default: Point, worlds: dict) -> set[str]:
    """Prepare ``point`` with what it shares with the default point; the nodes to skip."""
    from msd_tagging.demo.writer import audio_fingerprint, write_world

    world, base = worlds[point.name], worlds[default.name]
    same_audio = audio_fingerprint(world) == audio_fingerprint(base)
    same_tags = world.lastfm.equals(base.lastfm)
    same_plays = world.triplets.equals(base.triplets) and world.mismatches.equals(base.mismatches)
    skip: set[str] = set()
    if same_audio:
        write_world(
            world, sweep.scratch / "raw" / point.name, progress=False, audio_from=sweep.scratch / "raw" / "default"
        )
        point.reused.append("clips")
    if same_audio and same_tags:
        for layer, name in (("06_models", "vgg.pt"), ("08_reporting", "vgg_training_history.csv")):
            _copy(sweep.path(default, layer, name), sweep.path(point, layer, name))
        skip.add("train_tagger")
        point.reused.append("trained VGG")
    if same_plays:
        for layer, name in (("06_models", "track_vectors.parquet"), ("08_reporting", "factorisation_curve.csv")):
            _copy(sweep.path(default, layer, name), sweep.path(point, layer, name))
        skip.add("factorise_plays")
        point.reused.append("listening vectors")
    return skip


def _copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source, target)


def sweep(knobs: dict[str, list[float]], scratch: Path, overrides: dict) -> pd.DataFrame:
    from msd_tagging.demo.world import DemoWorldConfig, build_world

    runner = Sweep(scratch, overrides)
    default = Point("default", 0.0, {})
    runner.write_env(default)
    base = runner.demo_params(default)
    todo = points(knobs, base)
    rows = []
    worlds = {}
    for point in todo:
        runner.write_env(point)
        params = {k: v for k, v in runner.demo_params(point).items() if k != "generate"}
        worlds[point.name] = build_world(DemoWorldConfig(**params))
        skip = set() if point is todo[0] else reuse(runner, point, todo[0], worlds)
        print(
            f"{point.name}: running{' (reusing ' + ', '.join(point.reused) + ')' if point.reused else ''}", flush=True
        )
        seconds = runner.run(point, skip)
        value = point.value if point.knob != "default" else None
        rows.append(
            {
                "knob": point.knob,
                "value": value,
                "seconds": seconds,
                "reused": "; ".join(point.reused),
                **runner.results(point),
            }
        )
        print(
            f"{point.name}: {seconds:.0f} s; hybrid gain {rows[-1]['hybrid_roc_auc_gain']:+.1%} / {rows[-1]['hybrid_pr_auc_gain']:+.1%}",
            flush=True,
        )
    frame = pd.DataFrame(rows)
    defaults = {"era_audible": base["era_audible"], "scene_strength": 1.0, "tag_dropout": base["tag_dropout"]}
    frame.attrs["defaults"] = defaults
    return frame


def figure(frame: pd.DataFrame, path: Path) -> None:
    """Gain over VGG of the hybrid, the best learned fusion and the MF classifier, per knob."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    knobs = [k for k in KNOBS if k in set(frame["knob"])]
    fig, axes = plt.subplots(2, len(knobs), figsize=(4.2 * len(knobs), 6.4), squeeze=False, sharey="row")
    default = frame[frame["knob"] == "default"].assign(value=None)
    for col, knob in enumerate(knobs):
        here = default.assign(knob=knob, value=float(frame.attrs["defaults"][knob]))
        part = pd.concat([frame[frame["knob"] == knob], here], ignore_index=True).sort_values("value")
        for row, metric in enumerate(("roc_auc", "pr_auc")):
            ax = axes[row][col]
            for label, name, style in (
                ("hybrid", "hybrid (mean)", "o-"),
                ("best_fusion", "best learned fusion", "s-"),
                ("mf_classifier", "MF classifier", "^--"),
            ):
                ax.plot(part["value"], 100 * part[f"{label}_{metric}_gain"], style, label=name)
            ax.axhline(0, color="grey", lw=0.8)
            ax.axvline(frame.attrs["defaults"][knob], color="grey", lw=0.8, ls=":")
            ax.set(
                xlabel=f"{knob} ({KNOBS[knob].split(':')[0]})",
                ylabel=f"{metric.replace('_', '-').upper()} gain over VGG (%)",
            )
    axes[0][0].legend(fontsize=8)
    fig.suptitle(
        "Where tag information lives decides the hybrid's gain (demo worlds; dotted: the default)", fontsize=10
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(frame: pd.DataFrame, record: dict) -> str:
    lines = [
        "# When does listening help? The hybrid across demo worlds",
        "",
        f"`python benchmarks/sensitivity.py`, commit `{record['commit']}`, {record['machine']}; "
        f"{len(frame)} worlds in {record['seconds'] / 60:.1f} min. Each row is a `kedro run --pipeline=hybrid` on a "
        "demo world that differs from the default in one knob; macro ROC-AUC / PR-AUC on the test split, gains "
        "relative to VGG in the same world. Best learned fusion: the best of "
        f"{', '.join(LEARNED_FUSIONS)} (fitted on validation).",
        "",
        "| knob | value | VGG | MF-centroids | Hybrid (mean) | gain of the hybrid | best learned fusion | gain | MF classifier | gain | s | reused |",
        "|---|---:|---|---|---|---|---|---|---|---|---:|---|",
    ]
    for _, r in frame.iterrows():
        value = "" if r["knob"] == "default" else f"{r['value']:g}"
        lines.append(
            f"| {r['knob']} | {value} | {r['vgg_roc_auc']:.4f} / {r['vgg_pr_auc']:.4f} | {r['mf_roc_auc']:.4f} / "
            f"{r['mf_pr_auc']:.4f} | {r['hybrid_roc_auc']:.4f} / {r['hybrid_pr_auc']:.4f} | "
            f"{r['hybrid_roc_auc_gain']:+.1%} / {r['hybrid_pr_auc_gain']:+.1%} | `{r['best_fusion']}` "
            f"{r['best_fusion_roc_auc']:.4f} / {r['best_fusion_pr_auc']:.4f} | {r['best_fusion_roc_auc_gain']:+.1%} / "
            f"{r['best_fusion_pr_auc_gain']:+.1%} | {r['mf_classifier_roc_auc']:.4f} / {r['mf_classifier_pr_auc']:.4f} | "
            f"{r['mf_classifier_roc_auc_gain']:+.1%} / {r['mf_classifier_pr_auc_gain']:+.1%} | {r['seconds']:.0f} | "
            f"{r['reused'] or 'nothing'} |"
        )
    lines += ["", "Knobs: " + "; ".join(f"`{k}`, {v}" for k, v in KNOBS.items()) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knobs", default=DEFAULT_KNOBS, help='e.g. "era_audible=0,0.5,1;tag_dropout=0,0.5"')
    parser.add_argument("--scratch", type=Path, help="folder for the worlds and runs (default: a temporary one)")
    parser.add_argument("--params-file", type=Path, help="YAML {parameters file: data} applied to every point")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "sensitivity")
    parser.add_argument("--replot", action="store_true", help="redraw the .md and .png from the .csv and .json")
    args = parser.parse_args(argv)
    if args.replot:
        record = json.loads(args.out.with_suffix(".json").read_text())
        frame = pd.read_csv(args.out.with_suffix(".csv"), keep_default_na=False, na_values=[""])
        frame["reused"] = frame["reused"].fillna("")
        frame.attrs["defaults"] = record["defaults"]
        args.out.with_suffix(".md").write_text(markdown(frame, record))
        figure(frame, args.out.with_suffix(".png"))
        return frame

    os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "1")
    overrides = yaml.safe_load(args.params_file.read_text()) if args.params_file else {}
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="sensitivity-"))
    started = time.perf_counter()
    frame = sweep(parse_knobs(args.knobs), scratch, overrides)
    record = {
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True
        ).stdout.strip(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "seconds": time.perf_counter() - started,
        "defaults": frame.attrs["defaults"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.drop(columns="table_1").to_csv(args.out.with_suffix(".csv"), index=False)
    args.out.with_suffix(".json").write_text(
        json.dumps({**record, "default_table_1": frame.iloc[0]["table_1"]}, indent=2) + "\n"
    )
    args.out.with_suffix(".md").write_text(markdown(frame, record))
    figure(frame, args.out.with_suffix(".png"))
    print(f"wrote {args.out}.csv/.json/.md/.png in {record['seconds'] / 60:.1f} min")
    return frame


if __name__ == "__main__":
    main()
