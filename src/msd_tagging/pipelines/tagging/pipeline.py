"""Wiring of the tagged catalogue, from the scorer declaration it is given (every declared
scorer is a candidate for the evidence classes its kind can score)."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.tagging import nodes
from msd_tagging.scoring.scorers import SCORERS, Scorer

# What the chooser hands on: the later nodes read the chosen scores, not every scorer's.
CHOSEN = {"tagging_selection": "tagging_selection", "track_evidence": "track_evidence", "class_scores": "class_scores"}


def create_pipeline(scorers: tuple[Scorer, ...] = SCORERS, **kwargs) -> Pipeline:
    scores = {f"{s.name}_scores": f"{s.name}_scores" for s in scorers}
    return Pipeline([*_choice(scorers, scores), *_deliverable()], tags=["tagging"])


def _choice(scorers: tuple[Scorer, ...], scores: dict[str, str]) -> list:
    """Evidence, the scorer per class (validation), and the decisions and probabilities
    (the held-out labelled tracks, out of fold)."""
    return [
        node(
            nodes.track_evidence,
            inputs=["tracks", "track_vectors", "audio_scores"],
            outputs="track_evidence",
            name="track_evidence",
        ),
        node(
            nodes.selection_for(scorers),
            inputs={"track_evidence": "track_evidence", "tag_labels": "tag_labels", **scores},
            outputs=["tagging_selection", "class_scores"],
            name="choose_scorers",
        ),
        node(
            nodes.fit_decisions,
            inputs={
                **CHOSEN,
                "tag_labels": "tag_labels",
                "crowd_labels": "crowd_labels",
                "params": "params:tagging",
                "evaluation": "params:evaluation",
            },
            outputs=["tag_decisions", "tag_calibration", "tagging_expectations"],
            name="fit_decisions",
        ),
    ]


def _deliverable() -> list:
    """The tagged catalogue, its figures and its report."""
    decided = {**CHOSEN, "tag_decisions": "tag_decisions", "params": "params:tagging"}
    return [
        node(
            nodes.tag_catalogue,
            inputs={
                **decided,
                "tag_calibration": "tag_calibration",
                "crowd_labels": "crowd_labels",
                "tracks": "tracks",
            },
            outputs=["tagged_catalogue", "catalogue_top_tags", "tag_suggestions", "catalogue_summary"],
            name="tag_catalogue",
        ),
        node(
            nodes.catalogue_report,
            inputs={
                **decided,
                "catalogue_summary": "catalogue_summary",
                "tagging_expectations": "tagging_expectations",
                "tag_suggestions": "tag_suggestions",
                "tag_labels": "tag_labels",
                "figures": "params:figures",
            },
            outputs=[
                "catalogue_report_markdown",
                "catalogue_precision_recall",
                "catalogue_reliability",
                "catalogue_queue",
            ],
            name="catalogue_report",
        ),
    ]
