"""Nodes of the tagged catalogue: evidence, the choice of scorer per class, the decisions
and probabilities fitted on the held-out labelled tracks, the deliverable tables, the
figures and the report a person reads."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging.catalogue import deliverable as tagged_catalogue
from msd_tagging.catalogue import tagging
from msd_tagging.catalogue.calibration import ece_interval, reliability
from msd_tagging.catalogue.decisions import NO_PROMISE, REASONS, ClassDecisions
from msd_tagging.params import EvaluationParams, FiguresParams, TaggingParams
from msd_tagging.pipelines.tagging.report import report_markdown
from msd_tagging.scoring.scorers import Scorer
from msd_tagging.scoring.scores import tag_columns

logger = logging.getLogger(__name__)
ECE_SAMPLES = 200  # bootstrap resamples of the calibration error's interval (a pass over the pairs each)


def _scores(named: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """``{scorer: scores}`` from the nodes' ``{scorer}_scores`` keyword arguments."""
    return {key.removesuffix("_scores"): frame for key, frame in named.items()}


def track_evidence(tracks: pd.DataFrame, track_vectors: pd.DataFrame, audio_scores: pd.DataFrame) -> pd.DataFrame:
    """Every catalogue track's evidence class: ``audio+listening``, ``audio``, ``listening`` or ``none``."""
    evidence = tagging.evidence_table(tracks, track_vectors, audio_scores)
    counts = evidence["evidence"].value_counts()
    logger.info(
        "Evidence over %d catalogue tracks: %s.",
        len(evidence),
        ", ".join(f"{k} {int(counts.get(k, 0))}" for k in (*tagging.EVIDENCE, "none")),
    )
    return evidence


def selection_for(scorers: tuple[Scorer, ...]):
    """The ``choose_scorers`` node for the scorer declaration ``scorers`` (their kinds)."""
    kinds = {s.name: s.kind for s in scorers}

    def choose_scorers(
        track_evidence: pd.DataFrame, tag_labels: pd.DataFrame, **scores: pd.DataFrame
    ) -> tuple[dict, pd.DataFrame]:
        """Per evidence class, the scorer with the best validation criterion among those
        that can score it (fused for audio+listening, audio for audio, listening for
        listening), and its scores keyed by class (``class_scores``): the later tagging
        nodes read those alone."""
        scores = _scores(scores)
        selection = tagging.choose(scores, kinds, track_evidence, tag_labels)
        for klass, choice in selection.items():
            shown = ", ".join(f"{n} {q:.4f}" for n, q in sorted(choice["validation"].items(), key=lambda x: -x[1]))
            logger.info("Tagging %s tracks with %s (validation: %s).", klass, choice["chosen"], shown or "none")
        return selection, tagging.class_scores(selection, track_evidence, scores)

    return choose_scorers


def fit_decisions(
    tagging_selection: dict,
    track_evidence: pd.DataFrame,
    tag_labels: pd.DataFrame,
    crowd_labels: pd.DataFrame,
    params: TaggingParams,
    evaluation: EvaluationParams,
    class_scores: pd.DataFrame,
) -> tuple[pd.DataFrame, dict, dict]:
    """Per evidence class, on its held-out labelled tracks (validation and test): the
    calibration, the decision rule (``tagging.threshold``) and what to expect, out of fold.

    Returns:
        ``tag_decisions`` (a row per class and tag: its threshold or why it is undecided,
        and the precision and recall to expect), ``tag_calibration`` (the class's map and
        certified threshold) and ``tagging_expectations`` (per class, what the report reads).
    """
    tags = tag_columns(tag_labels)
    trained = tagging.training_positives(track_evidence, tag_labels) > 0
    untagged = _untagged_outside_splits(track_evidence, crowd_labels, tags)
    rng = np.random.default_rng(params.seed)
    frames, calibration, classes = [], {}, {}
    for klass, choice in tagging_selection.items():
        name = choice["chosen"]
        empty = {"scorer": name, "labelled_tracks": 0, "untagged_tracks": int(untagged[klass]), "tags": []}
        if name is None:
            classes[klass] = empty
            continue
        ids, split, y, s = tagging.labelled_pool(
            track_evidence, klass, tag_labels, tagging.scores_of(class_scores, klass)
        )
        if not len(ids):
            classes[klass] = empty
            continue
        fitted = ClassDecisions(params.rule).fit(y, s, trained)
        frames.append(_decision_rows(klass, name, tags, fitted, evaluation.bootstrap.confidence))
        calibration[klass] = _calibration_record(name, fitted, params)
        test = (split == "test").to_numpy()
        classes[klass] = {
            "scorer": name,
            "labelled_tracks": int(len(ids)),
            "untagged_tracks": int(untagged[klass]),
            **tagging.test_quality(y[test], s[test], tags, evaluation.bootstrap),
            **_calibration_quality(fitted, y, evaluation, params.seed),
            "tags": _tag_rows(frames[-1], fitted, y, int(untagged[klass]), rng, evaluation),
        }
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=DECISION_COLUMNS)
    _log_decisions(table, params)
    expected = {
        "fitted_on": "the held-out labelled tracks (validation and test), measured out of fold",
        "rule": params.threshold,
        "promise": _promise(params),
        "target_precision": params.target_precision,
        "confidence": 1 - params.delta,
        "interval_confidence": evaluation.bootstrap.confidence,
        "classes": classes,
    }
    return table, calibration, expected


DECISION_COLUMNS = ["evidence", "scorer", "tag", "decided", "threshold", "probability_threshold", "reason",
                    "needed_positives", "positives", "base_rate", "lift_low", "oof_decisions", "oof_correct",
                    "expected_precision", "expected_precision_low", "expected_precision_high", "expected_recall",
                    "expected_recall_low", "expected_recall_high", "promise"]  # fmt: skip


def _promise(params: TaggingParams) -> str:
    if params.threshold == "f1":
        return NO_PROMISE
    return f"precision at least {params.target_precision:g} with {1 - params.delta:.0%} confidence"


def _decision_rows(klass: str, name: str, tags: list[str], fitted: ClassDecisions, confidence: float) -> pd.DataFrame:
    """``tag_decisions``' rows of one class."""
    expected = fitted.expected(confidence)
    decided = np.isfinite(fitted.thresholds_)
    return pd.DataFrame(
        {
            "evidence": klass,
            "scorer": name,
            "tag": tags,
            "decided": decided,
            "threshold": fitted.thresholds_,
            "probability_threshold": fitted.probability_at(fitted.thresholds_),
            "reason": [REASONS.get(r, "") for r in fitted.reasons_],
            "needed_positives": fitted.needed_,
            "positives": fitted.positives_,
            "base_rate": fitted.base_rate_,
            "lift_low": fitted.lift_low_,
            "oof_decisions": fitted.decisions_,
            "oof_correct": fitted.correct_,
            **{f"expected_{k}": v for k, v in expected.items()},
            "promise": np.where(decided, NO_PROMISE if fitted.settings.rule == "f1" else "certified", ""),
        }
    )[DECISION_COLUMNS]


def _calibration_record(name: str, fitted: ClassDecisions, params: TaggingParams) -> dict:
    certified = fitted.certified_
    return {
        "scorer": name,
        "map": fitted.calibrator_.describe(),
        "rule": params.threshold,
        "certified": None
        if certified is None
        else {
            "threshold": None if not np.isfinite(certified.threshold) else certified.threshold,
            "decisions": certified.decisions,
            "correct": certified.correct,
            "thresholds_tested": certified.tested,
            "first_decisions": fitted.settings.first,
        },
    }


def _calibration_quality(fitted: ClassDecisions, y: np.ndarray, evaluation: EvaluationParams, seed: int) -> dict:
    """The calibration error of the out-of-fold probabilities, all pairs and the decided
    ones, with bootstrap intervals over tracks, and the reliability diagram's points."""
    confidence, samples = evaluation.bootstrap.confidence, min(evaluation.bootstrap.samples, ECE_SAMPLES)
    p, every = fitted.oof_probability_, np.ones(y.shape, dtype=bool)
    return {
        "ece_all_pairs": ece_interval(p, y, every, samples, seed, confidence),
        "ece_decided_pairs": ece_interval(p, y, fitted.oof_decided_, samples, seed, confidence),
        "reliability": reliability(p[np.isfinite(p)], y[np.isfinite(p)]),
        "decided_mean_probability": float(np.nanmean(p[fitted.oof_decided_])) if fitted.oof_decided_.any() else None,
        "decided_precision": float(y[fitted.oof_decided_].mean()) if fitted.oof_decided_.any() else None,
    }


def _tag_rows(table: pd.DataFrame, fitted, y: np.ndarray, n_new: int, rng, evaluation: EvaluationParams) -> list[dict]:
    """Per tag, what the report shows: the table's row, and the range its untagged tracks
    should show (a posterior predictive from the out-of-fold counts)."""
    rows = []
    n = len(y)
    for j, row in enumerate(table.to_dict("records")):
        tp = int(fitted.correct_[j])
        fp, fn = int(fitted.decisions_[j]) - tp, int(fitted.positives_[j]) - tp
        extra = tagging.predicted(tp, fp, fn, n - tp - fp - fn, n_new, rng, evaluation.bootstrap.confidence, 1000)
        rows.append(
            {k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in {**row, **extra}.items()}
        )
    return rows


def _untagged_outside_splits(evidence: pd.DataFrame, crowd_labels: pd.DataFrame, tags: list[str]) -> dict[str, int]:
    """Per class, its tracks outside the splits without a crowd tag: the untagged tracks
    the decisions are for."""
    crowd = crowd_labels.set_index("track_id")[tags].sum(axis=1) > 0
    untagged = ~evidence["track_id"].map(crowd).fillna(False).to_numpy(dtype=bool)
    outside = (evidence["split"] == "none").to_numpy()
    return {k: int((outside & untagged & (evidence["evidence"] == k).to_numpy()).sum()) for k in tagging.EVIDENCE}


def _log_decisions(table: pd.DataFrame, params: TaggingParams) -> None:
    decided = table[table["decided"]]
    logger.info(
        "Decisions (%s): %d of %d (class, tag) pairs decided, %s.",
        _promise(params),
        len(decided),
        len(table),
        "; ".join(f"{reason}: {n}" for reason, n in table.loc[~table["decided"], "reason"].value_counts().items())
        or "none undecided",
    )


def tag_catalogue(
    tagging_selection: dict,
    tag_decisions: pd.DataFrame,
    tag_calibration: dict,
    track_evidence: pd.DataFrame,
    crowd_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    params: TaggingParams,
    class_scores: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """The deliverable: ``catalogue_tags`` (long; calibrated probabilities),
    ``catalogue_top_tags`` (wide), the ``tag_suggestions`` review queue, and the coverage
    summary the report reads."""
    tags = tag_columns(crowd_labels)
    parts = tagged_catalogue.class_tags(
        tagging_selection, tag_decisions, tag_calibration, track_evidence, crowd_labels, class_scores, tags
    )
    summary = tagged_catalogue.summary(parts, track_evidence, tracks)
    summary.update(
        rule=params.threshold,
        promise=_promise(params),
        target_precision=params.target_precision,
        confidence=1 - params.delta,
        gained_a_tag=sum(c["gained_a_tag"] for c in summary["classes"].values()),
        note="crowd tags are incomplete: a decided tag the crowd lacks may still be right, so a precision measured "
        "against them is a lower bound",
    )
    summary["examples"] = tagged_catalogue.examples(parts, tags, tracks, params.top_k, params.examples, params.seed)
    untagged = sum(c["untagged"] for c in summary["classes"].values())
    logger.info(
        "Tagged %d tracks: %d gained a tag the crowd lacked (%s; crowd tags are incomplete, so precision measured "
        "against them is a lower bound); %d of the %d without crowd tags got one; %d with neither audio nor plays "
        "are not tagged.",
        summary["tagged_tracks"],
        sum(c["gained_a_tag"] for c in summary["classes"].values()),
        _promise(params),
        sum(c["untagged_given_a_tag"] for c in summary["classes"].values()),
        untagged,
        summary["neither"]["count"],
    )
    return (
        tagged_catalogue.long_table(parts, tags),
        tagged_catalogue.top_tags(parts, tags, tracks, params.top_k),
        tagged_catalogue.suggestions(parts, tags, tracks, tag_decisions, params.suggestions_per_track),
        summary,
    )


def catalogue_report(
    catalogue_summary: dict,
    tagging_selection: dict,
    tagging_expectations: dict,
    tag_decisions: pd.DataFrame,
    tag_suggestions: pd.DataFrame,
    track_evidence: pd.DataFrame,
    tag_labels: pd.DataFrame,
    params: TaggingParams,
    figures: FiguresParams,
    class_scores: pd.DataFrame,
):
    """The report a person reads: its text (:func:`~.report.report_markdown`) and the three
    figures it shows: test precision–recall curves of a few tags (``tagging.figure_tags``)
    with their thresholds, the reliability diagram of each class's probabilities (out of
    fold), and the review queue's expected precision against its length, with the target."""
    text = report_markdown(catalogue_summary, tagging_selection, tagging_expectations, tag_decisions)
    import matplotlib

    matplotlib.use("Agg")
    from msd_tagging.core.figures import with_note

    curves = _precision_recall(tagging_selection, tag_decisions, track_evidence, tag_labels, params, class_scores)
    return (
        text,
        with_note(curves, figures.note),
        with_note(_reliability(tagging_expectations), figures.note),
        with_note(_queue(tag_suggestions, tagging_expectations), figures.note),
    )


def _precision_recall(selection, decisions, evidence, labels, params, scores):
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    klass = next((k for k in tagging.EVIDENCE if selection[k]["chosen"]), tagging.EVIDENCE[0])
    name = selection[klass]["chosen"]
    tags = tag_columns(labels)
    shown = [t for t in params.figure_tags if t in tags] or tags[:4]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if name is not None:
        _, y, s = tagging.stand_in(evidence, "test", klass, labels, tagging.scores_of(scores, klass))
        mine = decisions[decisions["evidence"] == klass].set_index("tag")["threshold"]
        for tag in shown:
            j = tags.index(tag)
            if not y[:, j].any():
                continue
            precision, recall, _ = precision_recall_curve(y[:, j], s[:, j])
            (line,) = ax.plot(recall, precision, label=f"{tag} ({int(y[:, j].sum())} positives)", linewidth=1.2)
            if np.isfinite(mine.get(tag, np.nan)):
                decided = s[:, j] >= mine[tag]
                tp = int((decided & (y[:, j] == 1)).sum())
                ax.plot(tp / y[:, j].sum(), tp / max(int(decided.sum()), 1), "o", color=line.get_color())
    if params.threshold == "certified":
        ax.axhline(params.target_precision, color="grey", linestyle=":", linewidth=1, label="target precision")
    ax.set(
        xlabel="recall",
        ylabel="precision",
        xlim=(0, 1),
        ylim=(0, 1.02),
        title=f"Test precision–recall, {klass} tracks ({name})\n(dots: decided tags' thresholds)",
    )
    ax.title.set_size(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _reliability(expected: dict):
    import matplotlib.pyplot as plt

    classes = [(k, c) for k, c in expected["classes"].items() if c.get("reliability")]
    fig, axes = plt.subplots(1, max(len(classes), 1), figsize=(3.6 * max(len(classes), 1), 3.6), squeeze=False)
    for ax, (klass, c) in zip(axes[0], classes, strict=False):
        points = c["reliability"]
        ax.plot([0, 1], [0, 1], color="grey", linewidth=0.8, linestyle=":")
        ax.plot([p["predicted"] for p in points], [p["observed"] for p in points], "o-", markersize=4)
        e = c["ece_all_pairs"]
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="calibrated probability",
            ylabel="share positive",
            title=f"{klass} ({c['scorer']})\nECE {e['ece']:.3f}, {e['pairs']:,} pairs out of fold",
        )
        ax.title.set_size(8)
    fig.tight_layout()
    return fig


def _queue(queue: pd.DataFrame, expected: dict):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    if len(queue):
        ax.plot(
            queue["rank"],
            queue["cumulative_expected_precision"],
            linewidth=1.4,
            label="expected precision of the top N",
        )
    if expected["rule"] == "certified":
        ax.axhline(
            expected["target_precision"],
            color="C3",
            linestyle="--",
            linewidth=1,
            label=f"target {expected['target_precision']:g} ({expected['confidence']:.0%} confidence)",
        )
    ax.set(
        xlabel="queue length N (tag_suggestions.csv, by calibrated probability)",
        ylabel="expected precision",
        ylim=(0, 1.02),
        title=f"The review queue ({expected['promise']})",
    )
    ax.title.set_size(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
