"""Wiring of the audio side."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.audio import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.extract_features,
                inputs=["tracks", "raw_data", "feature_store", "params:audio"],
                outputs="features",
                name="extract_features",
                tags=["method"],
            ),
            node(
                nodes.feature_report,
                inputs=["features", "tracks", "params:ingestion"],
                outputs="feature_report",
                name="feature_report",
            ),
            node(
                nodes.embed_tracks,
                inputs=["features", "embedding_store", "params:audio"],
                outputs="audio_embeddings",
                name="embed_tracks",
            ),
            node(
                nodes.train_tagger,
                inputs=[
                    "features",
                    "audio_embeddings",
                    "tag_labels",
                    "tracks",
                    "audio_model_checkpoint",
                    "params:audio",
                ],
                outputs=["audio_model", "audio_model_training_history"],
                name="train_tagger",
                tags=["method"],
            ),
            node(
                nodes.plot_training,
                ["audio_model_training_history", "params:figures"],
                "audio_model_training_curves",
                name="plot_training",
            ),
            node(
                nodes.score_audio,
                inputs=[
                    "audio_model",
                    "features",
                    "audio_embeddings",
                    "tracks",
                    "params:audio",
                ],
                outputs=["audio_scores", "audio_track_embeddings"],
                name="score_audio",
                tags=["method"],
            ),
        ],
        tags=["audio"],
    )
