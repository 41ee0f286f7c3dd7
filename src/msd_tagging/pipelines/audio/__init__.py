"""Audio side: log-mel features and the VGG-style tagger."""

from msd_tagging.pipelines.audio.pipeline import create_pipeline

__all__ = ["create_pipeline"]
