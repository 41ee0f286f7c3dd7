"""Project pipelines: one per stage, and the method end to end once per ingestion source.

``hybrid.<source>`` is the method end to end with the ingestion source for ``source``
(``msd``: the MSD's files, the demo world's formats; ``tables``: a catalogue's plain
tables): ingestion, the audio side (features, the tagger, scores), the listening side (the
factorisation), every declared scorer, their evaluation, the reports (Table 1, the
extended table, cold start, Figure 1, playlists) and the tagged catalogue (every track with
audio or plays tagged, with the precision to expect). ``ingestion.<source>`` and
``method.<source>`` (the nodes tagged ``method``: the paper's method figure as lineage)
come with it. Each comes once per audio sub-pipeline too (:mod:`msd_tagging.pipelines.audio`):
``hybrid.<source>`` trains the tagger here, ``hybrid.<source>.pretrained`` takes a shipped
one, ``hybrid.<source>.head`` fits a head on pretrained embeddings (``audio.<variant>``
alone). ``hybrid``, ``ingestion``, ``method``, ``audio`` and ``__default__`` are the
``msd`` and ``train`` variants here; a run picks its env's variant
(:mod:`msd_tagging.framework.session`). ``demo_data``
draws the demo world, or checks the raw files are in place: its ``draw_world`` node heads
every ``ingestion.<source>`` and ``hybrid.<source>``, and ingestion starts from its record;
``tag_audio`` tags a folder of new audio; ``experiments`` scores and evaluates the opt-in
scorers (:data:`~msd_tagging.scoring.scorers.EXPERIMENTS`) beside a hybrid run's.

The registry is static: nothing at run time changes what it returns. Kedro's
``find_pipelines`` does not fit, since the method is composed per ingestion source and the scorer
declaration is passed into the pipelines that use it.
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
    tagging,
)
from msd_tagging.scoring.scorers import EXPERIMENTS, SCORERS, Scorer

DEFAULT_SOURCE = "msd"  # what conf/base reads: the demo world, in the MSD's formats
AUDIO_VARIANTS = ("train", "pretrained", "head")  # audio sub-pipelines (audio.model_source picks one)
DEFAULT_AUDIO = "train"


def build_pipelines(
    scorers: tuple[Scorer, ...] = SCORERS, experiments: tuple[Scorer, ...] = EXPERIMENTS
) -> dict[str, Pipeline]:
    """Every pipeline, for the scorer declarations ``scorers`` (the default run) and
    ``experiments`` (``kedro run --pipeline=experiments``, after a hybrid run)."""
    variants = {v: audio.create_pipeline(v) for v in AUDIO_VARIANTS}
    stages = {
        "audio": variants[DEFAULT_AUDIO],
        "listening": listening.create_pipeline(),
        "scoring": scoring.create_pipeline(scorers),
        "evaluation": evaluation.create_pipeline(scorers),
        "reporting": reporting.create_pipeline(scorers),
        "tagging": tagging.create_pipeline(scorers),
    }
    after_audio = sum((p for name, p in stages.items() if name != "audio"), Pipeline([]))
    registry: dict[str, Pipeline] = {f"audio.{v}": p for v, p in variants.items() if v != DEFAULT_AUDIO}
    for source, ingest in ingestion.sources().items():
        ingest = demo_data.create_pipeline() + ingest  # the raw data drawn (or checked) first
        registry[f"ingestion.{source}"] = ingest
        for variant, audio_side in variants.items():
            method = ingest + audio_side + after_audio
            name = source if variant == DEFAULT_AUDIO else f"{source}.{variant}"
            registry[f"hybrid.{name}"] = method
            registry[f"method.{name}"] = method.only_nodes_with_tags("method")
    for name in ("ingestion", "hybrid", "method"):
        registry[name] = registry[f"{name}.{DEFAULT_SOURCE}"]
    return {
        "__default__": registry["hybrid"],
        **registry,
        **stages,
        "demo_data": demo_data.create_pipeline(),
        "tag_audio": tag_audio.create_pipeline(),
        "experiments": scoring.create_pipeline(experiments)
        + evaluation.create_pipeline(experiments, popularity=False)
        + reporting.experiments_table(scorers, experiments),
    }


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines (Kedro's entry point).

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    return build_pipelines()
