"""The tagged catalogue: every track with evidence tagged, decided on validation, with what to expect."""

from msd_tagging.pipelines.tagging.pipeline import create_pipeline

__all__ = ["create_pipeline"]
