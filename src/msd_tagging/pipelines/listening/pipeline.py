"""Wiring of the listening side and Table 1."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.evaluation import create_pipeline as evaluation
from msd_tagging.pipelines.listening import nodes


def create_pipeline(**kwargs) -> Pipeline:
    listening = Pipeline(
        [
            node(
                nodes.factorise_plays,
                inputs=["plays", "id_maps", "params:listening"],
                outputs="track_vectors",
                name="factorise_plays",
            ),
            node(
                nodes.mf_centroid_scores,
                inputs=["track_vectors", "audio_scores", "tracks", "tag_labels", "params:listening"],
                outputs="mf_scores",
                name="mf_centroids",
            ),
            node(nodes.combine_scores, inputs=["audio_scores", "mf_scores"], outputs="hybrid_scores", name="hybrid"),
        ],
        tags=["listening"],
    )
    table = Pipeline(
        [
            node(
                nodes.table_1,
                inputs=["audio_metrics", "mf_metrics", "hybrid_metrics"],
                outputs=["table_1", "table_1_markdown", "table_1_json"],
                name="table_1",
            )
        ],
        tags=["reporting"],
    )
    return listening + evaluation("mf") + evaluation("hybrid") + table
