"""Atomic saves for Kedro's file datasets, as a wrapper declared in the catalog.

Kedro's file datasets (kedro-datasets' Parquet, CSV, JSON, text, matplotlib, ...) write
straight to their target. A run killed or failing mid-save leaves a truncated file; for a
versioned dataset it leaves a broken *newest* version, which the next run loads. Wrapped
in :class:`AtomicDataset`, a save writes the wrapped dataset to a hidden temporary name in
the target's own folder, then ``os.replace``-s it onto the target: readers see the old
file or the new one, never half a file, and a failed save leaves the previous version the
newest. Loads go to the wrapped dataset unchanged.

The catalog wraps every file dataset it declares (a test checks it)::

    tracks:
      type: msd_tagging.datasets.AtomicDataset
      dataset: pandas.ParquetDataset        # the wrapped dataset's type...
      filepath: data/03_primary/tracks.parquet   # ...and its own settings beside it

``versioned: true`` goes on the wrapper, as for Kedro's ``CachedDataset``: a version is
saved to ``<filepath>/<version>/<file name>``, Kedro's documented layout. Remote
filesystems (``s3://`` ...) pass through: object stores publish an object only once its
upload completes. The project's own datasets (features, models, checkpoints, ID maps, the
demo world) commit atomically by themselves (:mod:`msd_tagging.core.files`).
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError, Version
from kedro.io.core import generate_timestamp, get_protocol_and_path

from msd_tagging.core.files import remove, temporary_sibling

logger = logging.getLogger(__name__)

LOCAL_PROTOCOLS = ("file", "local")


class AtomicDataset(AbstractDataset):
    """A file dataset whose saves are atomic (see the module docstring).

    Args:
        dataset: the wrapped dataset's type (``pandas.ParquetDataset``), its other settings
            given beside it; or its whole configuration as a mapping.
        version: set by Kedro when the entry says ``versioned: true``.
        metadata: the entry's metadata (kedro-viz's layer).
        **config: the wrapped dataset's settings (``filepath``, ``save_args``, ...).
    """

    def __init__(
        self,
        dataset: str | dict,
        version: Version | None = None,
        metadata: dict | None = None,
        **config: Any,
    ):
        inner = {"type": dataset, **config} if isinstance(dataset, str) else {**dataset, **config}
        if "versioned" in inner:
            raise DatasetError("put versioned: true on the AtomicDataset entry, not inside its dataset")
        if "filepath" not in inner:
            raise DatasetError(f"AtomicDataset wraps file datasets; {inner['type']} has no filepath")
        self._config = inner
        self._version = version
        self._protocol = get_protocol_and_path(str(inner["filepath"]))[0]
        self._dataset = self._reader()
        self.metadata = metadata

    @property
    def wrapped_type(self) -> str:
        """The wrapped dataset's type, as the catalog gives it (``pandas.ParquetDataset``)."""
        return str(self._config["type"])

    @property
    def filepath(self) -> Path | None:
        """The local file this entry names (without a version folder); ``None`` for a
        remote one."""
        if self._protocol not in LOCAL_PROTOCOLS:
            return None
        return Path(get_protocol_and_path(str(self._config["filepath"]))[1])

    def _reader(self) -> AbstractDataset:
        if self._version is None:
            return AbstractDataset.from_config("_atomic", dict(self._config))
        config = {**self._config, "versioned": True}
        return AbstractDataset.from_config("_atomic", config, self._version.load, self._version.save)

    def load(self) -> Any:
        return self._dataset.load()

    def save(self, data: Any) -> None:
        if self._protocol not in LOCAL_PROTOCOLS:
            self._dataset.save(data)
            return
        final = self._target()
        if self._version is not None and final.exists():
            raise DatasetError(f"Save path '{final}' must not exist if versioning is enabled (a version is kept).")
        created = [p for p in (final.parent, *final.parent.parents) if not p.exists()]
        temporary = temporary_sibling(final)
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            AbstractDataset.from_config("_atomic_part", {**self._config, "filepath": str(temporary)}).save(data)
            _replace(temporary, final)
        except BaseException:
            remove(temporary)
            for folder in created:  # a new version folder that never got its file
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            raise
        self._dataset = self._reader()  # the next load finds the version just saved

    def _target(self) -> Path:
        """Where a save lands: the file path, or ``<filepath>/<version>/<file name>``."""
        path = Path(get_protocol_and_path(str(self._config["filepath"]))[1])
        if self._version is None:
            return path
        self._version = Version(self._version.load, self._version.save or generate_timestamp())
        return path / self._version.save / path.name

    def _exists(self) -> bool:
        return self._dataset.exists()

    def _release(self) -> None:
        self._dataset.release()

    def _describe(self) -> dict[str, Any]:
        return {
            "dataset": self._config["type"],
            "filepath": str(self._config["filepath"]),
            "versioned": self._version is not None,
        }


def _replace(temporary: Path, final: Path) -> None:
    if temporary.is_dir():  # e.g. a matplotlib dataset saving several figures into a folder
        backup = final.with_name(f".{final.name}.old-{uuid.uuid4().hex[:8]}")
        if final.exists():
            os.replace(final, backup)
        os.replace(temporary, final)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(temporary, final)
