"""Wiring of the raw-data step: the demo world drawn into the raw-data folder.

Its ``draw_world`` node heads every ingestion pipeline (the registry puts it there): it draws
the world when the files are missing or were drawn from other parameters, checks they are
in place otherwise, and ingestion starts from its record (``raw_data``).
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
