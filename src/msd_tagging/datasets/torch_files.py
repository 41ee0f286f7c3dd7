"""Kedro datasets for torch files: the trained model and the training checkpoint.

Both write atomically (temporary file in the same folder, then ``os.replace``) and load
with ``torch.load(weights_only=True)``: a file that holds pickled code is refused, with
no fallback to an unsafe load.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset

from msd_tagging.core.files import atomic_torch_save, safe_torch_load


class TorchModelDataset(AbstractDataset[dict, dict]):
    """A trained model as ``{"config": dict, "state_dict": {name: tensor}, "tags", ...}``.

    Args:
        missing_ok: load ``None`` when the file does not exist, for a node that can do
            without it (``tag_audio`` with a pretrained model) and says so when it cannot.
    """

    def __init__(self, filepath: str, missing_ok: bool = False, metadata: dict | None = None):
        self._path = Path(filepath)
        self._missing_ok = missing_ok
        self.metadata = metadata

    @property
    def filepath(self) -> Path:
        """The file this entry names (the run record hashes it)."""
        return self._path

    def load(self) -> dict | None:
        if self._missing_ok and not self._path.exists():
            return None
        return safe_torch_load(self._path, "model file")

    def save(self, data: dict) -> None:
        atomic_torch_save(data, self._path)

    def _exists(self) -> bool:
        return self._path.is_file()

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._path)}


class CheckpointFile:
    """The latest training checkpoint: loaded safely, replaced atomically each epoch."""

    def __init__(self, path: Path):
        self.path = path

    def load(self) -> dict | None:
        return safe_torch_load(self.path, "training checkpoint") if self.path.exists() else None

    def save(self, state: dict) -> None:
        atomic_torch_save(state, self.path)


class CheckpointDataset(AbstractDataset[None, CheckpointFile]):
    """Loads a :class:`CheckpointFile` handle that the training node writes through."""

    def __init__(self, filepath: str, metadata: dict | None = None):
        self._path = Path(filepath)
        self.metadata = metadata

    def load(self) -> CheckpointFile:
        return CheckpointFile(self._path)

    def save(self, data: None) -> None:
        raise NotImplementedError("checkpoints are written by the training node through the loaded handle")

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._path)}
