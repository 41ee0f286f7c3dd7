"""Evaluation: one namespaced copy of the template per declared scorer.

For scorer ``s`` it reads ``{s}_scores`` and writes ``{s}_metrics`` and
``{s}_per_tag_metrics`` (catalog factories), in the namespace ``s`` (node
``s.evaluate_scorer``), from the declaration it is given.
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.evaluation.nodes import evaluate_scorer, track_popularity
from msd_tagging.scoring.scorers import SCORERS, Scorer


def _template(scorer: str, method: bool) -> Pipeline:
    template = Pipeline(
        [
            node(
                evaluate_scorer,
                inputs=["scores", "tag_labels", "tracks", "track_popularity", "params:evaluation"],
                outputs=["metrics", "per_tag_metrics"],
                name="evaluate_scorer",
                tags=["method"] if method else [],
            )
        ]
    )
    return Pipeline(
        template,
        namespace=scorer,
        inputs={
            "scores": f"{scorer}_scores",
            "tag_labels": "tag_labels",
            "tracks": "tracks",
            "track_popularity": "track_popularity",
        },
        outputs={"metrics": f"{scorer}_metrics", "per_tag_metrics": f"{scorer}_per_tag_metrics"},
        parameters={"params:evaluation": "params:evaluation"},
    )


def create_pipeline(scorers: tuple[Scorer, ...] = SCORERS, *, popularity: bool = True, **kwargs) -> Pipeline:
    """Every scorer's evaluation, and (``popularity``) the bins they are measured by."""
    shared = [
        node(
            track_popularity,
            inputs=["plays", "track_vectors", "tracks", "params:reporting"],
            outputs="track_popularity",
            name="track_popularity",
        )
    ]
    return Pipeline(
        [*(shared if popularity else []), *[_template(s.name, s.method) for s in scorers]], tags=["evaluation"]
    )
