"""The tagged catalogue's report, a Markdown page rendered from the run's outputs: how many
tracks gained a tag at the promised precision, coverage by evidence class, what to expect
per class (ranking, calibration) and per tag, the undecided tags by reason, the figures
(reliability, the review queue, precision–recall) and a handful of examples."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

FIGURES = {  # beside the report (the catalog's catalogue_reliability, catalogue_queue, catalogue_precision_recall)
    "Calibration: each class's probabilities against the share positive (out of fold)": "catalogue_reliability.png",
    "The review queue: expected precision of its first N": "catalogue_queue.png",
    "Test precision–recall of a few tags": "catalogue_precision_recall.png",
}


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


def report_markdown(
    catalogue_summary: dict,
    tagging_selection: dict,
    tagging_expectations: dict,
    tag_decisions: pd.DataFrame,
) -> str:
    """The report a person reads (``catalogue_report.md``), rendered from the outputs. Every
    piece of user text in a table (tags, IDs, artists, titles) is escaped (:func:`cell`)."""
    lines = _opening(catalogue_summary, tagging_expectations)
    lines += _coverage(catalogue_summary, tagging_selection)
    lines += _expectations(tagging_expectations)
    lines += _per_tag(tagging_expectations)
    lines += _undecided(tag_decisions)
    for title, figure in FIGURES.items():
        lines += [f"## {title}", "", f"![{title}]({figure})", ""]
    lines += _examples(catalogue_summary.get("examples", []))
    return "\n".join(lines) + "\n"


def _opening(summary: dict, expected: dict) -> list[str]:
    classes = summary["classes"].values()
    neither = summary["neither"]
    why = ", ".join(f"{k}: {v}" for k, v in neither["by_audio_status"].items())
    promise = (
        f"at the target precision: **{expected['target_precision']:g} with {expected['confidence']:.0%} confidence**"
        if expected["rule"] == "certified"
        else "by each tag's F1-optimal threshold, **which carries no precision promise**"
    )
    return [
        "# The tagged catalogue",
        "",
        f"**{sum(c['gained_a_tag'] for c in classes):,}** of {summary['tagged_tracks']:,} tracks with audio or plays "
        f"gained a tag the crowd lacked, {promise} ({sum(c['suggested_tags'] for c in classes):,} suggestions in the "
        f"`tag_suggestions.csv` queue); {sum(c['untagged_given_a_tag'] for c in classes):,} of the "
        f"{sum(c['untagged'] for c in classes):,} tracks without crowd tags got one. Crowd tags are incomplete: a "
        "suggestion the crowd lacks may still be right, so precision measured against them is a lower bound.",
        "",
        f"{neither['count']:,} track(s) have neither audio nor plays and are not tagged"
        + (f" (audio status: {why})." if why else "."),
        "",
        f"Decisions and probabilities are fitted per evidence class on {expected['fitted_on']}: each labelled "
        "track's figures below come from a fit that did not see it. Brackets are "
        f"{expected['interval_confidence']:.0%} intervals; `predicted` is the range the class's untagged tracks "
        "should show: the estimate's uncertainty and the draw of that many new tracks together.",
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
    lines += [
        "",
        "Candidates per class: fused scorers for audio+listening, audio scorers for audio, listening "
        "scorers for listening; each split's tracks with that evidence stand in for the class.",
        "",
    ]
    return lines


def _ece(entry: dict | None) -> str:
    if not entry or entry.get("ece") is None or not np.isfinite(entry["ece"]):
        return "–"
    return _score(entry["ece"], [entry.get("low"), entry.get("high")]).replace(".0000", ".000")


def _expectations(expected: dict) -> list[str]:
    lines = [
        "## What to expect, per class",
        "",
        "| evidence | scorer | labelled tracks | test macro ROC-AUC | test macro PR-AUC | decided tags | "
        "decided precision (out of fold) | ECE, all pairs | ECE, decided pairs | untagged tracks |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for klass, e in expected["classes"].items():
        decided = [t for t in e.get("tags", []) if t["decided"]]
        precision = e.get("decided_precision")
        lines.append(
            f"| {klass} | {('`' + e['scorer'] + '`') if e['scorer'] else 'none'} | {e['labelled_tracks']:,} | "
            f"{_score(e.get('roc_auc'), e.get('roc_auc_interval'))} | {_score(e.get('pr_auc'), e.get('pr_auc_interval'))} "
            f"| {len(decided)} | {_pct(precision)} (mean probability {_pct(e.get('decided_mean_probability'))}) | "
            f"{_ece(e.get('ece_all_pairs'))} | {_ece(e.get('ece_decided_pairs'))} | {e['untagged_tracks']:,} |"
        )
    return [*lines, "", "ECE: expected calibration error of the probabilities, out of fold (10 equal-mass bins).", ""]


def _per_tag(expected: dict) -> list[str]:
    lines = ["## Decided tags: the precision and recall to expect", ""]
    for number, (klass, e) in enumerate(expected["classes"].items()):
        decided = [t for t in e.get("tags", []) if t["decided"]]
        if not decided:
            continue
        table = [
            "| tag | from probability | labelled positives | decisions (out of fold) | expected precision | "
            "expected recall | lift (lower bound) | predicted precision | predicted recall |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in sorted(decided, key=lambda r: -(r["expected_precision"] or 0)):
            table.append(
                f"| {cell(row['tag'])} | {row['probability_threshold']:.2f} | {int(row['positives'])} | "
                f"{int(row['oof_decisions'])} | {_span(row['expected_precision'], [row['expected_precision_low'], row['expected_precision_high']])} | "
                f"{_span(row['expected_recall'], [row['expected_recall_low'], row['expected_recall_high']])} | "
                f"{_lift(row['lift_low'])} | "
                f"{_range(row.get('predicted_precision_interval'))} | {_range(row.get('predicted_recall_interval'))} |"
            )
        title = f"**{klass}** tracks, tagged by `{e['scorer']}`"
        if number == 0:
            lines += [title, "", *table, ""]
        else:
            lines += ["<details>", f"<summary>{title}</summary>", "", *table, "", "</details>", ""]
    if len(lines) == 2:
        return [*lines, "No tag is decided.", ""]
    return [
        *lines,
        "A tag with no out-of-fold decision of its own (its scores rarely reach the class's threshold) "
        "is expected at its class's precision, the hierarchical estimate's prior.",
        "",
    ]


def _lift(value) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1f}×"


def _undecided(decisions: pd.DataFrame) -> list[str]:
    """The undecided (class, tag) pairs by reason: no signal apart from too few labels."""
    undecided = decisions[~decisions["decided"]]
    if not len(undecided):
        return []
    lines = [f"## Undecided ({len(undecided)} class/tag pairs, never decided blindly)", ""]
    for reason, group in undecided.groupby("reason", sort=False):
        shown = "; ".join(
            f"{r.evidence}/{cell(r.tag)}"
            + (
                f" (needs about {int(r.needed_positives)} labelled positives, has {int(r.positives)})"
                if r.needed_positives
                else ""
            )
            for r in group.head(40).itertuples()
        )
        lines += [f"- **{cell(reason).capitalize()}** ({len(group)}): {shown}{'; …' if len(group) > 40 else ''}."]
    return [*lines, ""]


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
