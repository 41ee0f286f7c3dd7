"""The deliverable of a run: every track with evidence tagged, in three tables.

- ``catalogue_tags.parquet``, long: ``track_id, tag, probability, decided, evidence,
  scorer, crowd_tagged``. ``probability`` is calibrated per evidence class
  (:mod:`msd_tagging.catalogue.calibration`); ``decided`` is true or false, or missing
  where the tag is undecided on the track's class (``tag_decisions`` says why);
  ``crowd_tagged`` says whether the crowd's tags already had it.
- ``catalogue_top_tags.csv``, wide: each track's ``k`` most probable tags with their
  probabilities, and its decided tags.
- ``tag_suggestions.csv``, the review queue: the tags decided on tracks whose crowd tags
  lack them, across the catalogue by calibrated probability, with the expected precision
  of taking the queue's first N (the running mean of the probabilities) and each (class,
  tag)'s own expected precision (out of fold, shrunk).

Built per evidence class from score matrices, so the long table (19M rows at the MSD's
380k tracks) is assembled once, in columns, with categorical IDs and tags.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from msd_tagging.catalogue.calibration import apply, rank_of
from msd_tagging.catalogue.tagging import EVIDENCE


@dataclass
class ClassTags:
    """One evidence class's tracks with their probabilities, decisions and crowd labels."""

    klass: str
    scorer: str | None
    ids: np.ndarray  # [n] track IDs
    positions: np.ndarray  # [n] rows of the evidence table, to keep the catalogue's order
    probabilities: np.ndarray  # [n, tags] float32 calibrated, NaN without a scorer
    raw: np.ndarray  # [n, tags] float32 the scorer's own scores
    decided: np.ndarray  # [n, tags] int8: 1, 0, -1 undecided
    crowd: np.ndarray  # [n, tags] bool


def class_tags(
    selection: dict,
    decisions: pd.DataFrame,
    calibration: dict,
    evidence: pd.DataFrame,
    crowd_labels: pd.DataFrame,
    class_scores: pd.DataFrame,
    tags: list[str],
) -> list[ClassTags]:
    """Each evidence class's tracks scored by its chosen scorer (``class_scores``), their
    probabilities calibrated by the class's map and their tags decided by the class's
    thresholds."""
    crowd = crowd_labels.set_index("track_id")[tags]
    out = []
    for klass in EVIDENCE:
        positions = np.flatnonzero((evidence["evidence"] == klass).to_numpy())
        ids = evidence["track_id"].to_numpy()[positions]
        name = selection[klass]["chosen"]
        raw = np.full((len(ids), len(tags)), np.nan, dtype=np.float32)
        if name is not None:
            mine_scores = class_scores.loc[class_scores["evidence"] == klass].set_index("track_id")[tags]
            raw = mine_scores.reindex(pd.Index(ids)).to_numpy(dtype=np.float32)
        mine = calibration.get(klass)
        probabilities = apply(mine["map"], raw).astype(np.float32) if mine else np.full_like(raw, np.nan)
        rank = rank_of(mine["map"], raw) if mine else raw
        thresholds = decisions[decisions["evidence"] == klass].set_index("tag")["threshold"].reindex(tags)
        decided = _decide(rank, thresholds.to_numpy(dtype=np.float64))
        known = crowd.reindex(pd.Index(ids)).fillna(0).to_numpy(dtype=bool)
        out.append(ClassTags(klass, name, ids, positions, probabilities, raw, decided, known))
    return out


def _decide(rank: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Decisions ``[n, tags]`` on the calibrator's rank: 1 (tagged), 0 (not), -1 (the tag
    is undecided on this class, or the track has no score)."""
    with np.errstate(invalid="ignore"):
        decided = (rank >= thresholds[None, :]).astype(np.int8)
    decided[:, ~np.isfinite(thresholds)] = -1
    decided[np.isnan(rank)] = -1
    return decided


def long_table(parts: list[ClassTags], tags: list[str]) -> pd.DataFrame:
    """``catalogue_tags``: a row per (track, tag), tracks in the catalogue's order."""
    order = np.argsort(np.concatenate([p.positions for p in parts]), kind="stable")
    ids = np.concatenate([p.ids for p in parts])[order]
    probabilities = np.concatenate([p.probabilities for p in parts])[order]
    decided = np.concatenate([p.decided for p in parts])[order]
    crowd = np.concatenate([p.crowd for p in parts])[order]
    klass = np.concatenate([np.full(len(p.ids), i, dtype=np.int8) for i, p in enumerate(parts)])[order]
    scorer_names = sorted({p.scorer for p in parts if p.scorer})
    scorer = np.concatenate(
        [np.full(len(p.ids), scorer_names.index(p.scorer) if p.scorer else -1, dtype=np.int8) for p in parts]
    )[order]
    n, t = probabilities.shape
    flat = decided.reshape(-1)
    decisions = pd.array(flat == 1, dtype="boolean")
    decisions[flat == -1] = pd.NA
    return pd.DataFrame(
        {
            "track_id": pd.Categorical.from_codes(np.repeat(np.arange(n), t), categories=pd.Index(ids)),
            "tag": pd.Categorical.from_codes(np.tile(np.arange(t), n), categories=list(tags)),
            "probability": probabilities.reshape(-1),
            "decided": decisions,
            "evidence": pd.Categorical.from_codes(np.repeat(klass, t), categories=[p.klass for p in parts]),
            "scorer": pd.Categorical.from_codes(np.repeat(scorer, t), categories=scorer_names),
            "crowd_tagged": crowd.reshape(-1),
        }
    )


def top_tags(parts: list[ClassTags], tags: list[str], tracks: pd.DataFrame, k: int) -> pd.DataFrame:
    """``catalogue_top_tags``: per track, its ``k`` most probable tags and their
    probabilities, its decided tags, and its crowd tags."""
    k = min(k, len(tags))
    names = np.asarray(tags, dtype=object)
    meta = (
        tracks.drop_duplicates("track_id")
        .set_index("track_id")
        .reindex(pd.Index(np.concatenate([p.ids for p in parts])))
    )
    frames = []
    for p in parts:
        filled = np.where(np.isnan(p.probabilities), -np.inf, p.probabilities)
        best = np.argsort(-filled, axis=1, kind="stable")[:, :k]
        frame = pd.DataFrame({"track_id": p.ids, "evidence": p.klass, "scorer": p.scorer, "position": p.positions})
        for rank in range(k):
            column = best[:, rank]
            probability = p.probabilities[np.arange(len(p.ids)), column]
            frame[f"tag_{rank + 1}"] = np.where(np.isnan(probability), None, names[column])
            frame[f"probability_{rank + 1}"] = np.round(probability, 4)
        frame["decided_tags"] = _joined(p.decided == 1, names)
        frame["crowd_tags"] = _joined(p.crowd, names)
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True).sort_values("position", kind="stable").drop(columns="position")
    out.insert(1, "artist", meta["artist"].reindex(out["track_id"]).to_numpy() if "artist" in meta else None)
    out.insert(2, "title", meta["title"].reindex(out["track_id"]).to_numpy() if "title" in meta else None)
    return out.reset_index(drop=True)


def _joined(mask: np.ndarray, names: np.ndarray) -> list[str]:
    """Each row's tags where ``mask`` holds, ``"; "``-joined."""
    rows, cols = np.nonzero(mask)
    grouped = pd.Series(names[cols]).groupby(rows).agg("; ".join)
    return grouped.reindex(range(len(mask)), fill_value="").tolist()


def suggestions(
    parts: list[ClassTags], tags: list[str], tracks: pd.DataFrame, decisions: pd.DataFrame, per_track: int = 10
) -> pd.DataFrame:
    """``tag_suggestions``, the review queue: tags decided on tracks whose crowd tags lack
    them (at most ``per_track`` per track, its most probable), across the catalogue by
    calibrated probability (ties: by the score), with ``cumulative_expected_precision``,
    the running mean of the probabilities: what taking the queue's first N should give.
    Each row also carries its (class, tag)'s expected precision and recall (out of fold,
    shrunk). Tag, evidence and scorer columns are categorical, so millions of suggestions
    stay small in memory."""
    columns = ["expected_precision", "expected_precision_low", "expected_precision_high", "expected_recall"]
    keyed = decisions.set_index(["evidence", "tag"])[columns] if len(decisions) else None
    frames = []
    for p in parts:
        rows, cols = np.nonzero((p.decided == 1) & ~p.crowd)
        probability, raw = p.probabilities[rows, cols], p.raw[rows, cols]
        order = np.lexsort((-raw, -probability, rows))  # each track's most probable first
        rows, cols, probability, raw = rows[order], cols[order], probability[order], raw[order]
        starts = np.r_[0, np.flatnonzero(np.diff(rows)) + 1] if len(rows) else np.zeros(0, dtype=np.int64)
        within = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
        keep = within < per_track
        rows, cols = rows[keep], cols[keep]
        per_tag = (
            keyed.reindex(pd.MultiIndex.from_product([[p.klass], tags])).to_numpy(dtype=np.float64)
            if keyed is not None
            else np.full((len(tags), len(columns)), np.nan)
        )
        frame = pd.DataFrame(
            {
                "track_id": p.ids[rows],
                "tag": pd.Categorical.from_codes(cols, categories=list(tags)),
                "probability": probability[keep],
                "score": raw[keep],
                "evidence": p.klass,
                "scorer": p.scorer,
                "track_had_crowd_tags": p.crowd.any(axis=1)[rows],
            }
        )
        for j, c in enumerate(columns):
            frame[c] = per_tag[cols, j]
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    for c in ("tag", "evidence", "scorer"):
        out[c] = out[c].astype("category")
    meta = tracks.drop_duplicates("track_id").set_index("track_id")
    for c in ("artist", "title"):
        out[c] = out["track_id"].map(meta[c]) if c in meta else None
    out = out.sort_values(["probability", "score"], ascending=False, kind="stable").reset_index(drop=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out["cumulative_expected_precision"] = (out["probability"].astype(np.float64).cumsum() / out["rank"]).round(4)
    out["probability"] = out["probability"].round(4)
    first = [
        "rank",
        "track_id",
        "artist",
        "title",
        "tag",
        "probability",
        "cumulative_expected_precision",
        "expected_precision",
        "expected_precision_low",
        "expected_precision_high",
        "expected_recall",
    ]
    return out[first + [c for c in out.columns if c not in first]]


def examples(parts: list[ClassTags], tags: list[str], tracks: pd.DataFrame, k: int, n: int, seed: int) -> list[dict]:
    """Up to ``n`` tracks without crowd tags that got a decided tag, drawn with ``seed``,
    in catalogue order: ``track_id, artist, title, evidence, decided`` (tags) and
    ``probable`` (the ``k`` most probable ``[tag, probability]``)."""
    pool = [(p, row) for p in parts for row in np.flatnonzero(~p.crowd.any(axis=1) & (p.decided == 1).any(axis=1))]
    if not pool or not n:
        return []
    rng = np.random.default_rng(seed)
    picked = sorted(
        (pool[i] for i in rng.choice(len(pool), size=min(n, len(pool)), replace=False)),
        key=lambda item: int(item[0].positions[item[1]]),
    )
    meta = tracks.drop_duplicates("track_id").set_index("track_id")
    out = []
    for p, row in picked:
        track = p.ids[row]
        probabilities = np.where(np.isnan(p.probabilities[row]), -np.inf, p.probabilities[row])
        best = np.argsort(-probabilities, kind="stable")[: min(k, len(tags))]
        out.append(
            {
                "track_id": str(track),
                **{
                    c: (
                        str(meta.at[track, c])
                        if c in meta and track in meta.index and pd.notna(meta.at[track, c])
                        else ""
                    )
                    for c in ("artist", "title")
                },
                "evidence": p.klass,
                "decided": [tags[j] for j in np.flatnonzero(p.decided[row] == 1)],
                "probable": [
                    [tags[j], round(float(p.probabilities[row, j]), 4)] for j in best if np.isfinite(probabilities[j])
                ],
            }
        )
    return out


def summary(parts: list[ClassTags], evidence: pd.DataFrame, tracks: pd.DataFrame) -> dict:
    """Coverage and gains: per class, tracks, crowd-tagged ones, tracks given tags, tracks
    that gained a tag the crowd lacked; and the tracks with neither evidence, by why."""
    classes = {}
    for p in parts:
        tagged = (p.decided == 1).any(axis=1)
        untagged = ~p.crowd.any(axis=1)
        classes[p.klass] = {
            "tracks": int(len(p.ids)),
            "scorer": p.scorer,
            "crowd_tagged": int((~untagged).sum()),
            "untagged": int(untagged.sum()),
            "given_a_tag": int(tagged.sum()),
            "untagged_given_a_tag": int((tagged & untagged).sum()),
            "gained_a_tag": int(((p.decided == 1) & ~p.crowd).any(axis=1).sum()),
            "decided_tags": int((p.decided == 1).sum()),
            "suggested_tags": int(((p.decided == 1) & ~p.crowd).sum()),
        }
    neither = evidence.loc[evidence["evidence"] == "none", "track_id"]
    status = tracks.drop_duplicates("track_id").set_index("track_id").get("audio_status")
    why = status.reindex(neither).fillna("not in the tracks table") if status is not None else pd.Series(dtype=object)
    return {
        "tracks": int(len(evidence)),
        "tagged_tracks": int(sum(c["tracks"] for c in classes.values())),
        "classes": classes,
        "neither": {
            "count": int(len(neither)),
            "by_audio_status": {str(k): int(v) for k, v in why.value_counts().items()},
            "track_ids": neither.head(20).tolist(),
        },
    }
