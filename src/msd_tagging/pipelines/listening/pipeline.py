"""Wiring of the listening side."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.listening import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.factorise_plays,
                inputs=["plays", "id_maps", "params:listening", "tracks"],
                outputs=["track_vectors", "factorisation_curve"],
                name="factorise_plays",
                tags=["method"],
            ),
            node(
                nodes.plot_factorisation_curve,
                inputs=["factorisation_curve", "params:listening", "params:figures"],
                outputs="factorisation_curve_figure",
                name="plot_factorisation_curve",
            ),
            node(
                nodes.predict_listening,
                inputs=["audio_track_embeddings", "track_vectors", "tracks", "params:listening"],
                outputs=["predicted_vectors", "listening_from_audio_report"],
                name="predict_listening",
            ),
        ],
        tags=["listening"],
    )
