"""Benchmark: the audio side from a head on pretrained embeddings, against the VGG trained
here and the pretrained MSD tagger used directly, in three vocabularies.

Worlds (each a ``kedro run --pipeline=hybrid`` per audio model, in a scratch copy of conf/):

* ``demo``: the demo world in the MSD formats (the MSD's 50 tags);
* ``catalogue``: the example catalogue (the same world as plain tables, its own top-50
  vocabulary);
* ``renamed``: the example catalogue with every tag renamed and 20 of the 50 dropped (a
  vocabulary that is not the MSD's: no MSD tagger can be used directly).

Audio models: ``train`` (the VGG trained here, the named baseline), ``msd_musicnn``
direct (only where the vocabulary is the MSD's), and ``head`` on each of ``msd_musicnn``'s
and ``msd_vgg``'s embeddings. For each: test macro ROC-AUC / PR-AUC of the audio side
alone and of the best fused scorer (extended table), with 95 % intervals, and the cost:
the embedding node's seconds per 30 s of audio on this machine's cores, and the head's
training seconds, from the run's per-node cost table.

Usage::

    python benchmarks/heads.py [--worlds demo,catalogue,renamed] [--scratch DIR] [--note TEXT]
    python benchmarks/heads.py --rewrite --note TEXT   # redraw heads.md with a note

Writes ``benchmarks/results/heads.{json,md}``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

from msd_tagging.framework.run_record import commit_label, machine_label

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
RESULTS = HERE / "results"
MODELS = (
    ("train", {"model_source": "train"}),
    ("msd_musicnn", {"model_source": "msd_musicnn"}),
    ("head on msd_musicnn", {"model_source": "head", "head": {"embedding": "msd_musicnn"}}),
    ("head on msd_vgg", {"model_source": "head", "head": {"embedding": "msd_vgg"}}),
)


def _conf(scratch: Path, world: str) -> tuple[Path, str]:
    """A scratch conf/ with the world's env: (conf folder, env name)."""
    conf = scratch / "conf"
    if not conf.exists():
        shutil.copytree(PROJECT / "conf", conf, ignore=shutil.ignore_patterns("local"))
        (conf / "local").mkdir()
    name = world if world == "demo" else f"heads_{world}"  # never conf/catalogue itself
    env = conf / name
    source = "base" if world == "demo" else "catalogue"
    if world != "demo":
        shutil.copytree(conf / "catalogue", env, dirs_exist_ok=True)
    env.mkdir(exist_ok=True)
    raw = scratch / "raw" / world
    globals_ = yaml.safe_load((conf / source / "globals.yml").read_text()) if source != "base" else {}
    globals_.update(data_root=str(scratch / "data"), raw_root=str(raw), run_name=world)
    if "tables" in globals_:
        globals_["tables"] = {k: str(raw / Path(v).name) for k, v in globals_["tables"].items()}
    (env / "globals.yml").write_text(yaml.safe_dump(globals_))
    return conf, name


def _rename(raw: Path) -> None:
    """The example catalogue's tags renamed (``tag 07``) and 20 of its top 50 dropped."""
    tags = pd.read_csv(raw / "tags.csv", dtype=str)
    top = tags["tag"].str.casefold().value_counts().index[:50]
    kept = {t: f"label {i:02d}" for i, t in enumerate(top) if i % 5 not in (1, 3)}  # 30 kept
    tags = tags[tags["tag"].str.casefold().isin(kept)].assign(tag=lambda f: f["tag"].str.casefold().map(kept))
    tags.to_csv(raw / "tags.csv", index=False)


def _run(conf: Path, env: str, audio: dict, pipeline: str = "hybrid") -> tuple[float, dict | None]:
    from msd_tagging.framework.hooks import parse_cost_log

    log = conf.parent / f"{env}.log"
    command = [
        "kedro", "run", f"--pipelines={pipeline}", f"--env={env}", f"--conf-source={conf}",
        "--params=" + ",".join(f"audio.{k}={v}" for k, v in _flat(audio).items()),
    ]  # fmt: skip
    started = time.perf_counter()
    with open(log, "w") as handle:
        done = subprocess.run(command, cwd=PROJECT, stdout=handle, stderr=subprocess.STDOUT,
                              env={**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"})  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed; see {log}")
    return seconds, parse_cost_log(log.read_text())


def _flat(audio: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in audio.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _newest(folder: Path, name: str) -> dict:
    return json.loads(sorted((folder / f"{name}.json").glob(f"*/{name}.json"))[-1].read_text())


def _audio_seconds(data: Path, world: str) -> float:
    """Seconds of audio the run's tracks with features hold (the feature store's frames)."""
    manifest = pd.read_parquet(data / "04_feature" / world / "logmel" / "manifest.parquet")
    return float(manifest["n_frames"].sum() * 256 / 16000)


def measure(scratch: Path, world: str) -> list[dict]:
    conf, env = _conf(scratch, world)
    rows = []
    for label, audio in MODELS:
        if audio["model_source"] == "msd_musicnn" and world != "demo":
            continue  # the MSD tagger only speaks the MSD's 50 tags
        if world == "renamed" and not (scratch / "raw" / world / "tags.csv").exists():
            _run(conf, env, {"model_source": "train"}, pipeline="demo_data")  # draws the example catalogue
            _rename(scratch / "raw" / world)
        seconds, costs = _run(conf, env, audio)
        reporting = scratch / "data" / "08_reporting" / world
        extended = _newest(reporting, "extended_table")
        by = {r["scorer"]: r for r in extended["rows"]}
        best = by[extended["best_fused"]]
        nodes = costs["nodes"]
        audio_s = _audio_seconds(scratch / "data", world)
        rows.append({
            "world": world, "audio_model": label, "run_seconds": seconds, "tags": by["audio"]["tags_scored"],
            "audio": {k: by["audio"].get(k) for k in ("roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc",
                                                       "pr_auc_low", "pr_auc_high")},
            "best_fused": extended["best_fused"],
            "fused": {k: best.get(k) for k in ("roc_auc", "roc_auc_low", "roc_auc_high", "pr_auc", "pr_auc_low",
                                               "pr_auc_high")},
            "from_audio": {k: by["fusion_from_audio"].get(k) for k in ("roc_auc", "roc_auc_low", "roc_auc_high",
                                                                       "pr_auc", "pr_auc_low", "pr_auc_high")}
            if "fusion_from_audio" in by else None,
            "embed_seconds": nodes.get("embed_tracks", {}).get("seconds"),
            "embed_seconds_per_30s": (nodes["embed_tracks"]["seconds"] / audio_s * 30)
            if audio["model_source"] == "head" and "embed_tracks" in nodes else None,
            "train_seconds": nodes.get("train_tagger", {}).get("seconds"),
        })  # fmt: skip
        print(world, label, rows[-1]["audio"]["roc_auc"], rows[-1]["fused"]["roc_auc"], flush=True)
    return rows


def markdown(record: dict) -> str:
    others = sorted({r["commit"] for r in record["rows"] if r.get("commit", record["commit"]) != record["commit"]})
    kept = sorted({r["world"] for r in record["rows"] if r.get("commit", record["commit"]) != record["commit"]})
    lines = [
        "# The audio side from heads on pretrained embeddings",
        "",
        f"`python benchmarks/heads.py`, commit `{record['commit']}`, {record['machine']}; {record['seconds'] / 60:.0f} "
        "min. Each row is a `kedro run --pipeline=hybrid` with that audio model; test macro ROC-AUC / PR-AUC with "
        "95 % bootstrap intervals, the audio side alone and the best fused scorer (audio with listening, fitted on "
        "validation). `train`, the VGG trained here, is the named baseline: the last columns are ratios to its "
        "audio ROC-AUC and its training seconds in the same world. Embedding: seconds of `embed_tracks` per 30 s "
        "of audio on this machine; demo clips last 6 s."
        + (f" Rows of {', '.join(kept)} were measured at `{'`, `'.join(others)}`." if others else ""),
        "",
        "| world | audio model | tags | audio alone | audio + listening predicted from audio | best fused (scorer) | "
        "embedding s / 30 s | training s | audio ROC-AUC vs train | training time vs train |",
        "|---|---|---:|---|---|---|---:|---:|---:|---:|",
    ]

    def cell(m: dict) -> str:
        return (f"{m['roc_auc']:.4f} [{m['roc_auc_low']:.3f}, {m['roc_auc_high']:.3f}] / "
                f"{m['pr_auc']:.4f} [{m['pr_auc_low']:.3f}, {m['pr_auc_high']:.3f}]")  # fmt: skip

    for world, group in pd.DataFrame(record["rows"]).groupby("world", sort=False):
        base = group[group["audio_model"] == "train"].iloc[0]
        for r in group.itertuples():
            embed = (
                "–"
                if r.embed_seconds_per_30s is None or pd.isna(r.embed_seconds_per_30s)
                else f"{r.embed_seconds_per_30s:.2f}"
            )
            lines.append(
                f"| {world} | {r.audio_model} | {r.tags} | {cell(r.audio)} | "
                f"{cell(r.from_audio) if isinstance(r.from_audio, dict) else '–'} | {cell(r.fused)} (`{r.best_fused}`) | "
                f"{embed} | {r.train_seconds:.1f} | {r.audio['roc_auc'] / base.audio['roc_auc']:.3f} | "
                f"{r.train_seconds / base.train_seconds:.3f} |"
            )
    lines += ["", "A demo gain is a direction, not a size: the demo's audio is synthesised, and the MSD taggers "
              "were trained on real music."]  # fmt: skip
    if record.get("note"):
        lines += ["", f"Note: {record['note']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worlds", default="demo,catalogue,renamed")
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--note", help="what else the machine ran meanwhile, said under the table")
    parser.add_argument("--rewrite", action="store_true", help="only redraw heads.md from heads.json (with --note)")
    parser.add_argument(
        "--keep", action="store_true", help="keep heads.json's rows of the worlds not run now (each keeps its commit)"
    )
    args = parser.parse_args(argv)
    if args.rewrite:
        record = json.loads((RESULTS / "heads.json").read_text())
        if args.note:
            record["note"] = args.note
        (RESULTS / "heads.json").write_text(json.dumps(record, indent=2) + "\n")
        (RESULTS / "heads.md").write_text(markdown(record))
        return 0
    scratch = args.scratch or Path(tempfile.mkdtemp(prefix="heads-"))
    started = time.perf_counter()
    commit = commit_label(PROJECT)
    worlds = args.worlds.split(",")
    rows = [{**row, "commit": commit} for world in worlds for row in measure(scratch, world)]
    if args.keep and (RESULTS / "heads.json").is_file():
        previous = json.loads((RESULTS / "heads.json").read_text())
        kept = [{"commit": previous["commit"], **r} for r in previous["rows"] if r["world"] not in worlds]
        rows = kept + rows
    record = {
        "commit": commit,
        "machine": machine_label(),
        "seconds": time.perf_counter() - started,
        "baseline": "train",
        "rows": rows,
        **({"note": args.note} if args.note else {}),
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "heads.json").write_text(json.dumps(record, indent=2) + "\n")
    (RESULTS / "heads.md").write_text(markdown(record))
    print((RESULTS / "heads.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
