"""Tag a folder of new audio files (no plays) with the trained audio model."""

from msd_tagging.pipelines.tag_audio.pipeline import create_pipeline

__all__ = ["create_pipeline"]
