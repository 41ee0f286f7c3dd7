"""Project pipelines.

``hybrid`` is the method end to end: the raw-data step (the demo world is generated
when its files are missing), ingestion, the audio side (features, VGG tagger), the
listening side (BPR factorisation, MF-centroids), the hybrid, their evaluation and Table 1,
Figure 1, and beyond the paper: more scorers, learned fusion, the extended table, cold
start and tag playlists. ``tag_audio`` tags a folder of new audio with the trained model.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from msd_tagging.pipelines import (
    audio,
    beyond,
    demo_data,
    evaluation,
    figures,
    ingestion,
    listening,
    tag_audio,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    data = demo_data.create_pipeline()
    ingest = ingestion.create_pipeline()
    audio_side = audio.create_pipeline() + evaluation.create_pipeline("audio")
    listening_side = listening.create_pipeline() + figures.create_pipeline()
    beyond_paper = beyond.create_pipeline()
    hybrid = data + ingest + audio_side + listening_side + beyond_paper
    # The paper's method figure as a lineage view (kedro viz run, pick "method"): audio
    # tagger, play-matrix factorisation, MF-centroids from the tagger's top tracks, hybrid.
    method = hybrid.only_nodes(
        "extract_features",
        "train_vgg",
        "score_audio",
        "index_plays",
        "factorise_plays",
        "mf_centroids",
        "hybrid",
        "audio.evaluate",
        "mf.evaluate",
        "hybrid.evaluate",
        "table_1",
    )
    return {
        "__default__": hybrid,
        "method": method,
        "hybrid": hybrid,
        "demo_data": data,
        "ingestion": ingest,
        "audio": audio_side,
        "listening": listening_side,
        "beyond": beyond_paper,
        "tag_audio": tag_audio.create_pipeline(),
    }
