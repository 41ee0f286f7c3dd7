"""Wiring of Figure 1."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.figures import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.tsne_embedding,
                inputs=["track_vectors", "tag_labels", "params:figures.tsne"],
                outputs="tsne_embedding",
                name="tsne",
            ),
            node(
                nodes.tsne_figures,
                inputs=["tsne_embedding", "tag_labels", "params:figures"],
                outputs=["figure_1", "figure_1_grid"],
                name="figure_1",
            ),
            node(
                nodes.tag_agreement,
                inputs=["track_vectors", "tag_labels", "params:figures.agreement"],
                outputs="figure_1_agreement",
                name="tag_agreement",
            ),
        ],
        tags=["figures"],
    )
