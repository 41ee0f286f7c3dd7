"""A log-mel feature store fit for 240k tracks: float16 shards plus a manifest.

Layout::

    <store>/config.json                 the MelConfig and DamageConfig it was built with
    <store>/shards/<name>.npy           float16 [sum of frames, n_mels], tracks back to back
    <store>/shards/<name>.parquet       the shard's manifest part: one row per track tried
    <store>/manifest.parquet            every part together, as the last extraction returned it

It is a :mod:`sharded store <msd_tagging.core.shards>`: a shard counts as done only once
its manifest part exists, so an interrupted extraction leaves at most an orphan ``.npy``
that is ignored and redone; a rerun skips every track already in a manifest part (extracted or
found damaged) whose audio file still has the size and modification time the manifest
recorded. A shard holding a file that changed since (a truncated preview replaced by a
good copy, or the reverse) is un-committed and redone whole.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.audio.signal import DamageConfig, MelConfig
from msd_tagging.core import shards
from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.shards import ShardedStore

logger = logging.getLogger(__name__)

MANIFEST_COLUMNS = ("track_id", "path", "status", "detail", "shard", "offset", "n_frames", "size_bytes", "mtime_ns")
OPEN_SHARDS = 64  # shard files a reader keeps open (the MSD's store has about 950)
MANIFEST_FILE = "manifest.parquet"  # the whole store's manifest, as the last extraction returned it


@dataclass(frozen=True)
class ExtractionPlan:
    """What to extract: built and carried out by the ``extract_features`` node.

    Attributes:
        jobs: ``(track_id, audio path relative to the audio root)`` pairs.
        mel, damage: the front end and the damage rules.
        tracks_per_shard: tracks per shard file.
        workers: extraction processes (0: one per core).
        source: identity of the raw data (the demo world's fingerprint, or ``external``);
            a store built from another source holds stale features and is rebuilt.
        scheduler: address of a Dask distributed scheduler (``tcp://host:8786``); shards
            then run on its workers, which must see the store and the audio at the same
            paths (shared storage). ``None``: local processes.
    """

    jobs: tuple[tuple[str, str], ...]
    mel: MelConfig = field(default_factory=MelConfig)
    damage: DamageConfig = field(default_factory=DamageConfig)
    tracks_per_shard: int = 256
    workers: int = 0
    source: str = "external"
    scheduler: str | None = None


class FeatureStore(ShardedStore):
    """Read side of a store: the manifest, and features by track, read from the shard files
    when asked for. Nothing is memory-mapped: mapped pages a pass has touched stay in the
    process's resident memory, which at the MSD's size is the whole store (several GB)."""

    columns = MANIFEST_COLUMNS

    def __init__(self, root: str | os.PathLike, manifest: pd.DataFrame | None = None):
        """The store at ``root``; its manifest is read from the shards' parts unless given
        (the one extraction returned, :data:`MANIFEST_FILE`)."""
        super().__init__(root, manifest)
        self._layouts: dict[str, tuple[int, np.dtype, int, bool]] = {}
        self._open: OrderedDict[str, int] = OrderedDict()
        extracted = self.manifest[self.manifest["n_frames"] > 0]
        self._where = {
            t: (s, int(o), int(n))
            for t, s, o, n in zip(
                extracted["track_id"], extracted["shard"], extracted["offset"], extracted["n_frames"], strict=True
            )
        }

    @property
    def track_ids(self) -> list[str]:
        """Tracks that have features."""
        return list(self._where)

    def __contains__(self, track_id: str) -> bool:
        return track_id in self._where

    def features(self, track_id: str) -> np.ndarray:
        """Log-mel features of one track, float16 ``[shape=(n_mels, n_frames)]``, read now."""
        return np.asarray(self.lazy(track_id))

    def lazy(self, track_id: str) -> StoredTrack:
        """One track's features as a :class:`StoredTrack`: read only where sliced, so a
        training set of 200k tracks is a list of handles, not gigabytes in memory."""
        try:
            shard, offset, n_frames = self._where[track_id]
        except KeyError:
            raise KeyError(f"no features for {track_id} in {self.root}") from None
        return StoredTrack(self, shard, offset, n_frames)

    def _descriptor(self, shard: str) -> int:
        """An open descriptor of the shard's ``.npy`` (``pread`` leaves no shared offset, so a
        forked loader worker may use it too); at most :data:`OPEN_SHARDS` stay open."""
        if shard in self._open:
            self._open.move_to_end(shard)
            return self._open[shard]
        while len(self._open) >= OPEN_SHARDS:
            os.close(self._open.popitem(last=False)[1])
        self._open[shard] = os.open(self.root / "shards" / f"{shard}.npy", os.O_RDONLY)
        return self._open[shard]

    def close(self) -> None:
        """Close the shard files this reader holds open."""
        while self._open:
            os.close(self._open.popitem()[1])

    def __del__(self):
        try:
            self.close()
        except (OSError, AttributeError, TypeError):  # interpreter shutdown, or never opened
            pass

    def layout(self, shard: str) -> tuple[int, np.dtype, int, bool]:
        """Where a shard's rows start in its ``.npy`` file, their dtype, ``n_mels``, and
        whether it was saved column-major (stores written before rows were saved in order)."""
        if shard not in self._layouts:
            path = self.root / "shards" / f"{shard}.npy"
            with open(path, "rb") as handle:
                fmt = np.lib.format
                major, _ = fmt.read_magic(handle)
                read_header = fmt.read_array_header_1_0 if major == 1 else fmt.read_array_header_2_0
                shape, fortran, dtype = read_header(handle)
                self._layouts[shard] = (handle.tell(), np.dtype(dtype), int(shape[1]), bool(fortran))
        return self._layouts[shard]

    def rows(self, shard: str, start: int, count: int) -> np.ndarray:
        """``count`` frames of a shard from row ``start``: ``[count, n_mels]``."""
        offset, dtype, n_mels, fortran = self.layout(shard)
        path = self.root / "shards" / f"{shard}.npy"
        if fortran:  # a column-major shard: copy the rows out of a map, dropped at once
            mapped = np.load(path, mmap_mode="r")
            rows = np.array(mapped[start : start + count])
            del mapped
            return rows
        size = count * n_mels * dtype.itemsize
        data = np.frombuffer(os.pread(self._descriptor(shard), size, offset + start * n_mels * dtype.itemsize), dtype)
        if data.size != count * n_mels:
            raise MSDDataError(
                f"the feature shard ends before row {start + count} ({data.size // n_mels} of {count} frames read).",
                path=path,
                fix="rerun extract_features: a cut shard is found and made again.",
            )
        return data.reshape(count, n_mels)


class StoredTrack:
    """One track's log-mels in the store, ``[n_mels, n_frames]`` like an array: ``x.shape``
    costs nothing, ``x[:, a:b]`` reads those frames from disk, ``np.asarray(x)`` all."""

    __slots__ = ("store", "shard", "offset", "n_frames")
    ndim = 2

    def __init__(self, store: FeatureStore, shard: str, offset: int, n_frames: int):
        self.store, self.shard, self.offset, self.n_frames = store, shard, offset, n_frames

    @property
    def shape(self) -> tuple[int, int]:
        return self.store.layout(self.shard)[2], self.n_frames

    @property
    def dtype(self) -> np.dtype:
        return self.store.layout(self.shard)[1]

    def __getitem__(self, key):
        if (
            isinstance(key, tuple)
            and len(key) == 2
            and key[0] == slice(None)
            and isinstance(key[1], slice)
            and key[1].step in (None, 1)
        ):
            start, stop, _ = key[1].indices(self.n_frames)
            return self.store.rows(self.shard, self.offset + start, max(stop - start, 0)).T
        return np.asarray(self)[key]

    def __array__(self, dtype=None, copy=None):
        data = self.store.rows(self.shard, self.offset, self.n_frames).T
        return data if dtype is None else data.astype(dtype)


def read_manifest(root: Path) -> pd.DataFrame:
    """The manifest of every committed shard of the feature store at ``root``."""
    return shards.read_manifest(root, MANIFEST_COLUMNS)


@dataclass(frozen=True)
class FeatureStoreWriter:
    """Where extraction writes: a store folder and the audio root its plans' relative paths
    start from. The ``extract_features`` node writes through it (:func:`write_plan`); the
    returned manifest is what downstream nodes read the store by."""

    root: Path
    audio_root: Path
    progress: bool = True

    def extract(self, plan: ExtractionPlan) -> pd.DataFrame:
        """Carry out ``plan`` (resumably, see the module docstring); the store's manifest."""
        counts = write_plan(plan, self.root, self.audio_root, progress=self.progress)
        logger.info("Feature store %s: %s", self.root, counts)
        return read_manifest(self.root)


def _file_stamp(path: str | os.PathLike) -> tuple[int, int]:
    """``(size, mtime_ns)`` of an audio file, ``(-1, -1)`` when it cannot be stat-ed."""
    try:
        stat = os.stat(path)
    except OSError:
        return -1, -1
    return int(stat.st_size), int(stat.st_mtime_ns)


def _drop_changed_shards(shards: Path, audio_root: Path) -> int:
    """Un-commit shards holding a file whose size or modification time differs from what
    their manifest part recorded; returns how many tracks changed. Parts written before
    stamps were kept (no ``size_bytes`` column) are trusted."""
    changed_tracks = 0
    for part in sorted(shards.glob("*.parquet")):
        manifest = pd.read_parquet(part)
        if "size_bytes" not in manifest:
            continue
        stamps = [_file_stamp(audio_root / rel) for rel in manifest["path"]]
        now = pd.DataFrame(stamps, columns=["size_bytes", "mtime_ns"], index=manifest.index)
        changed = (now != manifest[["size_bytes", "mtime_ns"]]).any(axis=1)
        if changed.any():
            changed_tracks += int(changed.sum())
            logger.warning(
                "%d audio file(s) changed since their features were made (e.g. %s); shard %s is extracted again.",
                int(changed.sum()),
                manifest.loc[changed, "path"].iloc[0],
                part.stem,
            )
            part.unlink()  # un-commit first, then drop its features
            part.with_suffix(".npy").unlink(missing_ok=True)
    return changed_tracks


def write_plan(
    plan: ExtractionPlan, root: str | os.PathLike, audio_root: str | os.PathLike, *, progress: bool = True
) -> dict:
    """Carry out ``plan`` into the store at ``root``, skipping tracks already done.

    Returns:
        Counts of this call: ``{"skipped_done": n, "tried": n, "<status>": n, ...}``.
    """
    root, audio_root = Path(root), Path(audio_root)
    _open_store(plan, root)
    shards.drop_broken_shards(root / "shards", lambda part: part["n_frames"].sum(), "Feature")
    changed = _drop_changed_shards(root / "shards", audio_root)
    done = set(read_manifest(root)["track_id"])
    todo = [job for job in plan.jobs if job[0] not in done]
    counts: dict[str, int] = {"skipped_done": len(plan.jobs) - len(todo), "tried": len(todo)}
    if changed:
        counts["files_changed"] = changed
    if not todo:
        return counts
    tasks = [
        (
            str(root),
            [(t, p, str(audio_root / p)) for t, p in todo[i : i + plan.tracks_per_shard]],
            plan.mel,
            plan.damage,
        )
        for i in range(0, len(todo), plan.tracks_per_shard)
    ]
    _run_shards(plan, tasks, counts, total=len(todo), progress=progress)
    return counts


def _open_store(plan: ExtractionPlan, root: Path) -> None:
    """Create the store, or check it was built with the plan's settings: a store built from
    other raw data is emptied (its features are stale, e.g. the demo world was redrawn),
    one with other mel or damage settings is an error."""
    config = {"mel": plan.mel.as_dict(), "damage": plan.damage.__dict__, "source": plan.source}

    def stale(existing: dict) -> str | None:
        if existing.get("source") == plan.source:
            return None
        return f"was built from raw data {existing.get('source')}, now {plan.source}"

    shards.open_store(root, config, "Feature", stale, differs="other mel or damage parameters")


def _run_shards(plan: ExtractionPlan, tasks: list[tuple], counts: dict, *, total: int, progress: bool) -> None:
    """Extract every shard task on Dask, in this process or in a pool; add their counts."""
    from msd_tagging.core.progress import Progress

    workers = plan.workers or os.cpu_count() or 1
    bar = Progress(total, "log-mel", "track", enabled=progress, logger=logger)
    with ExitStack() as stack:
        if plan.scheduler:
            results = _on_dask(plan.scheduler, tasks)
        elif workers == 1 or len(tasks) == 1:
            results = map(extract_shard_single_threaded, tasks)  # one process = one core
        else:
            import multiprocessing

            pool = stack.enter_context(
                ProcessPoolExecutor(
                    max_workers=min(workers, len(tasks)),
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(plan.mel, os.getpid()),
                )
            )
            results = pool.map(extract_shard, tasks)
        for result in results:
            _add(counts, result)
            bar.update(sum(result.values()))
    bar.close()


def _on_dask(address: str, tasks: list[tuple]):
    """Run shard tasks on a Dask distributed cluster; yield each shard's counts as it ends.

    Every shard commits itself on shared storage (same protocol as locally), so a lost
    worker or a killed client leaves only orphan temporaries: a rerun redoes those shards.
    """
    from distributed import Client, as_completed

    with Client(address) as client:
        logger.info(
            "Extracting %d shards on the Dask cluster at %s (%d workers).",
            len(tasks),
            address,
            len(client.scheduler_info()["workers"]),
        )
        futures = client.map(extract_shard_single_threaded, tasks, pure=False)
        for future in as_completed(futures):
            yield future.result()


def extract_shard_single_threaded(task: tuple) -> dict[str, int]:
    """:func:`extract_shard` with one BLAS thread, for pool workers that did not set it."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return extract_shard(task)


def _init_worker(mel: MelConfig, parent: int) -> None:
    """Die with the parent; one BLAS thread per worker (N processes on N cores, not N²
    threads); imports and filterbank paid once per worker rather than inside the first shard."""
    from threadpoolctl import threadpool_limits

    from msd_tagging.audio.signal import log_mel
    from msd_tagging.audio.workers import die_with_parent

    die_with_parent(parent)
    threadpool_limits(limits=1)
    log_mel(np.zeros(mel.n_fft * 2, np.float32), mel)


def _add(counts: dict, result: dict) -> None:
    for key, value in result.items():
        counts[key] = counts.get(key, 0) + value


def extract_shard(task: tuple) -> dict[str, int]:
    """Extract one shard's tracks and commit the shard. Runs in a worker process."""
    from msd_tagging.audio.signal import check_and_extract

    root, jobs, mel, damage = task
    name = shards.shard_name([t for t, _, _ in jobs])
    rows, blocks, offset = [], [], 0
    for track_id, rel, path in jobs:
        size, mtime = _file_stamp(path)  # before decoding: a file replaced meanwhile is redone next run
        try:
            features, status, detail = check_and_extract(path, mel, damage)
        except MSDDataError as exc:
            raise MSDDataError(f"track {track_id}: {exc}") from exc
        n_frames = 0 if features is None else features.shape[1]
        if features is not None:
            blocks.append(features.T.astype(np.float16))
        rows.append((track_id, rel, status, detail, name, offset, n_frames, size, mtime))
        offset += n_frames
    data = np.ascontiguousarray(np.concatenate(blocks)) if blocks else np.zeros((0, mel.n_mels), np.float16)
    manifest = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    shards.commit_shard(Path(root), name, data, manifest)
    return manifest["status"].value_counts().to_dict()
