"""Raw-data step: writes the embedded demo world when its files are missing."""

from msd_tagging.pipelines.demo_data.pipeline import create_pipeline

__all__ = ["create_pipeline"]
