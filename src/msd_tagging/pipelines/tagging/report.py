"""The tagged catalogue's report, a Markdown page rendered from the run's outputs:
coverage by evidence class, what to expect per class and per tag, how many tracks
gained tags, a precision–recall figure and a handful of examples."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

FIGURE = "catalogue_precision_recall.png"  # beside the report (catalog: catalogue_precision_recall)


def cell(text: object) -> str:
    """User text (a tag, an artist, a title, a track ID) as one Markdown table cell: HTML
    escaped, ``|`` escaped so it cannot split the row, line breaks as spaces."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def code(text: object) -> str:
    """User text in a code span (track IDs): backticks cannot close it, ``|`` cannot split the row."""
    shown = str(text).replace("`", "'")
    return f"`{shown}`".replace("|", "\\|")


def _pct(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.0%}"


def _span(value, bounds) -> str:
    """``62% [55%, 70%]``, or the value alone."""
    if value is None or not np.isfinite(value):
        return "–"
    low, high = bounds if bounds else (None, None)
    if low is None or high is None or not np.isfinite(low):
        return _pct(value)
    return f"{_pct(value)} [{_pct(low)}, {_pct(high)}]"


def _range(bounds) -> str:
    """``[55%, 70%]``, or a dash."""
    if not bounds or bounds[0] is None or not np.isfinite(bounds[0]):
        return "–"
    return f"[{_pct(bounds[0])}, {_pct(bounds[1])}]"


def _score(value, bounds) -> str:
    if value is None:
        return "–"
    low, high = bounds if bounds else (None, None)
    return f"{value:.4f}" + (f" [{low:.4f}, {high:.4f}]" if low is not None and np.isfinite(low) else "")


def catalogue_report(
    catalogue_summary: dict,
    tagging_selection: dict,
    tagging_expectations: dict,
    tag_thresholds: pd.DataFrame,
) -> str:
    """The report a person reads (``catalogue_report.md``), rendered from the outputs. Every
    piece of user text in a table (tags, IDs, artists, titles) is escaped (:func:`cell`)."""
    lines = _opening(catalogue_summary, tagging_expectations)
    lines += _coverage(catalogue_summary, tagging_selection)
    lines += _expectations(tagging_expectations)
    lines += _per_tag(tagging_expectations, tag_thresholds)
    lines += ["## Precision and recall of a few tags", "", f"![Test precision–recall curves]({FIGURE})", ""]
    lines += _examples(catalogue_summary.get("examples", []))
    return "\n".join(lines) + "\n"


def _opening(summary: dict, expected: dict) -> list[str]:
    classes = summary["classes"].values()
    neither = summary["neither"]
    why = ", ".join(f"{k}: {v}" for k, v in neither["by_audio_status"].items())
    return [
        "# The tagged catalogue",
        "",
        f"**{summary['tagged_tracks']:,}** tracks with audio or plays are tagged "
        f"({sum(c['untagged'] for c in classes):,} of them had no crowd tag; "
        f"{sum(c['untagged_given_a_tag'] for c in classes):,} of those got at least one tag). "
        f"**{sum(c['gained_a_tag'] for c in classes):,}** tracks gained a tag the crowd's tags lacked "
        f"({sum(c['suggested_tags'] for c in classes):,} suggestions in `tag_suggestions.csv`).",
        "",
        f"{neither['count']:,} track(s) have neither audio nor plays and are not tagged"
        + (f" (audio status: {why})." if why else "."),
        "",
        f"Decisions: one threshold per class and tag, fitted on validation ({expected['threshold']}); "
        f"what to expect is measured on test, with {expected['confidence']:.0%} intervals of a bootstrap over "
        f"the test tracks ({expected['samples']} resamples). `predicted` is the range the class's untagged "
        "tracks should show: the estimate's uncertainty and the draw of that many new tracks together.",
        "",
    ]


def _coverage(summary: dict, selection: dict) -> list[str]:
    lines = [
        "## Coverage by evidence",
        "",
        "| evidence | tracks | crowd-tagged | untagged | tagged by (chosen on validation) | validation criterion | "
        "given a tag | untagged given a tag |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for klass, c in summary["classes"].items():
        choice = selection[klass]
        criterion = choice["validation"].get(choice["chosen"]) if choice["chosen"] else None
        lines.append(
            f"| {klass} | {c['tracks']:,} | {c['crowd_tagged']:,} | {c['untagged']:,} | "
            f"{('`' + choice['chosen'] + '`') if choice['chosen'] else 'none'} | "
            f"{'–' if criterion is None else f'{criterion:.4f}'} | {c['given_a_tag']:,} | {c['untagged_given_a_tag']:,} |"
        )
    lines += ["", "Candidates per class: fused scorers for audio+listening, audio scorers for audio, listening "
              "scorers for listening; each split's tracks with that evidence stand in for the class.", ""]  # fmt: skip
    return lines


def _expectations(expected: dict) -> list[str]:
    lines = [
        "## What to expect, per class (test)",
        "",
        "| evidence | scorer | test tracks | macro ROC-AUC | macro PR-AUC | untagged tracks |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for klass, e in expected["classes"].items():
        lines.append(
            f"| {klass} | {('`' + e['scorer'] + '`') if e['scorer'] else 'none'} | {e['test_tracks']:,} | "
            f"{_score(e.get('roc_auc'), e.get('roc_auc_interval'))} | {_score(e.get('pr_auc'), e.get('pr_auc_interval'))} "
            f"| {e['untagged_tracks']:,} |"
        )
    return [*lines, ""]


def _per_tag(expected: dict, thresholds: pd.DataFrame) -> list[str]:
    lines = ["## Per tag: the decisions' precision and recall", ""]
    for number, (klass, e) in enumerate(expected["classes"].items()):
        if not e.get("tags"):
            continue
        rules = thresholds[thresholds["evidence"] == klass].set_index("tag")
        table = [
            "| tag | threshold | valid positives | test positives | precision | recall | predicted precision | "
            "predicted recall |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in e["tags"]:
            rule = rules.loc[row["tag"]]
            threshold = "undecided" if not rule["decided"] else f"{rule['threshold']:.3f}"
            table.append(
                f"| {cell(row['tag'])} | {threshold} | {int(rule['positives'])} | {row['positives']} | "
                f"{_span(row['precision'], row.get('precision_interval'))} | "
                f"{_span(row['recall'], row.get('recall_interval'))} | "
                f"{_range(row.get('predicted_precision_interval'))} | {_range(row.get('predicted_recall_interval'))} |"
            )
        title = f"**{klass}** tracks, tagged by `{e['scorer']}`"
        if number == 0:
            lines += [title, "", *table, ""]
        else:
            lines += ["<details>", f"<summary>{title}</summary>", "", *table, "", "</details>", ""]
    undecided = thresholds[~thresholds["decided"]]
    if len(undecided):
        lines += [f"Undecided ({len(undecided)} class/tag pairs, never thresholded blindly): "
                  + "; ".join(f"{r.evidence}/{cell(r.tag)} ({cell(r.reason)})" for r in undecided.head(12).itertuples())
                  + ("; …" if len(undecided) > 12 else "") + ".", ""]  # fmt: skip
    return lines


def _examples(picked: list[dict]) -> list[str]:
    """The examples the summary drew (tracks without crowd tags, with their decided tags)."""
    if not picked:
        return []
    lines = [
        "## Examples: tracks without crowd tags",
        "",
        "| track | artist – title | evidence | decided tags | most probable |",
        "|---|---|---|---|---|",
    ]
    for row in picked:
        probable = ", ".join(f"{cell(tag)} {p:.2f}" for tag, p in row["probable"])
        lines.append(
            f"| {code(row['track_id'])} | {cell(row['artist'])} – {cell(row['title'])} | {row['evidence']} | "
            f"{'; '.join(cell(t) for t in row['decided'])} | {probable} |"
        )
    return [*lines, ""]
