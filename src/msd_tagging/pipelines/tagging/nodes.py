"""Nodes of the tagged catalogue: evidence, the choice of scorer per class, thresholds,
what to expect, the deliverable tables and the report a person reads."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from msd_tagging import tagged_catalogue, tagging
from msd_tagging.figures import with_note
from msd_tagging.params import EvaluationParams, FiguresParams, TaggingParams
from msd_tagging.scoring.scorers import Scorer
from msd_tagging.scoring.scores import tag_columns

logger = logging.getLogger(__name__)


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

    def choose_scorers(track_evidence: pd.DataFrame, tag_labels: pd.DataFrame, **scores: pd.DataFrame) -> dict:
        """Per evidence class, the scorer with the best validation criterion among those
        that can score it (fused for audio+listening, audio for audio, listening for listening)."""
        selection = tagging.choose(_scores(scores), kinds, track_evidence, tag_labels)
        for klass, choice in selection.items():
            shown = ", ".join(f"{n} {q:.4f}" for n, q in sorted(choice["validation"].items(), key=lambda x: -x[1]))
            logger.info("Tagging %s tracks with %s (validation: %s).", klass, choice["chosen"], shown or "none")
        return selection

    return choose_scorers


def fit_thresholds(
    tagging_selection: dict,
    track_evidence: pd.DataFrame,
    tag_labels: pd.DataFrame,
    params: TaggingParams,
    **scores: pd.DataFrame,
) -> pd.DataFrame:
    """Per class and tag, the decision threshold fitted on validation (``tagging.threshold``)."""
    table = tagging.class_thresholds(
        tagging_selection, track_evidence, tag_labels, _scores(scores), params.threshold, params.target_precision,
        params.min_positives,
    )  # fmt: skip
    undecided = table[~table["decided"]]
    if len(undecided):
        logger.warning(
            "%d (class, tag) pair(s) left undecided: %s.",
            len(undecided),
            "; ".join(f"{r.evidence}/{r.tag}: {r.reason}" for r in undecided.head(10).itertuples()),
        )
    return table


def expected_quality(
    tagging_selection: dict,
    tag_thresholds: pd.DataFrame,
    track_evidence: pd.DataFrame,
    tag_labels: pd.DataFrame,
    crowd_labels: pd.DataFrame,
    params: TaggingParams,
    evaluation: EvaluationParams,
    **scores: pd.DataFrame,
) -> tuple[dict, pd.DataFrame]:
    """What each class's scorer and thresholds give on its test stand-ins, with bootstrap
    intervals, and prediction intervals for the class's untagged tracks outside the splits."""
    scores = _scores(scores)
    tags = tag_columns(tag_labels)
    crowd = crowd_labels.set_index("track_id")[tags].sum(axis=1) > 0
    untagged = ~track_evidence["track_id"].map(crowd).fillna(False).to_numpy(dtype=bool)
    outside = (track_evidence["split"] == "none").to_numpy()
    classes = {}
    for klass, choice in tagging_selection.items():
        if choice["chosen"] is None:
            classes[klass] = {"scorer": None, "test_tracks": 0, "untagged_tracks": 0, "tags": []}
            continue
        n_new = int((outside & untagged & (track_evidence["evidence"] == klass).to_numpy()).sum())
        classes[klass] = tagging.class_expectation(
            klass, choice, tag_thresholds, track_evidence, tag_labels, scores[choice["chosen"]], evaluation.bootstrap,
            n_new, params.seed,
        )  # fmt: skip
    expected = {
        "split": "test",
        "confidence": evaluation.bootstrap.confidence,
        "samples": evaluation.bootstrap.samples,
        "threshold": params.threshold,
        "classes": classes,
    }
    return expected, tagging.expectation_table(expected)


def tag_catalogue(
    tagging_selection: dict,
    tag_thresholds: pd.DataFrame,
    track_evidence: pd.DataFrame,
    crowd_labels: pd.DataFrame,
    tracks: pd.DataFrame,
    tagging_expectations_table: pd.DataFrame,
    params: TaggingParams,
    **scores: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, dict]:
    """The deliverable: ``catalogue_tags`` (long), ``catalogue_top_tags`` (wide),
    ``tag_suggestions``, and the coverage summary the report reads."""
    tags = tag_columns(crowd_labels)
    parts = tagged_catalogue.class_tags(
        tagging_selection, tag_thresholds, track_evidence, crowd_labels, _scores(scores), tags
    )
    summary = tagged_catalogue.summary(parts, track_evidence, tracks)
    summary["examples"] = tagged_catalogue.examples(parts, tags, tracks, params.top_k, params.examples, params.seed)
    logger.info(
        "Tagged %d tracks (%d without crowd tags); %d gained a tag the crowd lacked; %d with neither audio nor "
        "plays are not tagged.",
        summary["tagged_tracks"], sum(c["untagged"] for c in summary["classes"].values()),
        sum(c["gained_a_tag"] for c in summary["classes"].values()), summary["neither"]["count"],
    )  # fmt: skip
    return (
        tagged_catalogue.long_table(parts, tags),
        tagged_catalogue.top_tags(parts, tags, tracks, params.top_k),
        tagged_catalogue.suggestions(parts, tags, tracks, tagging_expectations_table, params.suggestions_per_track),
        summary,
    )


def plot_precision_recall(
    tagging_selection: dict,
    tag_thresholds: pd.DataFrame,
    track_evidence: pd.DataFrame,
    tag_labels: pd.DataFrame,
    params: TaggingParams,
    figures: FiguresParams,
    **scores: pd.DataFrame,
):
    """Test precision–recall curves of a few tags (``tagging.figure_tags``) for the main
    class's scorer, each with its validation-fitted threshold marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    klass = next((k for k in tagging.EVIDENCE if tagging_selection[k]["chosen"]), tagging.EVIDENCE[0])
    name = tagging_selection[klass]["chosen"]
    tags = tag_columns(tag_labels)
    shown = [t for t in params.figure_tags if t in tags] or tags[:4]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    if name is not None:
        _, y, s = tagging.stand_in(track_evidence, "test", klass, tag_labels, _scores(scores)[name])
        thresholds = tagging.threshold_vector(tag_thresholds, klass, tags)
        for tag in shown:
            j = tags.index(tag)
            if not y[:, j].any():
                continue
            precision, recall, _ = precision_recall_curve(y[:, j], s[:, j])
            (line,) = ax.plot(recall, precision, label=f"{tag} ({int(y[:, j].sum())} positives)", linewidth=1.2)
            if np.isfinite(thresholds[j]):
                decided = s[:, j] >= thresholds[j]
                tp = int((decided & (y[:, j] == 1)).sum())
                ax.plot(tp / y[:, j].sum(), tp / max(int(decided.sum()), 1), "o", color=line.get_color())
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02),
           title=f"Test precision–recall, {klass} tracks ({name})\n(dots: the threshold fitted on validation)")  # fmt: skip
    ax.title.set_size(9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return with_note(fig, figures.note)
