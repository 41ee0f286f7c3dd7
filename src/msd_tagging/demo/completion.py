"""The tag-completion check: are the precision and recall a run promised for its untagged
tracks the ones they get?

An example catalogue drawn with ``demo_data.untagged_fraction`` has a share of its split
tracks stripped of every crowd tag; the removed rows are written apart
(``hidden_tags.csv``), read by no pipeline. Those tracks are unlabelled, so the run tags
them like any untagged track and predicts, per evidence class and tag, the precision and
recall its decisions should show on that many untagged tracks
(``tagging_expectations.json``, from the out-of-fold counts of its labelled tracks). Here the decisions on the hidden tracks
(``catalogue_tags.parquet``) meet the removed tags: for every (class, tag) with at least
``min_positives`` hidden positives, do the measured precision and recall fall inside the
predicted intervals (a tag decided on no hidden track has no precision to compare; its
recall, zero, still is)? Used by ``tests/test_tagged_catalogue.py`` on a small world and by
``benchmarks/tag_completion.py`` on the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.readers.lastfm import normalise_tag


def hidden_labels(hidden: pd.DataFrame, vocabulary: list[str], threshold: float) -> pd.DataFrame:
    """The hidden tracks' true labels: ``track_id`` × vocabulary, positive above ``threshold``
    (the run's ``ingestion.tag_threshold``), spellings matched as ingestion does."""
    by_key = {normalise_tag(t): t for t in vocabulary}
    rows = hidden.assign(tag=hidden["tag"].map(lambda t: by_key.get(normalise_tag(str(t)))))
    positive = rows[rows["tag"].notna() & (rows["weight"].astype(float) > threshold)]
    table = pd.crosstab(positive["track_id"], positive["tag"]).clip(upper=1)
    ids = pd.Index(sorted(hidden["track_id"].unique()), name="track_id")
    return table.reindex(index=ids, columns=list(vocabulary), fill_value=0).astype(np.int8).reset_index()


def check(catalogue: pd.DataFrame, expectations: dict, truth: pd.DataFrame, min_positives: int = 5) -> pd.DataFrame:
    """Per (class, tag) with at least ``min_positives`` hidden positives: the hidden tracks'
    precision and recall against the truth, the intervals predicted for them, and whether
    each falls inside.

    Args:
        catalogue: ``catalogue_tags.parquet``; expectations: ``tagging_expectations.json``;
        truth: :func:`hidden_labels`.
    """
    mine = catalogue[catalogue["track_id"].astype(str).isin(truth["track_id"])]
    long = truth.melt(id_vars="track_id", var_name="tag", value_name="truth")
    merged = mine.assign(track_id=mine["track_id"].astype(str), tag=mine["tag"].astype(str)).merge(
        long, on=["track_id", "tag"]
    )
    rows = []
    for (klass, tag), group in merged.groupby(["evidence", "tag"], observed=True):
        positives = int(group["truth"].sum())
        predicted = _predicted(expectations, str(klass), tag)
        if positives < min_positives or predicted is None or group["decided"].isna().all():
            continue  # too few hidden positives to measure, or a tag left undecided (no promise made)
        decided = group["decided"].fillna(False).to_numpy(dtype=bool)
        truth_ = group["truth"].to_numpy(dtype=bool)
        tp = int((decided & truth_).sum())
        precision = tp / decided.sum() if decided.any() else np.nan
        recall = tp / positives
        p_low, p_high = predicted.get("predicted_precision_interval") or (np.nan, np.nan)
        r_low, r_high = predicted.get("predicted_recall_interval") or (np.nan, np.nan)
        rows.append(
            {
                "evidence": klass,
                "tag": tag,
                "hidden_tracks": int(len(group)),
                "hidden_positives": positives,
                "decided": int(decided.sum()),
                "precision": precision,
                "predicted_precision_low": p_low,
                "predicted_precision_high": p_high,
                "recall": recall,
                "predicted_recall_low": r_low,
                "predicted_recall_high": r_high,
                "expected_precision": predicted.get("expected_precision"),
                "expected_recall": predicted.get("expected_recall"),
            }
        )
    out = pd.DataFrame(rows)
    if len(out):
        for metric in ("precision", "recall"):
            low, high = out[f"predicted_{metric}_low"], out[f"predicted_{metric}_high"]
            out[f"{metric}_inside"] = (out[metric] >= low - 1e-12) & (out[metric] <= high + 1e-12)
        # No hidden track decided: no precision to compare (its recall, 0, still is).
        out["precision_inside"] |= out["precision"].isna()
        out["inside"] = out["precision_inside"] & out["recall_inside"]
    return out


def _predicted(expectations: dict, klass: str, tag: str) -> dict | None:
    for row in expectations["classes"].get(klass, {}).get("tags", []):
        if row["tag"] == tag and row.get("decided", True):
            return row
    return None


def run_check(
    raw_root: Path, model_output: Path, primary: Path, threshold: float, min_positives: int = 5
) -> pd.DataFrame:
    """:func:`check` from a run's folders (the raw catalogue's ``hidden_tags.csv``, the
    run's vocabulary, catalogue and expectations)."""
    hidden = pd.read_csv(raw_root / "hidden_tags.csv", dtype={"track_id": str, "tag": str})
    vocabulary = json.loads((primary / "vocabulary.json").read_text())
    truth = hidden_labels(hidden, vocabulary, threshold)
    catalogue = pd.read_parquet(model_output / "catalogue_tags.parquet")
    expectations = json.loads((model_output / "tagging_expectations.json").read_text())
    return check(catalogue, expectations, truth, min_positives)
