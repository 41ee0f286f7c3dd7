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

# The run's ingestion source (its env's ``ingestion.source``), set by the project's context
# (:class:`msd_tagging.context.ProjectContext`) before Kedro first builds the pipelines.
_SOURCE = ["msd"]


def use_ingestion_source(source: str) -> None:
    """Build ``ingestion`` (and so ``hybrid``) for ``source`` from now on: ``msd`` (the MSD's
    files) or ``tables`` (a catalogue's plain tables). Kedro's cached pipelines are
    dropped when the source changes."""
    from kedro.framework.project import pipelines

    from msd_tagging.config import choice

    choice(source, "ingestion.source", ingestion.SOURCES)
    if source != _SOURCE[0]:
        _SOURCE[0] = source
        pipelines.configure(__name__)


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines, with ingestion for the run's source.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    stages = {
        "demo_data": demo_data.create_pipeline(),
        "ingestion": ingestion.create_pipeline(_SOURCE[0]),
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
