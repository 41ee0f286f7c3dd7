"""Files written atomically and torch files read safely: the project's own writers and
readers (feature shards, models, checkpoints, ID maps) share these. No Kedro import, so
every layer may use them; Kedro's file datasets get the same guarantee from
:mod:`msd_tagging.datasets.atomic`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from msd_tagging.core.errors import MSDDataError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``target`` to write to; when the block ends without an error
    it is moved onto ``target`` with ``os.replace`` (readers see the old file or the new
    one, never half a file), otherwise removed.

    Example::

        with atomic_path(store / "config.json") as partial:
            partial.write_text(text)
    """
    target = Path(target)
    partial = temporary_sibling(target)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        remove(partial)


def temporary_sibling(target: Path) -> Path:
    """A hidden name in ``target``'s folder, unique to this process and call."""
    return target.with_name(f".{target.name}.partial-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic_torch_save(obj: Any, path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as partial:
        torch.save(obj, partial)


def safe_torch_load(path: Path, what: str, *, fix: str = "delete it; the next run recreates it.") -> Any:
    """``torch.load(weights_only=True)`` with every failure named: the file, what is wrong
    with it, and ``fix``. A file holding pickled code is refused, and torch's own advice to
    retry with ``weights_only=False`` (which would run that code) is never passed on."""
    import pickle

    import torch

    if path.stat().st_size == 0:
        raise MSDDataError(f"{what} is empty.", path=path, fix=fix)
    with open(path, "rb") as handle:
        head = handle.read(64)
    if head.startswith(b"version https://git-lfs"):
        raise MSDDataError(
            f"{what} is a Git LFS pointer, not the file itself.", path=path, fix="run git lfs pull, or " + fix
        )
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        refused = next((line.strip() for line in str(exc).splitlines() if "Unsupported" in line), "")
        raise MSDDataError(
            f"{what} holds objects that are not plain tensors and data; refused, nothing in it was run"
            + (f" ({refused})" if refused else "")
            + ".",
            path=path,
            fix="only load files this project wrote; " + fix,
        ) from None
    except (RuntimeError, EOFError, ValueError, OSError) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise MSDDataError(f"{what} is truncated or corrupt ({reason}).", path=path, fix=fix) from None
