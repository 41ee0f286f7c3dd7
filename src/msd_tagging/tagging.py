"""The tagged catalogue: which scorer tags which track, where each tag's decision falls,
and the precision and recall to expect from it.

A track's evidence decides what can score it: ``audio+listening`` (audio and a listening
vector: the fused scorers), ``audio`` (audio only: the audio scorers) or ``listening``
(plays only: the listening scorers). For each class the scorer with the best validation
macro (ROC-AUC + PR-AUC) / 2 among those that can score it tags the class; each split's
tracks with what the class has stand in for it, their other evidence ignored (every
validation track with audio stands in for ``audio``, its plays hidden). Per class and tag,
a threshold is fitted on validation (F1-optimal, or the lowest reaching a target
precision); the precision and recall it gives on test, with bootstrap intervals, are what
to expect, and a prediction interval (a posterior predictive from the test counts) says
what to expect on the class's untagged tracks. Fit on one split, apply to another, as scikit-learn's ``fit``/``predict``: nothing here
reads a test label to choose anything.

A leaf of the project's layers: numpy, pandas and :mod:`msd_tagging.metrics` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from msd_tagging.metrics import bootstrap_macro, bootstrap_weights, interval, macro_quality, per_tag_metrics

EVIDENCE = ("audio+listening", "audio", "listening")
KIND = {"audio+listening": "fused", "audio": "audio", "listening": "listening"}  # the scorers a class takes
SPLITS = ("train", "valid", "test")


# --- evidence and stand-ins ------------------------------------------------------------


def evidence_table(tracks: pd.DataFrame, track_vectors: pd.DataFrame, audio_scores: pd.DataFrame) -> pd.DataFrame:
    """One row per catalogue track: ``track_id, split, audio, listening, evidence``
    (``none`` for a track with neither audio scores nor a listening vector)."""
    warm = pd.Index(track_vectors.loc[~track_vectors["cold"], "track_id"])
    ids = pd.Index(tracks["track_id"])
    ids = ids.append(warm.difference(ids).sort_values())  # vectors of tracks the table lacks: none, but kept
    split = tracks.set_index("track_id")["split"].reindex(ids).fillna("none")
    audio = ids.isin(audio_scores["track_id"])
    listening = ids.isin(warm)
    evidence = np.select([audio & listening, audio, listening], EVIDENCE, default="none")
    return pd.DataFrame(
        {"track_id": ids.to_numpy(dtype=object), "split": split.to_numpy(dtype=object), "audio": audio,
         "listening": listening, "evidence": evidence}
    )  # fmt: skip


def population(evidence: pd.DataFrame, split: str, klass: str) -> pd.Series:
    """The tracks of ``split`` that stand in for evidence class ``klass``: those with what
    the class has (their other evidence, if any, is ignored)."""
    in_split = (evidence["split"] == split).to_numpy()
    has = {
        "audio+listening": evidence["audio"].to_numpy() & evidence["listening"].to_numpy(),
        "audio": evidence["audio"].to_numpy(),
        "listening": evidence["listening"].to_numpy(),
    }[klass]
    return evidence.loc[in_split & has, "track_id"].reset_index(drop=True)


def stand_in(
    evidence: pd.DataFrame, split: str, klass: str, labels: pd.DataFrame, scores: pd.DataFrame
) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """``(track_ids, y [n, tags], s [n, tags])`` of the ``split`` tracks standing in for
    ``klass`` that have labels and scores, in the labels' tag order."""
    tags = [c for c in labels.columns if c != "track_id"]
    ids = population(evidence, split, klass)
    truth = labels.set_index("track_id").reindex(pd.Index(ids))[tags]
    scored = scores.set_index("track_id").reindex(pd.Index(ids))[tags]
    keep = (truth.notna().all(axis=1) & scored.notna().all(axis=1)).to_numpy()
    return ids[keep].reset_index(drop=True), truth.to_numpy()[keep].astype(np.int8), scored.to_numpy()[keep]


# --- choosing on validation ------------------------------------------------------------


def choose(
    scores: dict[str, pd.DataFrame], kinds: dict[str, str], evidence: pd.DataFrame, labels: pd.DataFrame
) -> dict:
    """Per evidence class, each candidate scorer's validation criterion and the best one.

    Returns:
        ``{class: {"chosen": name, "criterion": ..., "validation": {name: criterion},
        "validation_tracks": n}}``; ``chosen`` is ``None`` for a class no scorer can score
        or no validation track stands in for.
    """
    out = {}
    for klass in EVIDENCE:
        quality, tracks = {}, 0
        for name, kind in kinds.items():
            if kind != KIND[klass] or name not in scores:
                continue
            ids, y, s = stand_in(evidence, "valid", klass, labels, scores[name])
            tracks = max(tracks, len(ids))
            if len(ids) and len(ids) == len(population(evidence, "valid", klass)):
                try:
                    quality[name] = macro_quality(y, s)
                except ValueError:  # no tag with both classes among these tracks
                    pass
        chosen = max(quality, key=quality.get) if quality else None
        out[klass] = {
            "chosen": chosen,
            "kind": KIND[klass],
            "criterion": "macro (ROC-AUC + PR-AUC) / 2 on validation",
            "validation": quality,
            "validation_tracks": int(tracks),
        }
    return out


# --- thresholds ------------------------------------------------------------------------


@dataclass(frozen=True)
class Threshold:
    """A tag's decision rule on one class: positive when the score is at least ``value``.

    Attributes:
        value: the threshold; ``None`` leaves the tag undecided.
        reason: why it is undecided ("" when decided).
        positives: the validation positives it was fitted on.
        precision, recall: what it gave on validation.
    """

    value: float | None
    reason: str
    positives: int
    precision: float | None = None
    recall: float | None = None


def fit_threshold(y: np.ndarray, s: np.ndarray, mode: str, target: float, min_positives: int) -> Threshold:
    """The decision threshold of one tag, fitted on validation labels ``y`` and scores ``s``.

    ``mode`` ``f1``: the threshold of highest F1 (ties: the highest threshold);
    ``precision``: the lowest threshold whose precision reaches ``target`` (the most recall
    at that precision). A tag with fewer than ``min_positives`` positives is undecided: a
    threshold fitted on a handful of tracks is a guess.
    """
    y = np.asarray(y).astype(bool)
    s = np.asarray(s, dtype=np.float64)
    positives = int(y.sum())
    if positives < min_positives:
        return Threshold(None, f"{positives} validation positive(s), fewer than tagging.min_positives={min_positives}",
                         positives)  # fmt: skip
    order = np.argsort(-s, kind="stable")
    ordered = s[order]
    ends = np.flatnonzero(np.append(np.diff(ordered) != 0, True))  # the last item of each run of equal scores
    tp = np.cumsum(y[order])[ends]
    decided = ends + 1
    precision, recall = tp / decided, tp / positives
    if mode == "f1":
        with np.errstate(invalid="ignore", divide="ignore"):
            f1 = np.where(tp > 0, 2 * precision * recall / (precision + recall), 0.0)
        best = int(np.argmax(f1))
    else:
        reaching = np.flatnonzero(precision >= target)
        if not len(reaching):
            return Threshold(None, f"no threshold reaches tagging.target_precision={target} on validation", positives)
        best = int(reaching[-1])
    return Threshold(float(ordered[ends[best]]), "", positives, float(precision[best]), float(recall[best]))


def class_thresholds(
    selection: dict,
    evidence: pd.DataFrame,
    labels: pd.DataFrame,
    scores: dict[str, pd.DataFrame],
    mode: str,
    target: float,
    min_positives: int,
) -> pd.DataFrame:
    """Every (class, tag) threshold, fitted on the class's validation stand-ins with its
    chosen scorer: ``evidence, scorer, tag, threshold, decided, reason, positives,
    valid_precision, valid_recall``. A tag no training track has positive is undecided:
    the models never saw it, whatever validation happens to show."""
    tags = [c for c in labels.columns if c != "track_id"]
    trained = training_positives(evidence, labels)
    rows = []
    for klass, choice in selection.items():
        name = choice["chosen"]
        if name is None:
            continue
        _, y, s = stand_in(evidence, "valid", klass, labels, scores[name])
        for j, tag in enumerate(tags):
            rule = (
                fit_threshold(y[:, j], s[:, j], mode, target, min_positives)
                if trained[j]
                else Threshold(None, UNSEEN, int(y[:, j].sum()))
            )
            rows.append(
                {"evidence": klass, "scorer": name, "tag": tag, "threshold": rule.value,
                 "decided": rule.value is not None, "reason": rule.reason, "positives": rule.positives,
                 "valid_precision": rule.precision, "valid_recall": rule.recall}
            )  # fmt: skip
    columns = ["evidence", "scorer", "tag", "threshold", "decided", "reason", "positives", "valid_precision",
               "valid_recall"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


UNSEEN = "no positive in the training split: the models never saw this tag"


def training_positives(evidence: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Positive training tracks per tag ``[tags]``, in the labels' tag order."""
    train = evidence.loc[evidence["split"] == "train", "track_id"]
    tags = [c for c in labels.columns if c != "track_id"]
    return labels.loc[labels["track_id"].isin(train), tags].to_numpy().sum(axis=0)


def threshold_vector(thresholds: pd.DataFrame, klass: str, tags: list[str]) -> np.ndarray:
    """The class's thresholds in ``tags`` order, NaN where a tag is undecided."""
    mine = thresholds[thresholds["evidence"] == klass].set_index("tag")["threshold"]
    return mine.reindex(tags).to_numpy(dtype=np.float64)


def decide(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Decisions ``[n, tags]``: 1 (tagged), 0 (not), -1 (the tag is undecided on this class)."""
    decided = (probabilities >= thresholds[None, :]).astype(np.int8)
    decided[:, np.isnan(thresholds)] = -1
    decided[np.isnan(probabilities)] = -1
    return decided


# --- what to expect --------------------------------------------------------------------


def decision_counts(y: np.ndarray, decided: np.ndarray, weights: np.ndarray | None) -> dict[str, np.ndarray]:
    """True positives, false positives, false negatives and true negatives per tag
    ``[tags]``, and per resample ``[tags, resamples]`` when ``weights`` ``[n, resamples]`` are given."""
    y, decided = np.asarray(y).astype(bool), np.asarray(decided).astype(bool)
    cells = {"tp": decided & y, "fp": decided & ~y, "fn": ~decided & y, "tn": ~decided & ~y}
    out = {k: v.sum(axis=0).astype(float) for k, v in cells.items()}
    if weights is not None:
        w = weights.astype(np.float32)
        out.update({f"{k}_boot": v.astype(np.float32).T @ w for k, v in cells.items()})
    return out


def expectations(
    y: np.ndarray,
    decided: np.ndarray,
    tags: list[str],
    weights: np.ndarray | None,
    confidence: float,
    n_new: int,
    seed: int,
    draws: int = 1000,
) -> list[dict]:
    """Per tag, the precision and recall the decisions give on these (test) tracks, with
    bootstrap intervals (``weights``), and a prediction interval for ``n_new`` new tracks
    like them.

    The prediction is a posterior predictive: the tag's base rate, hit rate (recall) and
    false-alarm rate are drawn ``draws`` times from their Jeffreys posteriors given the
    test counts (Beta(k + ½, n − k + ½)), then ``n_new`` tracks' positives, hits and false
    alarms binomially from each draw. It carries the estimate's uncertainty and the draw of
    ``n_new`` tracks, and stays honest where a count is zero (a tag no test track was
    decided on has no precision to promise, and its interval says so by its width).
    """
    counts = decision_counts(y, decided, weights)
    rng = np.random.default_rng(seed)
    rows = []
    for j, tag in enumerate(tags):
        tp, fp, fn, tn = (counts[k][j] for k in ("tp", "fp", "fn", "tn"))
        row = {
            "tag": tag,
            "positives": int(tp + fn),
            "decided_positive": int(tp + fp),
            "precision": tp / (tp + fp) if tp + fp else None,
            "recall": tp / (tp + fn) if tp + fn else None,
        }
        if weights is not None:
            btp, bfp, bfn = (counts[f"{k}_boot"][j].astype(np.float64) for k in ("tp", "fp", "fn"))
            with np.errstate(invalid="ignore", divide="ignore"):
                row["precision_interval"] = list(interval(btp / (btp + bfp), confidence))
                row["recall_interval"] = list(interval(btp / (btp + bfn), confidence))
        if n_new:
            row.update(_predicted(tp, fp, fn, tn, n_new, rng, confidence, draws))
        rows.append(row)
    return rows


def _predicted(tp, fp, fn, tn, n_new: int, rng: np.random.Generator, confidence: float, draws: int) -> dict:
    """Precision and recall intervals for ``n_new`` new tracks (see :func:`expectations`)."""
    base = rng.beta(tp + fn + 0.5, fp + tn + 0.5, size=draws)
    hit = rng.beta(tp + 0.5, fn + 0.5, size=draws)
    false_alarm = rng.beta(fp + 0.5, tn + 0.5, size=draws)
    positives = rng.binomial(n_new, base)
    hits = rng.binomial(positives, hit)
    alarms = rng.binomial(n_new - positives, false_alarm)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / (hits + alarms)
        recall = hits / positives
    return {
        "n_new": int(n_new),
        "predicted_precision_interval": list(interval(precision, confidence)),
        "predicted_recall_interval": list(interval(recall, confidence)),
    }


def class_expectation(
    klass: str,
    choice: dict,
    thresholds: pd.DataFrame,
    evidence: pd.DataFrame,
    labels: pd.DataFrame,
    scores: pd.DataFrame,
    bootstrap,
    n_new: int,
    seed: int,
) -> dict:
    """What the class's chosen scorer and thresholds give on its test stand-ins: macro
    ROC-AUC and PR-AUC with bootstrap intervals, and per tag precision and recall with
    bootstrap and prediction intervals (``bootstrap``: ``evaluation.bootstrap``)."""
    tags = [c for c in labels.columns if c != "track_id"]
    ids, y, s = stand_in(evidence, "test", klass, labels, scores)
    out = {"scorer": choice["chosen"], "test_tracks": int(len(ids)), "untagged_tracks": int(n_new)}
    if not len(ids):
        return {**out, "tags": []}
    weights = bootstrap_weights(len(ids), bootstrap.samples, bootstrap.seed) if bootstrap.samples else None
    per_tag = per_tag_metrics(y, s, tags)
    kept = (per_tag["positives"].gt(0) & per_tag["negatives"].gt(0)).to_numpy()
    out.update(roc_auc=float(per_tag.loc[kept, "roc_auc"].mean()), pr_auc=float(per_tag.loc[kept, "pr_auc"].mean()))
    if weights is not None and kept.any():
        point = (per_tag["roc_auc"].to_numpy(), per_tag["pr_auc"].to_numpy())
        roc, ap = bootstrap_macro(y, s, weights, tags_kept=kept, point=point)
        out.update(roc_auc_interval=list(interval(roc, bootstrap.confidence, centre=out["roc_auc"])),
                   pr_auc_interval=list(interval(ap, bootstrap.confidence, centre=out["pr_auc"])))  # fmt: skip
    decided = decide(s, threshold_vector(thresholds, klass, tags))
    rows = expectations(y, decided == 1, tags, weights, bootstrap.confidence, n_new, seed, bootstrap.samples or 1000)
    for row, undecided in zip(rows, (decided == -1).all(axis=0), strict=True):
        row["decided"] = not bool(undecided)
    out["tags"] = rows
    return out


def expectation_table(expected: dict) -> pd.DataFrame:
    """The per-tag expectations of every class as one long table (a row per class and tag)."""
    rows = []
    for klass, e in expected["classes"].items():
        for row in e.get("tags", []):
            flat = {"evidence": klass, "scorer": e["scorer"], **{k: v for k, v in row.items() if "interval" not in k}}
            for key in ("precision_interval", "recall_interval", "predicted_precision_interval",
                        "predicted_recall_interval"):  # fmt: skip
                low, high = row.get(key) or (None, None)
                flat[key.replace("_interval", "_low")], flat[key.replace("_interval", "_high")] = low, high
            rows.append(flat)
    return pd.DataFrame(rows)
