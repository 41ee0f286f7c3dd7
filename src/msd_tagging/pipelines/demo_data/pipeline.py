"""Wiring of the raw-data step."""

from kedro.pipeline import Pipeline, node

from msd_tagging.pipelines.demo_data.nodes import demo_data


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            node(
                demo_data,
                inputs=["raw_inventory", "params:demo_data"],
                outputs="raw_world",
                name="demo_data",
                tags=["raw"],
            )
        ]
    )
