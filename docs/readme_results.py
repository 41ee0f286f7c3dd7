"""The README's result figures, produced from a run's outputs so they cannot drift.

Three steps::

    python docs/readme_results.py collect --log run.log   # a run's outputs -> docs/results/demo.json
    python docs/readme_results.py write                   # docs/results/demo.json -> README blocks
    python docs/readme_results.py check                   # exit 1 if the README differs (a test runs it)

``collect`` reads the newest versions of Table 1 and the extended table, the per-tag
metrics, the fitted fusion weight, the MF scores, Figure 1's agreement, the cold-start
table and the playlists of ``data/08_reporting/<run>`` (and ``07_model_output``), and the
per-node cost table of the run's log, and records the commit and the machine. ``write``
replaces each block between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in
README.md by its rendering; nothing between the markers is typed by hand.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "docs" / "results" / "demo.json"
README = PROJECT / "README.md"

# The demo world's hidden tag groups (msd_tagging.demo.world): where tag information lives.
ERAS = ("60s", "70s", "80s", "90s", "00s")
QUALITIES = ("beautiful", "catchy", "sexy", "party")
BLOCK = re.compile(r"(<!-- results:(?P<name>[\w-]+) -->\n)(?P<body>.*?)(<!-- /results:(?P=name) -->)", re.DOTALL)


# --- collect ---------------------------------------------------------------------------


def _newest(folder: Path, name: str) -> dict:
    versions = sorted((folder / f"{name}.json").glob(f"*/{name}.json"))
    if not versions:
        raise SystemExit(f"no saved version of {name} under {folder}; run `kedro run --pipeline=hybrid` first")
    return {"version": versions[-1].parent.name, **json.loads(versions[-1].read_text())}


def _machine() -> dict:
    cpu = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        cpu = next(
            (
                line.split(":", 1)[1].strip()
                for line in cpuinfo.read_text().splitlines()
                if line.startswith("model name")
            ),
            "",
        )
    import os

    return {"cpu": cpu or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version()}


def _commit() -> str:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT, capture_output=True, text=True
    ).stdout.strip()
    return head + ("+changes" if dirty else "")


def _costs(log: Path) -> dict:
    """The per-node cost table the run logged (msd_tagging.hooks)."""
    from msd_tagging.hooks import parse_cost_log

    costs = parse_cost_log(log.read_text())
    if costs is None:
        raise SystemExit(f"{log} holds no per-node cost table; pass the log of a whole `kedro run --pipeline=hybrid`")
    return costs


def collect(data_root: Path, run: str, log: Path | None) -> dict:
    reporting, output = data_root / "08_reporting" / run, data_root / "07_model_output" / run
    per_tag = {
        s: pd.read_csv(reporting / f"{s}_per_tag_metrics.csv").set_index("tag") for s in ("audio", "mf", "hybrid")
    }
    tags = list(per_tag["audio"].index)
    groups = {
        "era": [t for t in tags if t in ERAS],
        "qualities": [t for t in tags if t in QUALITIES],
        "audible": [t for t in tags if t not in ERAS and t not in QUALITIES],
    }
    mf = pd.read_parquet(output / "mf_scores.parquet").drop(columns="track_id")
    playlists = pd.read_csv(reporting / "tag_playlists.csv")
    labelled = playlists.dropna(subset=["has_tag"])
    record = {
        "commit": _commit(),
        "machine": _machine(),
        "collected": datetime.now(UTC).strftime("%Y-%m-%d"),
        "table_1": _newest(reporting, "table_1"),
        "extended_table": _newest(reporting, "extended_table"),
        "tag_groups": {
            name: {"tags": len(members), **{s: float(per_tag[s].loc[members, "roc_auc"].mean()) for s in per_tag}}
            for name, members in groups.items()
        },
        "base_rate_tags": [t for t in mf.columns if mf[t].nunique() == 1],
        "fusion_global_weight": json.loads((output / "fusion_global_weights.json").read_text())["global_weight"],
        "agreement": json.loads((reporting / "figure_1_tag_agreement.json").read_text()),
        "cold_start": pd.read_csv(reporting / "cold_start_metrics.csv").to_dict("records"),
        "playlists": {
            tag: {"labelled": int(len(g)), "with_tag": int(g["has_tag"].sum())}
            for tag, g in labelled.groupby("tag", sort=False)
        },
    }
    if log is not None:
        record["costs"] = _costs(log)
    return record


# --- render ----------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value * 100:+.1f} %".replace("-", "−")


def _rows(record: dict, table: str) -> dict:
    key = "method" if table == "table_1" else "scorer"
    return {row[key]: row for row in record[table]["rows"]}


def render_table_1(r: dict) -> str:
    rows = r["table_1"]["rows"]
    audio, hybrid = rows[0], rows[-1]
    lines = [
        "| method | ROC-AUC | PR-AUC | paper (MSD) ROC-AUC | paper PR-AUC |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        bold = "**" if row is hybrid else ""
        lines.append(
            f"| {row['method']} | {bold}{row['roc_auc']:.4f}{bold} | {bold}{row['pr_auc']:.4f}{bold} | {row['paper_msd_roc_auc']:.4f} | {row['paper_msd_pr_auc']:.4f} |"
        )
    d_roc, d_pr = hybrid["roc_auc"] - audio["roc_auc"], hybrid["pr_auc"] - audio["pr_auc"]
    paper_roc = hybrid["paper_msd_roc_auc"] / audio["paper_msd_roc_auc"] - 1
    paper_pr = hybrid["paper_msd_pr_auc"] / audio["paper_msd_pr_auc"] - 1
    lines += [
        "",
        f"The hybrid's difference from the audio tagger: {d_roc:+.4f} ROC-AUC ({_pct(d_roc / audio['roc_auc'])}) and "
        f"{d_pr:+.4f} PR-AUC ({_pct(d_pr / audio['pr_auc'])}) over all {audio['tags_scored']} tags; the paper's on MSD was "
        f"{_pct(paper_roc)} and {_pct(paper_pr)}.",
    ]
    return "\n".join(lines)


def render_tag_groups(r: dict) -> str:
    label = {
        "era": "era (`60s` … `00s`), faintly audible",
        "qualities": "qualities (`beautiful`, `catchy`, `sexy`, `party`), inaudible",
        "audible": "the {n} audible tags",
    }
    lines = ["| tags | VGG | MF-centroids | Hybrid |", "|---|---:|---:|---:|"]
    for name, group in r["tag_groups"].items():
        best = max(("audio", "mf", "hybrid"), key=lambda s: group[s])
        cells = [f"**{group[s]:.3f}**" if s == best else f"{group[s]:.3f}" for s in ("audio", "mf", "hybrid")]
        lines.append(f"| {label[name].format(n=group['tags'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_base_rate(r: dict) -> str:
    tags = r["base_rate_tags"]
    if not tags:
        return "Every tag's Platt calibration found a positive slope, so no MF-centroid score is a constant."
    names = ", ".join(f"`{t}`" for t in tags)
    return (
        f"The MF-centroids row includes {len(tags)} tag{'s' if len(tags) > 1 else ''} ({names}) whose calibration found "
        "no positive slope and gave them their training base rate, a constant."
    )


def render_agreement(r: dict) -> str:
    agreement = r["agreement"]
    parts = [
        f"{tag} {v['agreement']:.2f} vs {v['shuffled']:.3f}"
        for tag, v in agreement["tags"].items()
        if v.get("agreement") is not None
    ]
    return (
        f"On the demo ({agreement['k']} neighbours, {agreement['tracks']} warm split tracks): " + ", ".join(parts) + "."
    )


def render_extended(r: dict) -> str:
    record = r["extended_table"]
    best = record["best_fused"]
    lines = ["| scorer | method | ROC-AUC | PR-AUC | gain over VGG |", "|---|---|---:|---:|---:|"]
    for row in record["rows"]:
        gain = "" if row["scorer"] == "audio" else f"{_pct(row['roc_auc_gain'])} / {_pct(row['pr_auc_gain'])}"
        bold = "**" if row["scorer"] == best else ""
        method = row["method"].replace("global weight", f"global weight {r['fusion_global_weight']:.2f}")
        lines.append(
            f"| `{row['scorer']}` | {method} | {bold}{row['roc_auc']:.4f}{bold} | {bold}{row['pr_auc']:.4f}{bold} | {bold}{gain}{bold} |"
        )
    ratio = record["gain_vs_paper"]
    paper = record["paper_relative_gain"]
    lines += [
        "",
        f"The paper's hybrid gained {_pct(paper['roc_auc'])} ROC-AUC and {_pct(paper['pr_auc'])} PR-AUC over VGG on MSD. "
        f"The best fused scorer here, `{best}`, gains {ratio['roc_auc']:.1f}× and {ratio['pr_auc']:.1f}× that.",
    ]
    return "\n".join(lines)


def render_findings(r: dict) -> str:
    ext = _rows(r, "extended_table")
    cold = pd.DataFrame(r["cold_start"]).set_index(["bin", "scorer"])
    bins = list(dict.fromkeys(b for b, _ in cold.index))
    few, top = bins[1], bins[-1]
    untouched = int(cold.loc[(bins[0], "audio"), "tracks"])
    test_tracks = ext["audio"]["tracks_scored"]
    playlists = ", ".join(f"`{t}` {v['with_tag']} of {v['labelled']}" for t, v in r["playlists"].items())
    return "\n".join(
        [
            f"- Trained on tags, the MF classifier scores {ext['mf_classifier']['roc_auc']:.3f} ROC-AUC alone, against "
            f"{ext['mf']['roc_auc']:.3f} for MF-centroids and {ext['audio']['roc_auc']:.3f} for VGG. The centroids only see "
            "what the tagger hears; the classifier sees the real labels.",
            f"- Dense-core centroids score {ext['mf_core']['roc_auc']:.3f} alone (plain centroids {ext['mf']['roc_auc']:.3f}); "
            f"in the mean with VGG, {ext['hybrid_core']['roc_auc']:.4f} against {ext['hybrid']['roc_auc']:.4f}. Differences "
            f"this small on {test_tracks} test tracks say little.",
            f"- The learned global weight is {r['fusion_global_weight']:.2f} (`fusion_global` {ext['fusion_global']['roc_auc']:.4f} "
            f"against the plain mean's {ext['hybrid']['roc_auc']:.4f}); per-tag weights give "
            f"{ext['fusion_by_tag']['roc_auc']:.4f}.",
            f"- Cold start (`cold_start.png`): {untouched} of {test_tracks} test tracks have no plays and keep their audio score. "
            f"With {few} plays the MF classifier scores {cold.loc[(few, 'mf_classifier'), 'roc_auc']:.3f} against audio "
            f"{cold.loc[(few, 'audio'), 'roc_auc']:.3f}, and `fusion_classifier` {cold.loc[(few, 'fusion_classifier'), 'roc_auc']:.3f}. "
            f"The top bin ({top} plays, {int(cold.loc[(top, 'audio'), 'tracks'])} tracks) is small and noisy.",
            f"- Playlists: of the labelled tracks among the nearest to each centroid, {playlists} carry the tag.",
        ]
    )


def render_costs(r: dict) -> str:
    costs = r.get("costs")
    if not costs:
        return "(no cost table collected)"
    nodes = costs["nodes"]
    stages = {
        "drawing and writing the world": ["draw_world", "demo_data"],  # each node's name now and at older commits
        "features": ["extract_features"],
        "VGG training": ["train_tagger", "train_vgg"],
        "scoring": ["score_audio"],
        "factorisation": ["factorise_plays"],
        "t-SNE": ["tsne_embedding", "tsne"],
    }
    listed = {n for names in stages.values() for n in names}
    lines = [
        f"- {stage}: {sum(nodes.get(n, {}).get('seconds', 0.0) for n in names):.0f} s;"
        for stage, names in stages.items()
    ]
    rest = sum(v["seconds"] for n, v in nodes.items() if n not in listed)
    lines.append(
        f"- everything else (ingestion, MF-centroids, the other scorers, evaluation, tables, figures): {rest:.0f} s."
    )
    peak = max(v["peak_rss_mb"] for v in nodes.values())
    return "\n".join(
        [
            f"Measured at `{r['commit']}` on {r['machine']['cores']} cores ({r['machine']['cpu']}), "
            f"{costs['total']['seconds']:.0f} s of node time in all:",
            "",
            *lines,
            "",
            f"Peak memory is {peak / 1000:.2f} GB in the main process and {costs['total']['largest_worker_mb'] / 1000:.2f} GB in a worker.",
        ]
    )


BENCHMARKS = PROJECT / "benchmarks" / "results"


def render_full_run(r: dict) -> str:
    """The README's full-run cost table, from the rehearsal and the extraction benchmark's results."""
    scale = json.loads((BENCHMARKS / "msd_scale.json").read_text())
    extraction = json.loads((BENCHMARKS / "feature_extraction.json").read_text())
    nodes = scale["costs"]["nodes"]

    def seconds(*names: str) -> float:
        return sum(nodes[n]["seconds"] for n in names if n in nodes)

    def peak(*names: str) -> float:
        return max(nodes[n]["peak_rss_mb"] for n in names if n in nodes) / 1024

    ingestion = [
        "build_tracks", "build_tag_labels", "map_songs_to_tracks", "resolve_audio", "build_plays", "build_id_maps",
        "index_plays", "feature_report", "ingestion_report", "msd.build_tracks", "msd.map_songs_to_tracks",
        "msd.build_plays", "msd.track_metadata",
    ]  # fmt: skip
    figures = ["tsne", "tag_agreement", "figure_1", "tsne_embedding", "tsne_figures"]
    named = {"draw_world", "demo_data", "extract_features", "train_tagger", "train_vgg", "score_audio",
             "factorise_plays", *ingestion, *figures}  # fmt: skip
    rest = [n for n in nodes if n not in named]
    previews = (
        extraction["sets"].get("real music previews (30 s, 44.1 kHz stereo)")
        or extraction["sets"]["7digital-like (30 s, 44.1 kHz stereo)"]
    )
    extraction_hours = 241_889 * previews["ours_ms"] / 1000 / 2 / 3600  # two cores
    alone = scale.get("isolated", {}).get("tag_agreement")
    total = (scale["generation_seconds"] or 0) + scale["run_wall_seconds"]
    lines = [
        f"Measured at the real MSD shape on the reference machine ({scale['machine']}, 24 GB, no GPU) with "
        f"the rehearsal world (`benchmarks/msd_scale.py`, results in `benchmarks/results/msd_scale.md`, commit "
        f"`{scale['commit']}`): the whole `hybrid` pipeline completed in {scale['costs']['total']['seconds'] / 60:.1f} min "
        f"of node time, {total / 60:.1f} min with drawing the world, process peak "
        f"{scale['process_peak_rss_mb'] / 1024:.1f} GB. The rehearsal's clips last 2 s and its VGG is small; the "
        'column for real previews and the paper-scale VGG scales per-unit measurements ("est." marks an estimate).',
        "",
        "| stage | measured at the MSD shape (rehearsal) | for real 30-s previews and the paper-scale VGG | peak memory |",
        "|---|---|---|---|",
        f"| ingestion (48.4M triplets, 8.6M Last.fm rows, 1M tracks) | {seconds(*ingestion):.0f} s of node time; "
        f"`build_plays` {seconds('build_plays'):.0f} s | the same | {peak('build_plays'):.1f} GB (`build_plays`) |",
        f"| log-mel features, 241,889 files | {seconds('extract_features') / 60:.1f} min (2-s clips) | about "
        f"{extraction_hours:.1f} h on 2 cores ({previews['ours_ms']:.0f} ms per 30-s preview per core, "
        f"`feature_extraction.md` at `{extraction['commit']}`) | {peak('extract_features'):.1f} GB main; workers small |",
        f"| VGG training | {seconds('train_tagger', 'train_vgg') / 60:.1f} min for one epoch of a small VGG | about 9 h per epoch on CPU "
        f"(6.2 samples/s, `training_throughput.md`): use a GPU | {peak('train_tagger', 'train_vgg'):.1f} GB (mapped features) |",
        f"| scoring every split track | {seconds('score_audio') / 60:.1f} min (small VGG) | hours on CPU (est.) | "
        f"{peak('score_audio'):.1f} GB (mapped features) |",
        f"| factorisation (BPR), 200 factors, held-out early stopping | {seconds('factorise_plays') / 60:.1f} min | depends on where "
        f"real plays peak | {peak('factorise_plays'):.1f} GB |",
        f"| MF-centroids, classifier, fusion, evaluation, cold start, playlists, tables | {seconds(*rest) / 60:.1f} min "
        f"| the same | under {peak(*rest):.0f} GB |",
        f"| Figure 1: t-SNE of 5,000 tracks, tag agreement over all warm tracks | {seconds('tsne_embedding', 'tsne'):.0f} s and "
        f"{seconds('tag_agreement'):.0f} s | the same | {peak(*figures):.1f} GB in the run"
        + (f"; {alone['process_peak_rss_mb'] / 1024:.2f} GB alone (`{alone['commit']}`)" if alone else "")
        + " |",
    ]
    return "\n".join(lines)


def render_sensitivity(r: dict) -> str:
    """The sweep over demo worlds (benchmarks/results/sensitivity.*), and whether its default
    point reproduces this README's Table 1."""
    frame = pd.read_csv(BENCHMARKS / "sensitivity.csv")
    meta = json.loads((BENCHMARKS / "sensitivity.json").read_text())
    table_1 = {row["method"]: (row["roc_auc"], row["pr_auc"]) for row in r["table_1"]["rows"]}
    same = all(
        abs(a - b) < 5e-5 for m, pair in meta["default_table_1"].items() for a, b in zip(pair, table_1[m], strict=True)
    )
    gains = frame[["hybrid_roc_auc_gain", "hybrid_pr_auc_gain"]]
    lines = [
        "![The hybrid's gain over VGG across demo worlds](benchmarks/results/sensitivity.png)",
        "",
        f"`benchmarks/sensitivity.py` at `{meta['commit']}` ({meta['machine']}): {len(frame)} demo worlds, each "
        f"differing from the default in one knob, each run through the whole `hybrid` pipeline, in "
        f"{meta['seconds'] / 60:.0f} min (points reuse the default's clips, trained VGG or BPR vectors where "
        "those are the same). Gains are relative to VGG in the same world, ROC-AUC / PR-AUC:",
        "",
        "| knob | value | VGG | hybrid (mean) | best learned fusion | MF classifier |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for _, row in frame.iterrows():
        value = "default" if row["knob"] == "default" else f"{row['value']:g}"
        lines.append(
            f"| {'—' if row['knob'] == 'default' else '`' + row['knob'] + '`'} | {value} | "
            f"{row['vgg_roc_auc']:.4f} / {row['vgg_pr_auc']:.4f} | "
            + " | ".join(
                f"{row[f'{k}_roc_auc_gain']:+.1%} / {row[f'{k}_pr_auc_gain']:+.1%}"
                for k in ("hybrid", "best_fusion", "mf_classifier")
            )
            + " |"
        )
    lines += [
        "",
        f"Across these worlds the paper's plain mean changes VGG's ROC-AUC by {gains['hybrid_roc_auc_gain'].min():+.1%} "
        f"to {gains['hybrid_roc_auc_gain'].max():+.1%} and its PR-AUC by {gains['hybrid_pr_auc_gain'].min():+.1%} to "
        f"{gains['hybrid_pr_auc_gain'].max():+.1%}. The default point "
        + (
            "reproduces Table 1 below to the fourth decimal."
            if same
            else "does **not** reproduce Table 1 below: rerun the sweep."
        )
        + " Knobs: "
        + "; ".join(
            f"`{k}` ({v})"
            for k, v in {
                "era_audible": "share of tracks whose production sounds like their era, default "
                f"{meta['defaults']['era_audible']:g}",
                "scene_strength": "factor on how strongly listeners follow their scenes' eras, genres and qualities",
                "tag_dropout": "share of vocabulary tag rows never given",
            }.items()
        )
        + ".",
    ]
    return "\n".join(lines)


def render_pretrained_models(r: dict) -> str:
    """The models tag_audio offers, with the validation scores their weight files carry."""
    from msd_tagging.models.pretrained import PRETRAINED, pretrained_record

    what = {
        "msd_musicnn": "musicnn's `MSD_musicnn` (Pons & Serra 2019)",
        "msd_vgg": "musicnn's `MSD_vgg`, the VGG baseline of Pons et al. 2018, trained on this project's split, "
        "tags and features",
    }
    lines = [
        "| `tag_audio.model` | what it is | validation ROC-AUC / PR-AUC on the MSD | embedding |",
        "|---|---|---|---|",
    ]
    for name in PRETRAINED:
        record = pretrained_record(name)
        provenance = record["provenance"]
        with_embedding = record["config"].get("backend_units")
        if with_embedding is None:
            from msd_tagging.models.registry import build

            with_embedding = build(record["architecture"], record["config"]).config.flat_size()
        lines.append(
            f"| `{name}`{' (default)' if name == 'msd_musicnn' else ''} | {what[name]} | "
            f"{provenance['validation_roc_auc']:.4f} / {provenance['validation_pr_auc']:.4f} | {with_embedding} values |"
        )
    lines.append(
        "| `trained` | the VGG this project trained (`kedro run --pipeline=hybrid` first); on the demo it learned "
        "synthesised audio | its own validation, in `vgg_training_history.csv` | none |"
    )
    return "\n".join(lines)


def render_pretrained(r: dict) -> str:
    """Parity and speed of the pretrained ports against musicnn's TensorFlow tagger."""
    bench = json.loads((BENCHMARKS / "pretrained_tagging.json").read_text())
    seconds = bench["audio_minutes"] * 60
    lines = [
        f"Measured by `benchmarks/pretrained_tagging.py` at `{bench['commit']}` ({bench['machine']}) on "
        f"{len(bench['files'])} real recordings ({bench['audio_minutes']:.0f} min of orchestral music from Debian's "
        "`wesnoth-1.16-music`), end to end in one process each (start-up and decoding included), against "
        "musicnn 0.1.0's own tagger under TensorFlow 2.21 with float32 features:",
        "",
        "| model | largest difference in a file's mean tag probability | ours | musicnn (TensorFlow) |",
        "|---|---:|---:|---:|",
    ]
    for model, m in bench["models"].items():
        lines.append(
            f"| `{model}` | {m['max_abs_probability_difference']:.0e} | {seconds / m['ours_wall_s']:.0f}× real time "
            f"| {seconds / m['peer_wall_s']:.0f}× real time |"
        )
    return "\n".join(lines)


def render_provenance(r: dict) -> str:
    return (
        f"The figures in this README's results blocks come from one run at `{r['commit']}` on "
        f"{r['machine']['cores']} cores ({r['machine']['cpu']}), collected {r['collected']} into "
        "`docs/results/demo.json` by `docs/readme_results.py`; a test checks that README and file agree."
    )


RENDERERS = {
    "table-1": render_table_1,
    "tag-groups": render_tag_groups,
    "base-rate": render_base_rate,
    "agreement": render_agreement,
    "extended-table": render_extended,
    "findings": render_findings,
    "costs": render_costs,
    "full-run": render_full_run,
    "pretrained": render_pretrained,
    "pretrained-models": render_pretrained_models,
    "sensitivity": render_sensitivity,
    "provenance": render_provenance,
}


def rendered_readme(readme: str, record: dict) -> str:
    """``readme`` with every results block rendered from ``record``."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name not in RENDERERS:
            raise SystemExit(f"README.md has a results block {name!r} that nothing renders")
        return f"{match.group(1)}{RENDERERS[name](record)}\n{match.group(4)}"

    return BLOCK.sub(fill, readme)


def check(readme_path: Path = README, results_path: Path = RESULTS) -> list[str]:
    """Names of the README blocks that differ from the results file (empty: they agree)."""
    readme = readme_path.read_text(encoding="utf-8")
    expected = rendered_readme(readme, json.loads(results_path.read_text()))
    have = {m.group("name"): m.group("body") for m in BLOCK.finditer(readme)}
    want = {m.group("name"): m.group("body") for m in BLOCK.finditer(expected)}
    return sorted(name for name in want if have.get(name) != want[name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("collect", "write", "check"))
    parser.add_argument("--data-root", default=str(PROJECT / "data"))
    parser.add_argument("--run", default="demo")
    parser.add_argument("--log", help="the run's log, for the per-node cost table")
    args = parser.parse_args(argv)
    if args.step == "collect":
        record = collect(Path(args.data_root), args.run, Path(args.log) if args.log else None)
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {RESULTS.relative_to(PROJECT)} (commit {record['commit']})")
    elif args.step == "write":
        README.write_text(
            rendered_readme(README.read_text(encoding="utf-8"), json.loads(RESULTS.read_text())), encoding="utf-8"
        )
        print("README.md results blocks rewritten")
    else:
        stale = check()
        if stale:
            print(
                f"README.md results blocks differ from {RESULTS.relative_to(PROJECT)}: {', '.join(stale)}; run: python docs/readme_results.py write"
            )
            return 1
        print("README.md agrees with the results file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
