"""The result figures of the README and the docs pages, produced from a run's outputs so
they cannot drift.

Three steps::

    python docs/readme_results.py collect --log run.log   # a run's outputs -> docs/results/demo.json
    python docs/readme_results.py write                   # docs/results/demo.json -> README and docs blocks
    python docs/readme_results.py check                   # exit 1 if a page differs (a test runs it)

``collect`` reads the newest versions of Table 1 and the extended table, the per-tag
metrics, the fitted fusion weight, the MF scores, Figure 1's agreement, the cold-start
table and the playlists of ``data/08_reporting/<run>`` (and ``07_model_output``), the
per-node cost table of the run's log, and the example catalogue's tagged catalogue
(``--catalogue-run``, from ``kedro run --pipeline=hybrid --env catalogue``), and records
the commit and the machine. ``write``
replaces each block between ``<!-- results:NAME -->`` and ``<!-- /results:NAME -->`` in
README.md and every page of ``docs/`` by its rendering; nothing between the markers is
typed by hand. ``collect`` also copies the run's Figure 1 into ``docs/images/``, so the
README's figure is the run's.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from msd_tagging.framework.run_record import commit_label, cpu_model, recorded_commit

PROJECT = Path(__file__).resolve().parents[1]
RESULTS = PROJECT / "docs" / "results" / "demo.json"
README = PROJECT / "README.md"
FIGURES = {"figure_1_tsne.png": "figure_1_tsne.png"}  # the run's reporting file: its copy in docs/images/


def pages() -> list[Path]:
    """Every page with results blocks: the README and the docs site's pages."""
    return [README, *sorted((PROJECT / "docs").glob("*.md"))]


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
    import os

    return {"cpu": cpu_model(), "cores": os.cpu_count(), "python": platform.python_version()}


def _costs(log: Path) -> dict:
    """The per-node cost table the run logged (msd_tagging.framework.hooks)."""
    from msd_tagging.framework.hooks import parse_cost_log

    costs = parse_cost_log(log.read_text())
    if costs is None:
        raise SystemExit(f"{log} holds no per-node cost table; pass the log of a whole `kedro run --pipeline=hybrid`")
    return costs


def collect(data_root: Path, run: str, log: Path | None, catalogue_run: str | None = "catalogue") -> dict:
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
        "commit": recorded_commit(reporting) or commit_label(PROJECT),
        "machine": _machine(),
        "collected": datetime.now(UTC).strftime("%Y-%m-%d"),
        "table_1": _newest(reporting, "table_1"),
        "extended_table": _newest(reporting, "extended_table"),
        "tag_groups": {
            name: {"tags": len(members), **{s: float(per_tag[s].loc[members, "roc_auc"].mean()) for s in per_tag}}
            for name, members in groups.items()
        },
        "base_rate_tags": [t for t in mf.columns if mf[t].nunique() == 1],
        "fusion_weights": json.loads((output / "fusion_classifier_weights.json").read_text())["global_weight"],
        "from_audio": {
            "listening": json.loads((reporting / "listening_from_audio_report.json").read_text()),
            "classifier": json.loads((reporting / "mf_classifier_from_audio_report.json").read_text()),
        }
        if (reporting / "listening_from_audio_report.json").is_file()
        else None,
        "agreement": json.loads((reporting / "figure_1_tag_agreement.json").read_text()),
        "cold_start": pd.read_csv(reporting / "cold_start_metrics.csv").to_dict("records"),
        "playlists": {
            tag: {"labelled": int(len(g)), "with_tag": int(g["has_tag"].sum())}
            for tag, g in labelled.groupby("tag", sort=False)
        },
    }
    record["paired"] = _paired_differences(reporting)
    if log is not None:
        record["costs"] = _costs(log)
    if catalogue_run and (data_root / "08_reporting" / catalogue_run / "catalogue_summary.json").is_file():
        record["catalogue"] = collect_catalogue(data_root, catalogue_run)
    return record


PAIRS = (("fusion_classifier", "hybrid"), ("fusion_from_audio", "audio"), ("mf_classifier_from_audio", "audio"),
         ("mf_classifier", "mf"))  # fmt: skip


def _paired_differences(reporting: Path) -> dict:
    """Differences in macro ROC-AUC between scorers the findings compare, with the 95 %
    interval of the paired bootstrap their metrics carry."""
    import numpy as np

    from msd_tagging.core.metrics import interval

    out = {}
    for a, b in PAIRS:
        ma, mb = (json.loads((reporting / f"{s}_metrics.json").read_text()) for s in (a, b))
        if "bootstrap" not in ma or "bootstrap" not in mb:
            continue
        for metric in ("roc_auc", "pr_auc"):
            diff = np.asarray(ma["bootstrap"][metric]) - np.asarray(mb["bootstrap"][metric])
            point = ma[f"{metric}_macro"] - mb[f"{metric}_macro"]
            low, high = interval(diff, 0.95, centre=point)
            out[f"{a}-{b}.{metric}"] = {"difference": point, "low": low, "high": high}
    return out


def collect_catalogue(data_root: Path, run: str, examples: int = 5) -> dict:
    """What the example catalogue's run delivered: coverage, the promise, what to expect,
    and excerpts of the deliverable tables (the queue's head, tracks without crowd tags)."""
    from msd_tagging.datasets import ReportCSVDataset

    reporting, output = data_root / "08_reporting" / run, data_root / "07_model_output" / run
    suggestions = ReportCSVDataset(filepath=str(output / "tag_suggestions.csv")).load()  # text as written: NA is a tag
    decisions = pd.read_parquet(output / "tag_decisions.parquet")
    long = pd.read_parquet(output / "catalogue_tags.parquet")
    summary = json.loads((reporting / "catalogue_summary.json").read_text())
    example = summary["examples"][0]["track_id"] if summary.get("examples") else None
    first = long[long["track_id"].astype(str) == example] if example else long.head(0)
    first = first.sort_values("probability", ascending=False).head(4)
    queue = suggestions[["rank", "track_id", "tag", "probability", "cumulative_expected_precision", "expected_precision",
                         "expected_precision_low", "expected_precision_high"]]  # fmt: skip
    return {
        "run": run,
        "summary": summary,
        "selection": json.loads((output / "tagging_selection.json").read_text()),
        "expectations": json.loads((output / "tagging_expectations.json").read_text()),
        "decided": json.loads(
            decisions[decisions["decided"]][
                [
                    "evidence",
                    "tag",
                    "expected_precision",
                    "expected_precision_low",
                    "expected_precision_high",
                    "expected_recall",
                ]
            ].to_json(orient="records")
        ),  # fmt: skip
        "reasons": {str(k): int(v) for k, v in decisions.loc[~decisions["decided"], "reason"].value_counts().items()},
        "queue": json.loads(queue.head(examples).to_json(orient="records")),
        "queue_length": int(len(suggestions)),
        "queue_at": {
            str(n): float(suggestions["cumulative_expected_precision"].iloc[n - 1])
            for n in (10, 100, 1000)
            if len(suggestions) >= n
        },  # fmt: skip
        "long_rows": json.loads(
            first.astype({"track_id": str, "tag": str, "evidence": str, "scorer": str}).to_json(orient="records")
        ),  # fmt: skip
        "rows": int(len(long)),
    }


# --- render ----------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{value * 100:+.1f} %".replace("-", "−")


def _rows(record: dict, table: str) -> dict:
    key = "method" if table == "table_1" else "scorer"
    return {row[key]: row for row in record[table]["rows"]}


def _bracketed(value: float, low, high, fmt: str = "{:.4f}") -> str:
    if low is None or high is None:
        return fmt.format(value)
    return f"{fmt.format(value)} [{fmt.format(low)}, {fmt.format(high)}]"


def _gain_sentence(row: dict, metric: str) -> str:
    """``+3.9 % [+2.1, +5.6]; the interval excludes zero``."""
    gain = row.get(f"{metric}_gain")
    low, high = row.get(f"{metric}_gain_low"), row.get(f"{metric}_gain_high")
    if low is None:
        return _pct(gain)
    verdict = "excludes zero" if (low > 0 or high < 0) else "includes zero"
    return f"{_pct(gain)} [{_pct(low)}, {_pct(high)}], its 95 % interval {verdict}"


def render_table_1(r: dict) -> str:
    rows = r["table_1"]["rows"]
    audio, hybrid = rows[0], rows[-1]
    lines = [
        "| method | ROC-AUC [95 % interval] | PR-AUC [95 % interval] | paper (MSD) ROC-AUC | paper PR-AUC |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        bold = "**" if row is hybrid else ""
        lines.append(
            f"| {row['method']} | {bold}{_bracketed(row['roc_auc'], row.get('roc_auc_low'), row.get('roc_auc_high'))}{bold} | "
            f"{bold}{_bracketed(row['pr_auc'], row.get('pr_auc_low'), row.get('pr_auc_high'))}{bold} | "
            f"{row['paper_msd_roc_auc']:.4f} | {row['paper_msd_pr_auc']:.4f} |"
        )
    paper_roc = hybrid["paper_msd_roc_auc"] / audio["paper_msd_roc_auc"] - 1
    paper_pr = hybrid["paper_msd_pr_auc"] / audio["paper_msd_pr_auc"] - 1
    extended = _rows(r, "extended_table")["hybrid"]
    lines += [
        "",
        f"The hybrid's gain over the audio tagger, over all {audio['tags_scored']} tags: ROC-AUC "
        f"{_gain_sentence(extended, 'roc_auc')}; PR-AUC {_gain_sentence(extended, 'pr_auc')}. The paper's on MSD was "
        f"{_pct(paper_roc)} and {_pct(paper_pr)}. Brackets: a paired bootstrap over the {audio['tracks_scored']} test "
        "tracks (the same resamples for every scorer, `evaluation.bootstrap`); a gain whose interval excludes zero is "
        "unlikely to be luck on these tracks, and on a drawn world it is still a direction, not a size.",
    ]
    return "\n".join(lines)


def render_catalogue(r: dict) -> str:
    """What the example catalogue's run delivered: the promise kept, the queue, the decisions."""
    c = r.get("catalogue")
    if not c:
        return "(no catalogue run collected: `kedro run --pipeline=hybrid --env catalogue`, then collect)"
    summary, expected = c["summary"], c["expectations"]
    classes = summary["classes"]
    promise = (
        f"at the target precision, **{expected['target_precision']:g} with {expected['confidence']:.0%} confidence**"
        if expected["rule"] == "certified"
        else "by each tag's F1-optimal threshold, **with no precision promise**"
    )
    lines = [
        f"`kedro run --pipeline=hybrid --env catalogue` on the example catalogue: **{sum(k['gained_a_tag'] for k in classes.values()):,}** "
        f"of {summary['tagged_tracks']:,} tracks with audio or plays gained a tag the crowd lacked, {promise} "
        f"({sum(k['untagged_given_a_tag'] for k in classes.values()):,} of the {sum(k['untagged'] for k in classes.values()):,} "
        f"without crowd tags). Crowd tags are incomplete, so a precision measured against them is a lower bound. "
        f"{summary['neither']['count']} track(s) had neither audio nor plays and are counted, not tagged. Each evidence "
        "class is tagged by the scorer best on validation; decisions and probabilities are fitted on the held-out "
        "labelled tracks and measured out of fold:",
        "",
        "| evidence | tracks | tagged by | test macro ROC-AUC | decided tags | decided precision (out of fold) | mean probability | ECE, all pairs |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for klass, e in expected["classes"].items():
        decided = [t for t in e.get("tags", []) if t["decided"]]
        roc = e.get("roc_auc_interval")
        lines.append(
            f"| {klass} | {classes[klass]['tracks']:,} | `{e['scorer']}` | "
            f"{_bracketed(e['roc_auc'], *(roc or (None, None)))} | {len(decided)} | "
            f"{_plain(e.get('decided_precision'))} | {_plain(e.get('decided_mean_probability'))} | "
            f"{_plain((e.get('ece_all_pairs') or {}).get('ece'), '{:.3f}')} |"
            if e.get("scorer") and "roc_auc" in e
            else f"| {klass} | {classes[klass]['tracks']:,} | none | – | 0 | – | – | – |"
        )
    reasons = "; ".join(f"{reason} {n}" for reason, n in c["reasons"].items())
    lines += ["", f"Undecided (class, tag) pairs, by reason: {reasons or 'none'}."]
    if c["queue"]:
        at = ", ".join(f"first {int(n):,}: {p:.2f}" for n, p in c["queue_at"].items())
        lines += [
            "",
            f"`tag_suggestions.csv`, the review queue ({c['queue_length']:,} suggestions by calibrated probability; "
            f"expected precision of taking the {at}):",
            "",
            "| rank | track_id | tag | probability | cumulative expected precision | the tag's expected precision [95 %] |",
            "|---:|---|---|---:|---:|---:|",
        ]
        for row in c["queue"]:
            lines.append(
                f"| {row['rank']} | `{row['track_id']}` | {row['tag']} | {row['probability']:.2f} | "
                f"{row['cumulative_expected_precision']:.2f} | "
                f"{_bracketed(row['expected_precision'], row['expected_precision_low'], row['expected_precision_high'], '{:.2f}')} |"
            )
    if c["long_rows"]:
        lines += [
            "",
            f"`catalogue_tags.parquet` ({c['rows']:,} rows, one per track and tag; an untagged track's most probable four):",
            "",
            "| track_id | tag | probability | decided | evidence | scorer | crowd_tagged |",
            "|---|---|---:|---|---|---|---|",
        ]
        for row in c["long_rows"]:
            decided = "–" if row["decided"] is None else str(bool(row["decided"])).lower()
            lines.append(
                f"| `{row['track_id']}` | {row['tag']} | {row['probability']:.3f} | {decided} | {row['evidence']} | "
                f"`{row['scorer']}` | {str(bool(row['crowd_tagged'])).lower()} |"
            )
    return "\n".join(lines)


def _plain(value, fmt: str = "{:.2f}") -> str:
    return "–" if value is None else fmt.format(value)


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
    lines = [
        "| scorer | method | ROC-AUC [95 %] | PR-AUC [95 %] | gain over VGG [95 %] | interval excludes zero |",
        "|---|---|---:|---:|---:|---|",
    ]
    for row in record["rows"]:
        gain, verdict = "", ""
        if row["scorer"] != "audio":
            gain = " / ".join(
                _bracketed(row[f"{m}_gain"], row.get(f"{m}_gain_low"), row.get(f"{m}_gain_high"), "{:+.1%}")
                for m in ("roc_auc", "pr_auc")
            )
            verdict = " / ".join(
                "?"
                if row.get(f"{m}_gain_excludes_zero") is None
                else ("yes" if row[f"{m}_gain_excludes_zero"] else "no")
                for m in ("roc_auc", "pr_auc")
            )
        bold = "**" if row["scorer"] == best else ""
        method = row["method"]
        lines.append(
            f"| `{row['scorer']}` | {method} | {bold}{_bracketed(row['roc_auc'], row.get('roc_auc_low'), row.get('roc_auc_high'))}{bold} | "
            f"{bold}{_bracketed(row['pr_auc'], row.get('pr_auc_low'), row.get('pr_auc_high'))}{bold} | {bold}{gain}{bold} | {verdict} |"
        )
    ratio = record["gain_vs_paper"]
    paper = record["paper_relative_gain"]
    best_row = _rows(r, "extended_table")[best]
    lines += [
        "",
        f"The paper's hybrid gained {_pct(paper['roc_auc'])} ROC-AUC and {_pct(paper['pr_auc'])} PR-AUC over VGG on MSD. "
        f"The fused scorer chosen on validation (the tagged catalogue's choice for tracks with audio and plays), "
        f"`{best}`, gains {ratio['roc_auc']:.1f}× and {ratio['pr_auc']:.1f}× that on the demo's test split: "
        f"ROC-AUC {_gain_sentence(best_row, 'roc_auc')}; PR-AUC {_gain_sentence(best_row, 'pr_auc')}.",
    ]
    return "\n".join(lines)


def _difference(r: dict, pair: str) -> str:
    """``: a difference of +0.0012 [−0.0030, +0.0051], interval includes zero`` (ROC-AUC)."""
    d = r.get("paired", {}).get(f"{pair}.roc_auc")
    if not d:
        return ""
    verdict = "excludes zero" if d["low"] > 0 or d["high"] < 0 else "includes zero: no difference shown"
    return f"; difference {d['difference']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}], its interval {verdict}"


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
            f"- The learned fusion with the MF classifier, per-tag weights on validation around a global listening weight "
            f"of {r['fusion_weights']:.2f}: `fusion_classifier` {ext['fusion_classifier']['roc_auc']:.4f} against the "
            f"paper's mean {ext['hybrid']['roc_auc']:.4f}{_difference(r, 'fusion_classifier-hybrid')}.",
            f"- Cold start (`cold_start.png`): {untouched} of {test_tracks} test tracks have no plays and keep their audio score. "
            f"With {few} plays the MF classifier scores {cold.loc[(few, 'mf_classifier'), 'roc_auc']:.3f} against audio "
            f"{cold.loc[(few, 'audio'), 'roc_auc']:.3f}, and `fusion_classifier` {cold.loc[(few, 'fusion_classifier'), 'roc_auc']:.3f}. "
            f"The top bin ({top} plays, {int(cold.loc[(top, 'audio'), 'tracks'])} tracks) is small and noisy.",
            *_from_audio_finding(r, ext, cold, bins[0]),
            f"- Playlists: of the labelled tracks among the nearest to each centroid, {playlists} carry the tag.",
        ]
    )


def _from_audio_finding(r: dict, ext: dict, cold: pd.DataFrame, unplayed: str) -> list[str]:
    """What listening predicted from audio gives a track nobody has played."""
    told = r.get("from_audio")
    if not told or "fusion_from_audio" not in ext:
        return []
    losses = told["listening"]["losses"]
    cosines = ", ".join(f"{k} {v['valid_mean_cosine']:.3f}" for k, v in losses.items())
    n = int(cold.loc[(unplayed, "audio"), "tracks"])
    on_unplayed = ""
    if (unplayed, "fusion_from_audio") in cold.index and n:
        on_unplayed = (
            f" On the {n} test tracks nobody played, {cold.loc[(unplayed, 'fusion_from_audio'), 'roc_auc']:.3f} "
            f"against audio {cold.loc[(unplayed, 'audio'), 'roc_auc']:.3f} (a small bin: see its interval in "
            "`cold_start.png`)."
        )
    return [
        f"- Listening predicted from audio (`fusion_from_audio`, every test track scored from its audio alone, its "
        f"plays never read): {ext['fusion_from_audio']['roc_auc']:.4f} ROC-AUC against VGG's "
        f"{ext['audio']['roc_auc']:.4f}{_difference(r, 'fusion_from_audio-audio')}. The network's validation "
        f"mean cosine to the true vectors: {cosines} (the mean vector alone: "
        f"{told['listening']['baseline_mean_vector_valid_cosine']:.3f}); the `{told['classifier']['loss']}` loss "
        f"was chosen on validation tags.{on_unplayed}"
    ]


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
        "msd.build_plays", "msd.track_metadata", "list_tracks",
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
        'column for real previews and the paper-scale VGG scales per-unit measurements ("est." marks an estimate).'
        + (f" {scale['note']}" if scale.get("note") else ""),
        "",
        "| stage | measured at the MSD shape (rehearsal) | for real 30-s previews and the paper-scale VGG | peak memory |",
        "|---|---|---|---|",
        f"| ingestion (48.4M triplets, 8.6M Last.fm rows, 1M tracks) | {seconds(*ingestion):.0f} s of node time; "
        f"`build_plays` {seconds('build_plays', 'msd.build_plays'):.0f} s | the same | "
        f"{peak('build_plays', 'msd.build_plays'):.1f} GB (`build_plays`) |",
        f"| log-mel features, 241,889 files | {seconds('extract_features') / 60:.1f} min (2-s clips) | about "
        f"{extraction_hours:.1f} h on 2 cores ({previews['ours_ms']:.0f} ms per 30-s preview per core, "
        f"`feature_extraction.md` at `{extraction['commit']}`) | {peak('extract_features'):.1f} GB main; workers small |",
        f"| VGG training | {seconds('train_tagger', 'train_vgg') / 60:.1f} min for one epoch of a small VGG | about 9 h per epoch on CPU "
        f"(6.2 samples/s, `training_throughput.md`): use a GPU | {peak('train_tagger', 'train_vgg'):.1f} GB (features read per chunk) |",
        f"| scoring every split track | {seconds('score_audio') / 60:.1f} min (small VGG) | hours on CPU (est.) | "
        f"{peak('score_audio'):.1f} GB (features read per chunk) |",
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
    """The sweep over demo worlds (benchmarks/results/sensitivity.*): each point's mean gain
    over its seeds with their range, and whether its default point reproduces this README's Table 1."""
    frame = pd.read_csv(BENCHMARKS / "sensitivity.csv")
    meta = json.loads((BENCHMARKS / "sensitivity.json").read_text())
    if "seed" not in frame:
        frame["seed"] = 0
    table_1 = {row["method"]: (row["roc_auc"], row["pr_auc"]) for row in r["table_1"]["rows"]}
    same = all(
        abs(a - b) < 5e-5 for m, pair in meta["default_table_1"].items() for a, b in zip(pair, table_1[m], strict=True)
    )
    columns = [f"{k}_{m}_gain" for k in ("hybrid", "best_fusion", "mf_classifier") for m in ("roc_auc", "pr_auc")]
    keyed = frame.assign(value=frame["value"].fillna(-1.0))
    grouped = keyed.groupby(["knob", "value"], sort=False)
    mean, low, high = grouped[columns].mean(), grouped[columns].min(), grouped[columns].max()
    vgg = grouped[["vgg_roc_auc", "vgg_pr_auc"]].mean()
    seeds = int(grouped["seed"].nunique().min())

    def cell(key, k: str) -> str:
        return " / ".join(
            f"{mean.loc[key, f'{k}_{m}_gain']:+.1%} [{100 * low.loc[key, f'{k}_{m}_gain']:+.1f}, "
            f"{100 * high.loc[key, f'{k}_{m}_gain']:+.1f}]"
            for m in ("roc_auc", "pr_auc")
        )

    lines = [
        "![The hybrid's gain over VGG across demo worlds](benchmarks/results/sensitivity.png)",
        "",
        f"`benchmarks/sensitivity.py` at `{meta['commit']}` ({meta['machine']}): {len(mean)} demo worlds, each "
        f"differing from the default in one knob, each run through the whole `hybrid` pipeline with {seeds} seeds "
        f"(the world's draw and the training seeds), {len(frame)} runs in {meta['seconds'] / 60:.0f} min. Gains are "
        "relative to VGG in the same world, ROC-AUC / PR-AUC, the mean over seeds with the lowest and highest "
        "seed's in brackets (points of percent):",
        "",
        "| knob | value | VGG | hybrid (mean) | best learned fusion | MF classifier |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for key in mean.index:
        knob, value = key
        lines.append(
            f"| {'—' if knob == 'default' else '`' + knob + '`'} | {'default' if knob == 'default' else f'{value:g}'} | "
            f"{vgg.loc[key, 'vgg_roc_auc']:.4f} / {vgg.loc[key, 'vgg_pr_auc']:.4f} | "
            + " | ".join(cell(key, k) for k in ("hybrid", "best_fusion", "mf_classifier"))
            + " |"
        )
    hybrid_roc, hybrid_pr = mean["hybrid_roc_auc_gain"], mean["hybrid_pr_auc_gain"]
    lines += [
        "",
        f"Across these worlds the paper's plain mean changes VGG's ROC-AUC by {hybrid_roc.min():+.1%} to "
        f"{hybrid_roc.max():+.1%} and its PR-AUC by {hybrid_pr.min():+.1%} to {hybrid_pr.max():+.1%} (means over "
        "seeds); a difference between two points within their seeds' ranges is the draw, not the knob. The default "
        "point's first seed "
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


def _scale_cells(name: str, rows: dict, later_rows: dict, base: str) -> str:
    """s / iteration and peak memory at the MSD shape, each with its ratio to BPR in the same run."""
    import numpy as np

    source, mark = (rows, "") if name in rows else (later_rows, "\\*")
    if name not in source or base not in source:
        return "not measured yet | not measured yet"

    def per(x: dict) -> float:
        return float(np.median([r["seconds_per_iteration"] for r in x["rounds"]]))

    x, b = source[name], source[base]
    return (
        f"{per(x):.1f} ({per(x) / per(b):.2f}×){mark} | "
        f"{x['peak_rss_mb'] / 1024:.1f} GB ({x['peak_rss_mb'] / b['peak_rss_mb']:.2f}×){mark}"
    )


def render_factorisers(r: dict) -> str:
    """Every registered factoriser at the MSD shape (benchmarks/results/factorisation.json)
    and on the demo (factorisers_demo.json), BPR the named baseline of both."""
    scale = json.loads((BENCHMARKS / "factorisation.json").read_text())
    demo = json.loads((BENCHMARKS / "factorisers_demo.json").read_text())
    rows = {x["factoriser"]: x for x in scale["results"]}
    base = scale["baseline"]
    lines = [
        f"At the MSD shape (`benchmarks/factorisation.py` at `{scale['commit']}`, {scale['machine']}: "
        f"{scale['plays']:,} drawn plays, {scale['users']:,} listeners, {scale['tracks']:,} tracks, "
        f"{scale['factors']} factors, {scale['threads']} threads), and on the demo (`benchmarks/factorisers_demo.py` "
        f"at `{demo['commit']}`, test split, ROC-AUC / PR-AUC):",
        "",
        "| `listening.model` | s / iteration (vs BPR) | peak memory (vs BPR) | demo MF-centroids | demo MF classifier | "
        "demo hybrid (mean) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    points = {p["factoriser"]: p["splits"]["test"] for p in demo["points"]}
    later = BENCHMARKS / "factorisation_warp.json"  # a factoriser measured later, beside BPR in its own run
    later = json.loads(later.read_text()) if later.is_file() else {"results": []}
    later_rows = {x["factoriser"]: x for x in later["results"]}
    for name in dict.fromkeys([*rows, *points]):
        m = points.get(name, {})
        cells = [f"{m[s]['roc_auc']:.4f} / {m[s]['pr_auc']:.4f}" if s in m else "–"
                 for s in ("mf", "mf_classifier", "hybrid")]  # fmt: skip
        lines.append(f"| `{name}`{' (default)' if name == base else ''} | {_scale_cells(name, rows, later_rows, base)} | "
                     + " | ".join(cells) + " |")  # fmt: skip
    if any(name not in rows for name in later_rows):
        lines += ["", f"\\* Measured later, beside BPR in its own run (`benchmarks/factorisation.py --out "
                  f"factorisation_warp` at `{later['commit']}`, {later['machine']}, {later['plays']:,} drawn plays, "
                  f"at most {later['max_rounds']} rounds each): its ratios are against that run's BPR."]  # fmt: skip

    def quality(m: dict) -> float:
        return (m["roc_auc"] + m["pr_auc"]) / 2

    valid = {p["factoriser"]: p["splits"]["valid"] for p in demo["points"]}
    best = max(valid, key=lambda k: max(quality(valid[k][s]) for s in ("mf", "mf_classifier", "hybrid")))
    lines += [
        "",
        f"On the demo's validation split `{best}` gives the best listening scores. The drawn plays say how fast and "
        "how large each factoriser is at the MSD's size, not how good its vectors would be on real listening.",
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
        "| `run` (`trained`) | the run's own audio model in its vocabulary (`kedro run --pipeline=hybrid` first): the "
        "VGG it trained (on the demo it learned synthesised audio) or its head on a pretrained embedding | its own "
        "validation, in `audio_model_training_history.csv` or the head's record | none |"
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
        f"The figures in these results blocks come from one run at `{r['commit']}` on "
        f"{r['machine']['cores']} cores ({r['machine']['cpu']}), collected {r['collected']} into "
        "`docs/results/demo.json` by `docs/readme_results.py`; a test checks that the pages and the file agree."
    )


def _benchmark_markdown(name: str) -> str | None:
    """A benchmark's own Markdown report, rendered from its results file by its ``markdown``
    (its title dropped), or ``None`` when it has not been run."""
    import importlib.util

    results = BENCHMARKS / f"{name}.json"
    if not results.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", PROJECT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = module.markdown(json.loads(results.read_text()))
    return "\n".join(line for line in text.splitlines() if not line.startswith("# ")).strip()


def render_heads(r: dict) -> str:
    """Heads on pretrained embeddings against the VGG trained here (benchmarks/results/heads.*)
    and the pretrained networks against this machine's limit (network_speed.*)."""
    parts = [_benchmark_markdown("heads") or "(not measured yet: `python benchmarks/heads.py`)"]
    speed = _benchmark_markdown("network_speed")
    if speed:
        parts += ["", "The networks' speed against this machine's limit (`benchmarks/network_speed.py`):", "", speed]
    return "\n".join(parts)


def render_tag_completion(r: dict, name: str = "tag_completion") -> str:
    """Every decision rule on tracks nobody tagged, over worlds (benchmarks/results/<name>.*)."""
    path = BENCHMARKS / f"{name}.json"
    if not path.is_file():
        return "(not measured yet: `python benchmarks/tag_completion.py`)"
    sys.path.insert(0, str(PROJECT / "benchmarks"))
    from tag_completion import _cell, _world_args, _world_words, noise_sentence, summary_table

    record = json.loads(path.read_text())
    table = summary_table(record)
    lines = [
        f"`benchmarks/tag_completion.py{_world_args(record)}` at `{record['commit']}` ({record['machine']}): the "
        f"example catalogue{_world_words(record)}, world "
        f"seeds {', '.join(map(str, record['seeds']))}, {' and '.join(f'{f:.0%}' for f in record['fractions'])} of its "
        "split tracks stripped of every crowd tag; each rule's decisions on those tracks against the removed tags "
        "(precision pooled over the decisions; crowd tags are incomplete, so it is a lower bound).",
        "",
        "| rule | target | worlds deciding | lowest precision | mean precision | decisions / track | correct / track | "
        "recall | lowest lift (≥ 10 decisions) | mean probability | largest probability − precision |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for t in table.itertuples():
        lines.append(
            f"| {t.rule} | {_cell(t.target if t.target >= 0 else None, '{:g}')} | {t.worlds_deciding} of {t.worlds} | "
            f"{_cell(t.min_precision)} | {_cell(t.mean_precision)} | {_cell(t.decisions_per_track, '{:.2f}')} | "
            f"{_cell(t.correct_per_track, '{:.2f}')} | {_cell(t.recall)} | {_cell(t.min_lift_10, '{:.1f}×')} | "
            f"{_cell(t.mean_probability)} | {_cell(t.largest_gap, '{:+.3f}')} |"
        )
    lines += ["", f"Random tagging at each tag's rate (the baseline): precision {table['random_precision'].mean():.3f}. "
              "The last column is the decided tags' mean calibrated probability minus their realised precision, "
              "in the world where the two differ most. "
              f"Every world's row, with intervals: [{name}.md](benchmarks/results/{name}.md)."]  # fmt: skip
    if noise_sentence(record):
        lines += ["", noise_sentence(record)]
    if name == "tag_completion" and (BENCHMARKS / "tag_completion_selection.json").is_file():
        chosen = json.loads((BENCHMARKS / "tag_completion_selection.json").read_text())
        lines += ["", f"The rule's margin, per-tag check and calibration steps were chosen on other worlds (seeds "
                  f"{', '.join(map(str, chosen['seeds']))}, measured at `{chosen['commit']}`): "
                  "[tag_completion_selection.md](benchmarks/results/tag_completion_selection.md); the worlds above "
                  "played no part in the choice."]  # fmt: skip
    return "\n".join(lines)


def render_tag_completion_short(r: dict) -> str:
    """One sentence for the README: does the certified rule hold its precision on fresh worlds?"""
    path = BENCHMARKS / "tag_completion.json"
    if not path.is_file():
        return "(not measured yet: `python benchmarks/tag_completion.py`)"
    record = json.loads(path.read_text())
    rows = [x for x in record["rows"] if x["rule"] == "certified"]
    parts = []
    for target in sorted({x["target"] for x in rows}):
        mine = [x for x in rows if x["target"] == target]
        deciding = [x for x in mine if x["precision"] is not None]
        if deciding:
            low = min(deciding, key=lambda x: x["precision"])
            n = round(low["decisions_per_track"] * low["hidden_tracks"])
            parts.append(
                f"at {target:g}, {len(deciding)} of {len(mine)} worlds decided, lowest precision {low['precision']:.3f} "
                f"(of {n:,} decision{'s' if n != 1 else ''})"
            )
        else:
            parts.append(f"at {target:g}, no world decided")
    text = (
        f"On {len({(x['seed'], x['fraction']) for x in rows})} fresh example worlds whose hidden tracks' tags were "
        f"removed (`benchmarks/tag_completion.py` at `{record['commit']}`): " + "; ".join(parts) + ". The example "
        "catalogue is small; where its labelled tracks cannot back a target, nothing is decided "
        "([why](docs/results.md#decisions-on-tracks-nobody-tagged))."
    )
    large = BENCHMARKS / "tag_completion_large.json"
    if large.is_file():
        text += " " + _certified_sentence(json.loads(large.read_text()))
    return text


def _certified_sentence(record: dict) -> str:
    """The certified rule at each target on a larger catalogue, in one sentence."""
    rows = [x for x in record["rows"] if x["rule"] == "certified"]
    parts = []
    for target in sorted({x["target"] for x in rows}):
        deciding = [x for x in rows if x["target"] == target and x["precision"] is not None]
        worlds = len([x for x in rows if x["target"] == target])
        if deciding:
            decided = sum(round(x["decisions_per_track"] * x["hidden_tracks"]) for x in deciding)
            parts.append(
                f"at {target:g}, {len(deciding)} of {worlds} decided ({decided:,} decisions), lowest precision "
                f"{min(x['precision'] for x in deciding):.3f}"
            )
        else:
            parts.append(f"at {target:g}, none decided")
    sizes = ", ".join(f"`{k}: {v}`" for k, v in (record.get("world") or {}).items())
    return (
        f"On a catalogue with more labelled tracks ({sizes}, `{record['commit']}`): " + "; ".join(parts) + "."
        if sizes
        else ""
    )


def _cold_start() -> tuple[dict, list[dict], object] | None:
    """The cold-start benchmark's record, its summary rows and its module, or ``None``."""
    path = BENCHMARKS / "cold_start.json"
    if not path.is_file():
        return None
    sys.path.insert(0, str(PROJECT / "benchmarks"))
    import cold_start

    record = json.loads(path.read_text())
    return record, cold_start.summary(record), cold_start


def render_cold_start(r: dict) -> str:
    """Listening for unplayed audio on tracks whose plays were withheld (benchmarks/results/cold_start.*)."""
    measured = _cold_start()
    if measured is None:
        return "(not measured yet: `python benchmarks/cold_start.py`)"
    record, _, cold_start = measured
    return cold_start.summary_markdown(record) + (
        "\n\nEvery seed's table, with intervals and PR-AUC differences: "
        "[cold_start.md](benchmarks/results/cold_start.md)."
    )


def render_cold_start_short(r: dict) -> str:
    """The README's sentence: does listening predicted from audio help tracks nobody played?"""
    measured = _cold_start()
    if measured is None:
        return "(not measured yet: `python benchmarks/cold_start.py`)"
    record, rows, _ = measured
    fused = [x for x in rows if x["scorer"] == "fusion_from_audio"]
    warm = {x["world"]: x for x in rows if x["scorer"].endswith("(with their plays)")}
    runs = sum(x["seeds"] for x in fused)
    above, below = sum(x["above"] for x in fused), sum(x["below"] for x in fused)

    def signed(value: float) -> str:
        return f"{round(value, 4) + 0.0:+.4f}"  # no -0.0000

    per_world = "; ".join(
        f"{x['world']} {signed(x['roc_auc_vs_audio'])} (`fusion_classifier` with their plays: "
        f"{signed(warm[x['world']]['roc_auc_vs_audio'])})"
        for x in fused
    )
    verdict = (
        "so listening predicted from audio does not reliably help tracks nobody has played yet"
        if above < runs
        else "so listening predicted from audio helps tracks nobody has played yet, in every run"
    )
    return (
        f"Tracks nobody has played (`benchmarks/cold_start.py` at `{record['commit']}`): with the plays of "
        f"{record['share']:.0%} of the test tracks withheld ({min(min(x['withheld']) for x in fused)} or more tracks "
        f"per run, {len(fused)} worlds × {fused[0]['seeds']} seeds), `fusion_from_audio` against the audio tagger "
        f"alone, mean paired ROC-AUC difference per world: {per_world}. Its 95 % interval lies above zero in {above} "
        f"of {runs} runs and below in {below}, {verdict} "
        "([details](docs/results.md#listening-for-tracks-nobody-played)). The worlds are drawn: a direction, not a "
        "size."
    )


RENDERERS = {
    "tag-completion": render_tag_completion,
    "tag-completion-large": lambda r: render_tag_completion(r, "tag_completion_large"),
    "tag-completion-short": render_tag_completion_short,
    "catalogue": render_catalogue,
    "heads": render_heads,
    "cold-start": render_cold_start,
    "cold-start-short": render_cold_start_short,
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
    "factorisers": render_factorisers,
    "sensitivity": render_sensitivity,
    "provenance": render_provenance,
}


def rendered_readme(readme: str, record: dict, page: str = "README.md") -> str:
    """``readme`` (a page) with every results block rendered from ``record``. Images are
    linked from the repository root; a page of ``docs/`` gets them relative to itself."""

    def fill(match: re.Match) -> str:
        name = match.group("name")
        if name not in RENDERERS:
            raise SystemExit(f"{page} has a results block {name!r} that nothing renders")
        body = RENDERERS[name](record)
        if page != "README.md":
            body = body.replace("](docs/images/", "](images/")  # benchmarks/results/ is served as it is
        return f"{match.group(1)}{body}\n{match.group(4)}"

    return BLOCK.sub(fill, readme)


def check(readme_path: Path | None = None, results_path: Path = RESULTS) -> list[str]:
    """Names of the blocks that differ from the results file (empty: they agree), as
    ``page:block`` for a docs page; of one page when ``readme_path`` is given."""
    record = json.loads(results_path.read_text())
    stale = []
    for path in [readme_path] if readme_path else pages():
        text = path.read_text(encoding="utf-8")
        expected = rendered_readme(text, record, path.name if path.parent != PROJECT else "README.md")
        have = {m.group("name"): m.group("body") for m in BLOCK.finditer(text)}
        want = {m.group("name"): m.group("body") for m in BLOCK.finditer(expected)}
        prefix = "" if path == README else f"{path.name}:"
        stale += [f"{prefix}{name}" for name in want if have.get(name) != want[name]]
    return sorted(stale)


def rendered_blocks() -> set[str]:
    """The names of the results blocks the pages hold."""
    return {m.group("name") for path in pages() for m in BLOCK.finditer(path.read_text(encoding="utf-8"))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("collect", "write", "check"))
    parser.add_argument("--data-root", default=str(PROJECT / "data"))
    parser.add_argument("--run", default="demo")
    parser.add_argument("--log", help="the run's log, for the per-node cost table")
    parser.add_argument("--catalogue-run", default="catalogue", help="the example catalogue's run (--env catalogue)")
    args = parser.parse_args(argv)
    if args.step == "collect":
        record = collect(Path(args.data_root), args.run, Path(args.log) if args.log else None, args.catalogue_run)
        for source, copy in FIGURES.items():
            figure = Path(args.data_root) / "08_reporting" / args.run / source
            (PROJECT / "docs" / "images" / copy).write_bytes(figure.read_bytes())
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {RESULTS.relative_to(PROJECT)} (commit {record['commit']})")
    elif args.step == "write":
        record = json.loads(RESULTS.read_text())
        for path in pages():
            text = path.read_text(encoding="utf-8")
            name = "README.md" if path == README else path.name
            if BLOCK.search(text):
                path.write_text(rendered_readme(text, record, name), encoding="utf-8")
                print(f"{path.relative_to(PROJECT)}: results blocks rewritten")
    else:
        stale = check()
        if stale:
            print(
                f"results blocks differ from {RESULTS.relative_to(PROJECT)}: {', '.join(stale)}; run: python docs/readme_results.py write"
            )
            return 1
        print("README.md and docs/ agree with the results file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
