"""Wiring of the listening side."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.listening import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.factorise_plays,
                inputs=["plays", "id_maps", "params:listening"],
                outputs="track_vectors",
                name="factorise_plays",
                tags=["method"],
            ),
        ],
        tags=["listening"],
    )
