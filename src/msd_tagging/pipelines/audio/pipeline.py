"""Wiring of the audio side: one static sub-pipeline per kind of audio model, picked by
``audio.model_source`` as the ingestion source is picked by ``ingestion.source``
(:mod:`msd_tagging.framework.session`).

- ``train``: the tagger trained here on the log-mels (``train_tagger``), its curves;
- ``pretrained`` (``msd_vgg``, ``msd_musicnn``): a shipped MSD tagger, no training;
- ``head``: a head fitted on a pretrained network's stored embeddings (``embed_tracks``),
  scoring from the embeddings.

Every variant extracts the log-mels, reports on them, and ends in ``audio_scores`` and
``audio_track_embeddings``.
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.audio import nodes

# audio.model_source -> the sub-pipeline that makes its model
VARIANTS = {"train": "train", "msd_vgg": "pretrained", "msd_musicnn": "pretrained", "head": "head"}
DEFAULT = "train"


def variant_of(model_source: str) -> str:
    return VARIANTS.get(model_source, DEFAULT)


def create_pipeline(variant: str = DEFAULT, **kwargs) -> Pipeline:
    if variant not in set(VARIANTS.values()):
        raise ValueError(f"no audio sub-pipeline {variant!r}; the variants are {sorted(set(VARIANTS.values()))}")
    common = [
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
        node(  # pooled pretrained embeddings: what a head reads (or audio.embeddings.model asks for)
            nodes.embed_tracks,
            inputs=["features", "embedding_store", "params:audio"],
            outputs="audio_embeddings",
            name="embed_tracks",
        ),
    ]
    return Pipeline([*common, *_model(variant)], tags=["audio", f"audio.{variant}"])


def _model(variant: str) -> list:
    """The nodes that make the audio model and score the catalogue with it."""
    scores = ["audio_scores", "audio_track_embeddings"]
    if variant == "head":
        return [
            node(
                nodes.fit_head,
                inputs=["audio_embeddings", "tag_labels", "tracks", "params:audio"],
                outputs="audio_model",
                name="train_tagger",
                tags=["method"],
            ),
            node(
                nodes.score_embeddings,
                inputs=["audio_model", "audio_embeddings", "tracks", "params:audio"],
                outputs=scores,
                name="score_audio",
                tags=["method"],
            ),
        ]
    score = node(
        nodes.score_audio,
        inputs=["audio_model", "features", "tracks", "params:audio"],
        outputs=scores,
        name="score_audio",
        tags=["method"],
    )
    if variant == "pretrained":
        take = node(
            nodes.take_pretrained,
            inputs=["features", "tag_labels", "params:audio"],
            outputs="audio_model",
            name="take_pretrained",
            tags=["method"],
        )
        return [take, score]
    return [
        node(
            nodes.train_tagger,
            inputs=["features", "tag_labels", "tracks", "audio_model_checkpoint", "params:audio"],
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
        score,
    ]
