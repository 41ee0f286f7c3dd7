"""Project pipelines: one per stage, and their sum.

``__default__`` (also registered as ``hybrid``, the name users and the docs call it) is the
method end to end: the raw-data step (the demo world is drawn when its files are missing),
ingestion, the audio side (features, VGG tagger, scores), the listening side (BPR
factorisation), every declared scorer (MF-centroids, the hybrid and those beyond the
paper), their evaluation, and the reports (Table 1, the extended table, cold start,
Figure 1, playlists). ``method`` is the paper's method figure as lineage: the nodes tagged
``method``. ``tag_audio`` tags a folder of new audio with the trained model.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from msd_tagging.pipelines import (
    audio,
    demo_data,
    evaluation,
    ingestion,
    listening,
    reporting,
    scoring,
    tag_audio,
)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    stages = {
        "demo_data": demo_data.create_pipeline(),
        "ingestion": ingestion.create_pipeline(),
        "audio": audio.create_pipeline(),
        "listening": listening.create_pipeline(),
        "scoring": scoring.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
        "reporting": reporting.create_pipeline(),
    }
    everything = sum(stages.values(), Pipeline([]))
    return {
        "__default__": everything,
        "hybrid": everything,
        "method": everything.only_nodes_with_tags("method"),
        **stages,
        "tag_audio": tag_audio.create_pipeline(),
    }
