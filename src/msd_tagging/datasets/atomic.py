"""Atomic saves, done once: :func:`atomic_path` for the project's own writers, and every
file dataset of the catalog made atomic.

Kedro's file datasets (kedro-datasets' Parquet, CSV, JSON, text, matplotlib, ...) write
straight to their target. A run killed or failing mid-save leaves a truncated file; for a
versioned dataset it leaves a broken *newest* version, which the next run loads. With
:class:`AtomicDataCatalog` as ``DATA_CATALOG_CLASS`` (``settings.py``), every save of a
local file dataset writes to a hidden temporary name in the target's own folder, then
``os.replace``-s it onto the target: readers see the old file or the new one, never half a
file, and a failed save leaves the previous version the newest.

The project's own datasets (features, models, checkpoints, ID maps, the demo world) commit
atomically by themselves; they are not file datasets in Kedro's sense and pass through.
Remote filesystems (``s3://`` ...) pass through too: object stores publish an object only
once its upload completes.
"""

from __future__ import annotations

import logging
import os
import shutil
import types
import uuid
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.framework.context import KedroContext
from kedro.io import AbstractVersionedDataset, DataCatalog

from msd_tagging.files import remove, temporary_sibling

logger = logging.getLogger(__name__)

LOCAL_PROTOCOLS = ("file", "local")


def make_atomic(dataset: Any) -> bool:
    """Make ``dataset.save`` write to a temporary sibling and rename it into place.

    Applies to versioned-capable file datasets on the local filesystem (every
    kedro-datasets file dataset is one, versioned or not). Returns whether it applied.
    """
    if getattr(dataset, "_msd_atomic", False):
        return True
    if (
        not isinstance(dataset, AbstractVersionedDataset)
        or getattr(dataset, "_protocol", "file") not in LOCAL_PROTOCOLS
    ):
        return False
    raw_save = getattr(type(dataset).save, "__wrapped__", None)  # the dataset's own save, inside Kedro's wrappers
    if raw_save is None:
        return False

    def atomic_save(self, data: Any) -> None:
        final = Path(str(self._get_save_path()))  # refuses an existing version, as Kedro does
        created = [p for p in (final.parent, *final.parent.parents) if not p.exists()]
        temporary = temporary_sibling(final)
        self._get_save_path = lambda: PurePosixPath(temporary.as_posix())
        try:
            raw_save(self, data)
            _replace(temporary, final)
        except BaseException:
            remove(temporary)
            for folder in created:  # a new version folder that never got its file
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            raise
        finally:
            del self._get_save_path

    # Kedro's own wrappers (versioning, logging, the consistency check) around the atomic save.
    dataset.save = types.MethodType(type(dataset)._save_wrapper(atomic_save), dataset)
    dataset._msd_atomic = True
    return True


def _replace(temporary: Path, final: Path) -> None:
    if temporary.is_dir():  # e.g. a matplotlib dataset saving several figures into a folder
        backup = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        if final.exists():
            os.replace(final, backup)
        os.replace(temporary, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(temporary, final)


class AtomicDataCatalog(DataCatalog):
    """A :class:`DataCatalog` whose saves to local files are atomic (see module docstring)."""

    def save(self, ds_name: str, data: Any) -> None:
        make_atomic(self[ds_name])
        super().save(ds_name, data)


class AtomicContext(KedroContext):
    """Kedro's context, whose ``catalog`` is an :class:`AtomicDataCatalog` too.

    ``kedro run`` builds its catalog from ``settings.DATA_CATALOG_CLASS``, but
    ``context.catalog`` (what ``kedro jupyter``, ``kedro ipython`` and notebooks get) builds
    a plain ``DataCatalog``, whose saves are not atomic. This keeps Kedro's notebook
    commands on the catalog and makes its saves atomic like a run's.
    """

    @property
    def catalog(self) -> AtomicDataCatalog:
        from kedro.framework.context import CatalogCommandsMixin
        from kedro.framework.context.context import compose_classes

        return self._get_catalog(catalog_class=compose_classes(AtomicDataCatalog, CatalogCommandsMixin))
