"""``kedro run --pipeline=tag_audio --params=tag_audio.input_dir=/path/to/mp3s``"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.tag_audio import nodes


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                nodes.tag_audio_files,
                inputs=["tag_audio_trained_model", "params:tag_audio", "params:audio", "id_maps"],
                outputs=["tag_audio_predictions", "tag_audio_report", "tag_audio_embeddings"],
                name="tag_audio_files",
            )
        ],
        tags=["tag_audio"],
    )
