"""Wiring of the raw-data step: the demo world drawn into the raw-data folder.

It is its own pipeline, so the raw files are ordinary inputs of ingestion. A run of the
method draws it first when the files are missing (:class:`msd_tagging.framework.hooks.RawDataHooks`).
"""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.demo_data.nodes import draw_world


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                draw_world,
                inputs=["raw_inventory", "params:demo_data", "raw_folder"],
                outputs="raw_data",
                name="draw_world",
                tags=["raw"],
            )
        ]
    )
