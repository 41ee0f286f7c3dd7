"""The tagged catalogue: which scorer tags which track, where each tag's decision falls,
and the precision and recall to expect from it.

A track's evidence decides what can score it: ``audio+listening`` (audio and a listening
vector: the fused scorers), ``audio`` (audio only: the audio scorers) or ``listening``
(plays only: the listening scorers). For each class the scorer with the best validation
macro (ROC-AUC + PR-AUC) / 2 among those that can score it tags the class; each split's
tracks with what the class has stand in for it, their other evidence ignored (every
validation track with audio stands in for ``audio``, its plays hidden). The decisions and
the calibration of a class are fitted on its held-out labelled tracks, validation and test
together, and measured out of fold (:mod:`msd_tagging.catalogue.decisions`); the scorer's
ranking quality to expect is its test score; a prediction interval (a posterior predictive
from the out-of-fold counts) says what to expect on the class's untagged tracks. The
scorer is chosen on validation alone.

A leaf of the project's layers: numpy, pandas and :mod:`msd_tagging.core.metrics` only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from msd_tagging.core.metrics import bootstrap_macro, bootstrap_weights, interval, macro_quality, per_tag_metrics

EVIDENCE = ("audio+listening", "audio", "listening")
KIND = {"audio+listening": "fused", "audio": "audio", "listening": "listening"}  # the scorers a class takes

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
        {
            "track_id": ids.to_numpy(dtype=object),
            "split": split.to_numpy(dtype=object),
            "audio": audio,
            "listening": listening,
            "evidence": evidence,
        }
    )


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


def class_scores(selection: dict, evidence: pd.DataFrame, scores: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The chosen scores, keyed by evidence class: per class, its chosen scorer's scores of
    the tracks it tags (that evidence) and of the validation and test tracks that stand in
    for it. ``evidence, track_id, <tags>``; a track is in each class it is tagged by or
    stands in for. What the tagging and its figures read: the chooser is the one node
    that needs every scorer's table."""
    frames = []
    for klass in EVIDENCE:
        name = selection[klass]["chosen"]
        if name is None:
            continue
        own = evidence.loc[evidence["evidence"] == klass, "track_id"]
        ids = pd.Index(pd.concat([own, *(population(evidence, split, klass) for split in ("valid", "test"))]))
        ids = ids.drop_duplicates()
        table = scores[name].set_index("track_id").reindex(ids).drop(columns="evidence", errors="ignore")
        frames.append(table.reset_index(names="track_id").assign(evidence=klass))
    tags = [c for c in next(iter(scores.values())).columns if c != "track_id"]
    if not frames:
        return pd.DataFrame(columns=["evidence", "track_id", *tags])
    out = pd.concat(frames, ignore_index=True)[["evidence", "track_id", *tags]]
    out["evidence"] = pd.Categorical(out["evidence"], categories=EVIDENCE)
    return out


def scores_of(class_scores: pd.DataFrame, klass: str) -> pd.DataFrame:
    """One class's rows of :func:`class_scores`: ``track_id, <tags>``, as a scorer's table."""
    return class_scores.loc[class_scores["evidence"] == klass].drop(columns="evidence").reset_index(drop=True)


# --- the labelled pool and what to expect ----------------------------------------------


def labelled_pool(
    evidence: pd.DataFrame, klass: str, labels: pd.DataFrame, scores: pd.DataFrame
) -> tuple[pd.Series, pd.Series, np.ndarray, np.ndarray]:
    """The class's held-out labelled tracks, validation then test: ``(track_ids, split, y, s)``.
    No model was fitted on them; the decisions and the calibration are
    (:mod:`msd_tagging.catalogue.decisions`), out of fold."""
    parts = [stand_in(evidence, split, klass, labels, scores) for split in ("valid", "test")]
    ids = pd.concat([p[0] for p in parts], ignore_index=True)
    split = pd.Series(np.repeat(["valid", "test"], [len(p[0]) for p in parts]), dtype=object)
    width = len(labels.columns) - 1
    y = np.vstack([p[1] for p in parts]) if len(ids) else np.zeros((0, width), np.int8)
    s = np.vstack([p[2] for p in parts]) if len(ids) else np.zeros((0, width))
    return ids, split, y, s


def training_positives(evidence: pd.DataFrame, labels: pd.DataFrame) -> np.ndarray:
    """Positive training tracks per tag ``[tags]``, in the labels' tag order."""
    train = evidence.loc[evidence["split"] == "train", "track_id"]
    tags = [c for c in labels.columns if c != "track_id"]
    return labels.loc[labels["track_id"].isin(train), tags].to_numpy().sum(axis=0)


def test_quality(y: np.ndarray, s: np.ndarray, tags: list[str], bootstrap) -> dict:
    """Macro ROC-AUC and PR-AUC of a class's scorer on its test stand-ins, with bootstrap
    intervals (``bootstrap``: ``evaluation.bootstrap``): the ranking to expect."""
    out = {"test_tracks": int(len(y))}
    if not len(y):
        return out
    per_tag = per_tag_metrics(y, s, tags)
    kept = (per_tag["positives"].gt(0) & per_tag["negatives"].gt(0)).to_numpy()
    if not kept.any():
        return out
    out.update(roc_auc=float(per_tag.loc[kept, "roc_auc"].mean()), pr_auc=float(per_tag.loc[kept, "pr_auc"].mean()))
    if bootstrap.samples:
        weights = bootstrap_weights(len(y), bootstrap.samples, bootstrap.seed)
        point = (per_tag["roc_auc"].to_numpy(), per_tag["pr_auc"].to_numpy())
        roc, ap = bootstrap_macro(y, s, weights, tags_kept=kept, point=point)
        out.update(
            roc_auc_interval=list(interval(roc, bootstrap.confidence, centre=out["roc_auc"])),
            pr_auc_interval=list(interval(ap, bootstrap.confidence, centre=out["pr_auc"])),
        )
    return out


def predicted(tp, fp, fn, tn, n_new: int, rng: np.random.Generator, confidence: float, draws: int) -> dict:
    """Precision and recall intervals for ``n_new`` new tracks like the labelled ones: a
    posterior predictive. The tag's base rate, hit rate (recall) and false-alarm rate are
    drawn ``draws`` times from their Jeffreys posteriors given the out-of-fold counts
    (Beta(k + ½, n − k + ½)), then ``n_new`` tracks' positives, hits and false alarms
    binomially from each draw: the estimate's uncertainty and the draw of ``n_new`` tracks
    together, honest where a count is zero."""
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
