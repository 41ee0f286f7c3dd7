"""Evaluation template: one namespace per scorer (``audio``, later ``mf``, ``hybrid``).

``create_pipeline("audio")`` reads ``audio_scores`` and writes ``audio_metrics`` and
``audio_per_tag_metrics`` (catalog factories ``{scorer}_metrics``, ``{scorer}_per_tag_metrics``).
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.evaluation.nodes import evaluate_scorer


def create_pipeline(scorer: str = "audio", **kwargs) -> Pipeline:
    template = Pipeline(
        [
            node(
                evaluate_scorer,
                inputs=["scores", "tag_labels", "tracks", "params:evaluation"],
                outputs=["metrics", "per_tag_metrics"],
                name="evaluate",
            )
        ]
    )
    return Pipeline(
        template,
        namespace=scorer,
        inputs={"scores": f"{scorer}_scores", "tag_labels": "tag_labels", "tracks": "tracks"},
        outputs={"metrics": f"{scorer}_metrics", "per_tag_metrics": f"{scorer}_per_tag_metrics"},
        parameters={"params:evaluation": "params:evaluation"},
        tags=["evaluation"],
    )
