"""Wiring of the scorers: one node per declared scorer that has a function."""

from kedro.pipeline import Pipeline, node

from msd_tagging.scoring.scorers import SCORERS


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                s.function,
                inputs=list(s.inputs),
                outputs=s.outputs if s.extra_outputs else s.outputs[0],
                name=s.node_name,
                tags=["method"] if s.method else [],
            )
            for s in SCORERS
            if s.function is not None
        ],
        tags=["scoring"],
    )
