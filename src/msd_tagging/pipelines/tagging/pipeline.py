"""Wiring of the tagged catalogue, from the scorer declaration it is given (every declared
scorer is a candidate for the evidence classes its kind can score)."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.tagging import nodes
from msd_tagging.pipelines.tagging.report import catalogue_report
from msd_tagging.scoring.scorers import SCORERS, Scorer

CHOSEN = {"tagging_selection": "tagging_selection", "track_evidence": "track_evidence"}


def create_pipeline(scorers: tuple[Scorer, ...] = SCORERS, **kwargs) -> Pipeline:
    scores = {f"{s.name}_scores": f"{s.name}_scores" for s in scorers}
    return Pipeline([*_choice(scorers, scores), *_deliverable(scores)], tags=["tagging"])


def _choice(scorers: tuple[Scorer, ...], scores: dict[str, str]) -> list:
    """Evidence, the scorer per class and the thresholds: all fitted on validation."""
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
            outputs="tagging_selection",
            name="choose_scorers",
        ),
        node(
            nodes.fit_thresholds,
            inputs={**CHOSEN, "tag_labels": "tag_labels", "params": "params:tagging", **scores},
            outputs="tag_thresholds",
            name="fit_thresholds",
        ),
    ]


def _deliverable(scores: dict[str, str]) -> list:
    """What to expect (test), the tagged catalogue and its report."""
    decided = {**CHOSEN, "tag_thresholds": "tag_thresholds", "params": "params:tagging"}
    return [
        node(
            nodes.expected_quality,
            inputs={
                **decided,
                "tag_labels": "tag_labels",
                "crowd_labels": "crowd_labels",
                "evaluation": "params:evaluation",
                **scores,
            },  # fmt: skip
            outputs=["tagging_expectations", "tagging_expectations_table"],
            name="expected_quality",
        ),
        node(
            nodes.tag_catalogue,
            inputs={
                **decided,
                "crowd_labels": "crowd_labels",
                "tracks": "tracks",
                "tagging_expectations_table": "tagging_expectations_table",
                **scores,
            },  # fmt: skip
            outputs=["tagged_catalogue", "catalogue_top_tags", "tag_suggestions", "catalogue_summary"],
            name="tag_catalogue",
        ),
        node(
            nodes.plot_precision_recall,
            inputs={**decided, "tag_labels": "tag_labels", "figures": "params:figures", **scores},
            outputs="catalogue_precision_recall",
            name="plot_precision_recall",
        ),
        node(
            catalogue_report,
            inputs=[
                "catalogue_summary",
                "tagging_selection",
                "tagging_expectations",
                "tag_thresholds",
            ],  # fmt: skip
            outputs="catalogue_report_markdown",
            name="catalogue_report",
        ),
    ]
