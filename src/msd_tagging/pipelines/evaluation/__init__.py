"""One evaluation step, instantiated per scorer with a namespace."""

from msd_tagging.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
