"""The project's Kedro context: atomic saves, and ingestion chosen by the run's env."""

from __future__ import annotations

from msd_tagging.datasets.atomic import AtomicContext


class ProjectContext(AtomicContext):
    """Kedro's context (with the atomic catalog of :class:`AtomicContext`) that also tells
    the pipeline registry which ingestion the env's raw data needs.

    ``ingestion.source`` is ``msd`` (the MSD's files; ``base``, ``msd``, ``scale``) or
    ``tables`` (a catalogue's plain tables; ``conf/catalogue``). Kedro builds the pipelines
    after the context, so ``kedro run --pipeline=hybrid --env catalogue``, ``kedro viz --env
    catalogue`` and notebooks all get the ingestion their env needs.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        from msd_tagging.pipeline_registry import use_ingestion_source

        ingestion = self.config_loader["parameters"].get("ingestion") or {}
        use_ingestion_source(ingestion.get("source", "msd"))
