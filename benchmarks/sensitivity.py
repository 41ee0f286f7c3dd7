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

Every point runs with several seeds (``--seeds``, at least 3): seed ``i`` draws the world
with ``demo_data.seed`` + ``i`` and trains the VGG and the factoriser with seed ``i``, so a
point's spread over seeds says how much of a difference between points is the draw. What
the points of one seed share is reused, after checking it is the same: a world whose clips
are that seed's default's hard-links them (no rendering); one whose audio and tags are the
default's takes the trained VGG (``train_tagger`` is skipped); one whose plays are the
default's takes the listening vectors (``factorise_plays`` is skipped). The default point
of seed 0 is a plain run of the default world, so its Table 1 is the demo's.

Writes ``--out`` (default ``benchmarks/results/sensitivity``) ``.csv``, ``.md`` and
``.png``: per point and seed, VGG, MF-centroids and the hybrid (Table 1), the MF classifier
and the best learned fusion (fitted on validation), each as macro ROC-AUC / PR-AUC and
gain over VGG, with the run's wall time and what it reused; the table and the figure show
each point's mean over seeds with its spread (lowest to highest).

Usage::

    python benchmarks/sensitivity.py [--knobs "era_audible=0,0.5,1;scene_strength=0,0.5,1,2;tag_dropout=0,0.25,0.5"]
        [--seeds 0,1,2] [--scratch DIR] [--params-file overrides.yml] [--out benchmarks/results/sensitivity]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from msd_tagging.framework.run_record import commit_label, machine_label

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
DEFAULT_KNOBS = "era_audible=0,0.5,1;scene_strength=0,0.5,1,2;tag_dropout=0,0.25,0.5"
SCENE_WEIGHTS = ("era_weight", "genre_weight", "quality_weight")
KNOBS = {
    "era_audible": "audio: share of tracks whose production sounds like their era",
    "scene_strength": "listening: factor on how strongly listeners follow their scenes",
    "tag_dropout": "tags: share of vocabulary tag rows never given",
}
LEARNED_FUSIONS = ("fusion_classifier",)  # the default run's learned fusion, fitted on validation


@dataclass
class Point:
    knob: str  # "default" for the default world
    value: float
    demo: dict  # the point's demo_data parameters (overrides of the base world)
    seed: int = 0  # added to the world's seed; the training seeds
    reused: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        knob = "default" if self.knob == "default" else f"{self.knob}_{self.value:g}".replace(".", "p")
        return knob if not self.seed else f"{knob}_seed{self.seed}"


def parse_knobs(text: str) -> dict[str, list[float]]:
    knobs = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, _, values = part.partition("=")
        if name not in KNOBS:
            raise SystemExit(f"unknown knob {name!r}; known: {', '.join(KNOBS)}")
        knobs[name] = [float(v) for v in values.split(",") if v.strip()]
    return knobs


def points(knobs: dict[str, list[float]], base: dict, seed: int = 0) -> list[Point]:
    """The default point, then every knob's other values, for one seed."""
    defaults = {"era_audible": base["era_audible"], "scene_strength": 1.0, "tag_dropout": base["tag_dropout"]}
    out = [Point("default", 0.0, {}, seed)]
    for knob, values in knobs.items():
        for value in values:
            if value == defaults[knob]:
                continue
            if knob == "scene_strength":
                demo = {w: base[w] * value for w in SCENE_WEIGHTS}
            else:
                demo = {knob: value}
            out.append(Point(knob, value, demo, seed))
    return out


def seeded(files: dict, seed: int, base_seed: int) -> dict:
    """Parameter files with seed ``seed``: the world's drawn with ``base_seed + seed``, the
    VGG and the factoriser trained with ``seed`` (nothing changes for seed 0)."""
    if not seed:
        return files
    demo = files.setdefault("parameters_demo_data.yml", {}).setdefault("demo_data", {})
    demo["seed"] = base_seed + seed
    audio = files.setdefault("parameters_audio.yml", {}).setdefault("audio", {})
    audio.setdefault("train", {})["seed"] = seed
    listening = files.setdefault("parameters_listening.yml", {}).setdefault("listening", {})
    for model in ("bpr", "als", "lmf"):
        listening.setdefault(model, {})["seed"] = seed
    return files


class Sweep:
    """Runs the points in a scratch copy of the project's configuration."""

    def __init__(self, scratch: Path, overrides: dict):
        self.base_seed = 0
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
        files = seeded(files, point.seed, self.base_seed)
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
        for layer, name in (("06_models", "audio_model.pt"), ("08_reporting", "audio_model_training_history.csv")):
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


def sweep(knobs: dict[str, list[float]], scratch: Path, overrides: dict, seeds: list[int]) -> pd.DataFrame:
    from msd_tagging.demo.world import DemoWorldConfig, build_world

    runner = Sweep(scratch, overrides)
    default = Point("default", 0.0, {})
    runner.write_env(default)
    base = runner.demo_params(default)
    runner.base_seed = int(base["seed"])
    rows = []
    worlds = {}
    for seed in seeds:
        todo = points(knobs, base, seed)
        for point in todo:
            runner.write_env(point)
            params = {k: v for k, v in runner.demo_params(point).items() if k != "generate"}
            worlds[point.name] = build_world(DemoWorldConfig(**params))
            skip = set() if point is todo[0] else reuse(runner, point, todo[0], worlds)
            print(
                f"{point.name}: running{' (reusing ' + ', '.join(point.reused) + ')' if point.reused else ''}",
                flush=True,
            )
            seconds = runner.run(point, skip)
            value = point.value if point.knob != "default" else None
            rows.append(
                {
                    "knob": point.knob,
                    "value": value,
                    "seed": seed,
                    "seconds": seconds,
                    "reused": "; ".join(point.reused),
                    **runner.results(point),
                }
            )
            # every finished run is on disk at once, so a sweep cut short keeps its runs
            pd.DataFrame(rows).drop(columns="table_1").to_csv(scratch / "partial.csv", index=False)
            print(
                f"{point.name}: {seconds:.0f} s; hybrid gain {rows[-1]['hybrid_roc_auc_gain']:+.1%} / "
                f"{rows[-1]['hybrid_pr_auc_gain']:+.1%}",
                flush=True,
            )
    frame = pd.DataFrame(rows)
    defaults = {"era_audible": base["era_audible"], "scene_strength": 1.0, "tag_dropout": base["tag_dropout"]}
    frame.attrs["defaults"] = defaults
    return frame


METRICS = [f"{label}_{metric}" for label in ("vgg", "mf", "hybrid", "best_fusion", "mf_classifier")
           for metric in ("roc_auc", "pr_auc")]  # fmt: skip
GAINS = [f"{label}_{metric}_gain" for label in ("hybrid", "best_fusion", "mf_classifier")
         for metric in ("roc_auc", "pr_auc")]  # fmt: skip


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per point (knob, value): every metric's and gain's mean, lowest and highest over the
    seeds, the seeds, and the best learned fusion most often chosen."""
    keyed = frame.assign(value=frame["value"].fillna(-1.0))
    grouped = keyed.groupby(["knob", "value"], sort=False)
    columns = [c for c in METRICS + GAINS if c in frame]
    out = grouped[columns].mean()
    out = out.join(grouped[columns].min().add_suffix("_low")).join(grouped[columns].max().add_suffix("_high"))
    out["seeds"] = grouped["seed"].nunique() if "seed" in frame else 1
    out["best_fusion"] = grouped["best_fusion"].agg(lambda v: v.mode().iloc[0])
    out["seconds"] = grouped["seconds"].sum()
    out = out.reset_index()
    out["value"] = out["value"].where(out["knob"] != "default")
    return out


def figure(frame: pd.DataFrame, path: Path) -> None:
    """Gain over VGG of the hybrid, the best learned fusion and the MF classifier, per knob:
    the mean over seeds, with bars from the lowest to the highest seed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = summarise(frame)
    knobs = [k for k in KNOBS if k in set(summary["knob"])]
    fig, axes = plt.subplots(2, len(knobs), figsize=(4.2 * len(knobs), 6.4), squeeze=False, sharey="row")
    default = summary[summary["knob"] == "default"]
    for col, knob in enumerate(knobs):
        here = default.assign(knob=knob, value=float(frame.attrs["defaults"][knob]))
        part = pd.concat([summary[summary["knob"] == knob], here], ignore_index=True).sort_values("value")
        for row, metric in enumerate(("roc_auc", "pr_auc")):
            ax = axes[row][col]
            for label, name, style in (
                ("hybrid", "hybrid (mean)", "o-"),
                ("best_fusion", "best learned fusion", "s-"),
                ("mf_classifier", "MF classifier", "^--"),
            ):
                column = f"{label}_{metric}_gain"
                mean = 100 * part[column]
                spread = [mean - 100 * part[f"{column}_low"], 100 * part[f"{column}_high"] - mean]
                ax.errorbar(part["value"], mean, yerr=spread, fmt=style, capsize=3, label=name)
            ax.axhline(0, color="grey", lw=0.8)
            ax.axvline(frame.attrs["defaults"][knob], color="grey", lw=0.8, ls=":")
            ax.set(
                xlabel=f"{knob} ({KNOBS[knob].split(':')[0]})",
                ylabel=f"{metric.replace('_', '-').upper()} gain over VGG (%)",
            )
    axes[0][0].legend(fontsize=8)
    seeds = int(summary["seeds"].min())
    fig.suptitle(
        f"Where tag information lives decides the hybrid's gain (demo worlds, mean of {seeds} seeds, bars: "
        "lowest to highest; dotted: the default)",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _pair(r, label: str) -> str:
    return f"{r[f'{label}_roc_auc']:.4f} / {r[f'{label}_pr_auc']:.4f}"


def _gain(r, label: str) -> str:
    """``+3.9% [+3.1, +4.6] / +11.6% [+9.0, +13.2]``: the mean gain and its seeds' range."""
    parts = []
    for metric in ("roc_auc", "pr_auc"):
        c = f"{label}_{metric}_gain"
        parts.append(f"{r[c]:+.1%} [{100 * r[f'{c}_low']:+.1f}, {100 * r[f'{c}_high']:+.1f}]")
    return " / ".join(parts)


def markdown(frame: pd.DataFrame, record: dict) -> str:
    summary = summarise(frame)
    seeds = int(summary["seeds"].min())
    lines = [
        "# When does listening help? The hybrid across demo worlds",
        "",
        f"`python benchmarks/sensitivity.py`, commit `{record['commit']}`, {record['machine']}; "
        f"{len(summary)} worlds × {seeds} seeds ({len(frame)} runs) in {record['seconds'] / 60:.1f} min. Each point "
        "is a `kedro run --pipeline=hybrid` on a demo world that differs from the default in one knob, once per "
        "seed (the world's draw and the training seeds); macro ROC-AUC / PR-AUC on the test split, the mean over "
        "seeds, and gains relative to VGG in the same world with the lowest and highest seed's in brackets (in "
        "points of percent). Best learned fusion: the best of "
        f"{', '.join(LEARNED_FUSIONS)} (fitted on validation), the one most seeds chose.",
        "",
        "| knob | value | VGG | MF-centroids | Hybrid (mean) | gain of the hybrid | best learned fusion | gain | "
        "MF classifier | gain | s |",
        "|---|---:|---|---|---|---|---|---|---|---|---:|",
    ]
    for _, r in summary.iterrows():
        value = "" if r["knob"] == "default" else f"{r['value']:g}"
        lines.append(
            f"| {r['knob']} | {value} | {_pair(r, 'vgg')} | {_pair(r, 'mf')} | {_pair(r, 'hybrid')} | "
            f"{_gain(r, 'hybrid')} | `{r['best_fusion']}` {_pair(r, 'best_fusion')} | {_gain(r, 'best_fusion')} | "
            f"{_pair(r, 'mf_classifier')} | {_gain(r, 'mf_classifier')} | {r['seconds']:.0f} |"
        )
    lines += [
        "",
        "Knobs: " + "; ".join(f"`{k}`, {v}" for k, v in KNOBS.items()) + ".",
        "",
        "A difference between two points smaller than their seeds' ranges is the draw, not the knob. Every run, "
        "with what it reused, is in `sensitivity.csv`.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--knobs", default=DEFAULT_KNOBS, help='e.g. "era_audible=0,0.5,1;tag_dropout=0,0.5"')
    parser.add_argument("--seeds", default="0,1,2", help="seeds per point (at least 3 for a spread)")
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
    seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    frame = sweep(parse_knobs(args.knobs), scratch, overrides, seeds)
    record = {
        "commit": commit_label(PROJECT),
        "machine": machine_label(),
        "seconds": time.perf_counter() - started,
        "defaults": frame.attrs["defaults"],
        "seeds": seeds,
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
