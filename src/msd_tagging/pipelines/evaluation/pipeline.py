"""Evaluation: one namespaced copy of the template per declared scorer.

For scorer ``s`` it reads ``{s}_scores`` and writes ``{s}_metrics`` and
``{s}_per_tag_metrics`` (catalog factories), in the namespace ``s`` (node
``s.evaluate_scorer``), from the declaration it is given.
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.evaluation.nodes import evaluate_scorer
from msd_tagging.scoring.scorers import SCORERS, Scorer


def _template(scorer: str, method: bool) -> Pipeline:
    template = Pipeline(
        [
            node(
                evaluate_scorer,
                inputs=["scores", "tag_labels", "tracks", "params:evaluation"],
                outputs=["metrics", "per_tag_metrics"],
                name="evaluate_scorer",
                tags=["method"] if method else [],
            )
        ]
    )
    return Pipeline(
        template,
        namespace=scorer,
        inputs={"scores": f"{scorer}_scores", "tag_labels": "tag_labels", "tracks": "tracks"},
        outputs={"metrics": f"{scorer}_metrics", "per_tag_metrics": f"{scorer}_per_tag_metrics"},
        parameters={"params:evaluation": "params:evaluation"},
    )


def create_pipeline(scorers: tuple[Scorer, ...] = SCORERS, **kwargs) -> Pipeline:
    return Pipeline([_template(s.name, s.method) for s in scorers], tags=["evaluation"])
