"""Project pipelines.

``hybrid`` is the method end to end. Today it holds the raw-data step (the demo world
is generated when its files are missing) and ingestion; the audio and listening sides
extend it.
"""

from __future__ import annotations

from kedro.pipeline import Pipeline

from msd_tagging.pipelines import demo_data, ingestion


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    data = demo_data.create_pipeline()
    ingest = ingestion.create_pipeline()
    hybrid = data + ingest
    return {
        "__default__": hybrid,
        "hybrid": hybrid,
        "demo_data": data,
        "ingestion": ingest,
    }
