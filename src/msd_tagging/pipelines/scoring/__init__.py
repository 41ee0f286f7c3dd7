"""Every declared scorer with a function (:mod:`msd_tagging.scoring.scorers`), one node each."""

from msd_tagging.pipelines.scoring.pipeline import create_pipeline

__all__ = ["create_pipeline"]
