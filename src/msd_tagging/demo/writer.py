"""Writes a :class:`DemoWorld` as the public MSD files, in their exact formats.

Layout under the raw-data root, the same one ``conf/msd`` expects of a real MSD copy::

    taste_profile/train_triplets.txt                 user<TAB>song<TAB>count
    taste_profile/sid_mismatches.txt                 ERROR: <SO… TR…> a  -  t  !=  a  -  t
    taste_profile/sid_matches_manually_accepted.txt  < ERROR: <SO… TR…> …
    msd/unique_tracks.txt                            track<SEP>song<SEP>artist<SEP>title
    lastfm/lastfm_tags.db                            SQLite: tids, tags, tid_tag
    splits/50tagList.txt                             one tag per line
    splits/filtered_list_train.cP                    Python-2 protocol-0 pickle, list of str
    splits/filtered_list_test.cP
    audio/A/B/C/TRABC….mp3                           track-ID path convention
    .demo_world.json                                 what was written, and from which config

The world is written into a temporary sibling folder and moved into place at the end,
so an interrupted generation never leaves a half-written world that looks complete.

The generator never replaces a folder it did not write: the target must not exist, be an
empty folder, or carry the generator's own marker (``.demo_world.json`` with ``"source":
"demo"``). Anything else, such as a user's real MSD copy that ``raw_root`` points at, stops
the run with :class:`~msd_tagging.core.errors.MSDDataError` before a file is touched.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from msd_tagging.audio.workers import die_with_parent
from msd_tagging.core.errors import MSDDataError
from msd_tagging.core.provenance import digest, source_digest
from msd_tagging.demo.world import DemoWorld
from msd_tagging.readers.audio_paths import track_id_audio_path

logger = logging.getLogger(__name__)

MANIFEST = ".demo_world.json"
LAYOUT = {
    "triplets": "taste_profile/train_triplets.txt",
    "sid_mismatches": "taste_profile/sid_mismatches.txt",
    "manually_accepted": "taste_profile/sid_matches_manually_accepted.txt",
    "unique_tracks": "msd/unique_tracks.txt",
    "lastfm_tags_db": "lastfm/lastfm_tags.db",
    "tag_list": "splits/50tagList.txt",
    "split_train": "splits/filtered_list_train.cP",
    "split_test": "splits/filtered_list_test.cP",
    "audio": "audio",
}
TRUNCATE_TO = 0.35  # fraction of bytes a truncated demo MP3 keeps
# The same world as a catalogue's plain tables (conf/catalogue): audio found by track ID.
TABLES_LAYOUT = {"plays": "plays.csv", "tags": "tags.csv", "tracks": "tracks.csv", "audio": "audio"}
# The tag rows removed from the tracks made untagged (demo_data.untagged_fraction): their
# known answer, beside the raw data and read by no pipeline (benchmarks/tag_completion.py).
HIDDEN_TAGS = "hidden_tags.csv"


def python2_pickle_str_list(items: list[str]) -> bytes:
    """Pickle a list of ASCII str exactly as Python 2's ``cPickle.dump(obj, f)`` did.

    Protocol 0 with ``S'…'`` string opcodes and memo puts, byte for byte like the
    published split files (Python 3's protocol 0 writes unicode opcodes instead).
    """
    parts = [b"(lp1\n"]
    for memo, item in enumerate(items, start=2):
        parts.append(b"S'" + item.encode("ascii") + b"'\np" + str(memo).encode() + b"\na")
    parts.append(b".")
    return b"".join(parts)


def read_marker(root: str | os.PathLike) -> dict | None:
    """The generator's record in ``root`` (``.demo_world.json``), or ``None`` when the folder
    carries no valid marker: absent, unreadable, or not written by the generator."""
    path = Path(root) / MANIFEST
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(record, dict) or record.get("source") != "demo" or "fingerprint" not in record:
        return None
    return record


def may_replace(root: str | os.PathLike) -> bool:
    """Whether the demo generator may (re)write ``root``: it does not exist, is an empty
    folder, or carries the generator's marker. Anything else is somebody's data."""
    root = Path(root)
    if not root.exists() and not root.is_symlink():
        return True
    if not root.is_dir() or root.is_symlink():
        return False
    return read_marker(root) is not None or not any(root.iterdir())


def foreign_folder_error(root: str | os.PathLike) -> MSDDataError:
    """The error for a ``root`` the generator may not replace: names it and says what to do."""
    return MSDDataError(
        f"the demo world would replace {root}, which holds files the demo generator did not write "
        f"(there is no {MANIFEST} marker); nothing was changed.",
        path=root,
        fix="to run on the files in that folder use an env that reads real data "
        "(kedro run --pipeline=hybrid --env msd, or demo_data.generate: false); to draw the demo "
        "world, set raw_root in conf/<env>/globals.yml to a folder that does not exist yet.",
    )


def check_replaceable(root: str | os.PathLike) -> None:
    """Raise :func:`foreign_folder_error` unless :func:`may_replace` allows ``root``."""
    if not may_replace(root):
        raise foreign_folder_error(root)


def write_world(
    world: DemoWorld,
    root: str | os.PathLike,
    *,
    workers: int = 0,
    progress: bool = True,
    audio_from: str | os.PathLike | None = None,
) -> dict:
    """Write ``world`` under ``root`` and return its manifest.

    ``root`` is replaced only when :func:`check_replaceable` allows it, checked before
    anything is written and again just before the swap (:func:`staged_folder`).

    Args:
        audio_from: a world folder written before; when its manifest's ``audio_fingerprint``
            is this world's (the same tracks, rendering attributes, seeds, flaws, clip
            format and synthesiser), its clips are hard-linked instead of rendered again:
            a sweep over listening or tag knobs then costs no audio rendering.
    """
    with staged_folder(root) as staging:
        _write_tables(world, staging)
        audio = staging / LAYOUT["audio"]
        reused = _link_audio(world, Path(audio_from), audio) if audio_from else False
        flaws = _audio_flaws(world) if reused else _write_audio(world, audio, workers=workers, progress=progress)
        manifest = _manifest(world, flaws)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def write_catalogue(world: DemoWorld, root: str | os.PathLike, *, workers: int = 0, progress: bool = True) -> dict:
    """Write ``world`` under ``root`` as a catalogue's plain tables (:data:`TABLES_LAYOUT`:
    the tables of :func:`catalogue_tables` as CSV, and ``audio/<track_id>.mp3``) and return
    its manifest. ``root`` is replaced only as :func:`write_world` would."""
    with staged_folder(root) as staging:
        for name, table in catalogue_tables(world).items():
            table.to_csv(staging / TABLES_LAYOUT[name], index=False, lineterminator="\n")
        _write_hidden(world, staging)
        flaws = _write_audio(world, staging / TABLES_LAYOUT["audio"], workers=workers, progress=progress, flat=True)
        manifest = {**_manifest(world, flaws), "format": "tables", "files": dict(TABLES_LAYOUT)}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def catalogue_tables(world: DemoWorld) -> dict[str, pd.DataFrame]:
    """``world`` as the plain tables a catalogue exports: what MSD ingestion would make of
    its files, so both give the same results.

    Plays are the Taste Profile's, mapped to tracks by the rules of MSD ingestion (known
    wrong matches dropped, a song with several tracks playing on one), in the order MSD
    ingestion keeps them. Tags are the Last.fm rows. Tracks carry their split (train,
    validation, test, in the split files' order; empty for tracks with plays only).

    Returns:
        ``{"plays": user_id, track_id, plays; "tags": track_id, tag, weight; "tracks":
        track_id, artist, title, split}``.
    """
    from msd_tagging.listening.plays import build_plays, map_songs_to_tracks

    tracks = world.tracks.set_index("track_id", drop=False)
    in_split = world.train_ids + world.test_ids
    order = in_split + [t for t in world.tracks["track_id"] if t not in set(in_split)]
    table = tracks.loc[order, ["track_id", "artist", "title", "split"]].reset_index(drop=True)
    table["split"] = table["split"].where(table["split"] != "none", "")
    wrong = world.mismatches[["song_id", "track_id"]]
    accepted = world.mismatches.loc[world.mismatches["accepted"], ["song_id", "track_id"]]
    song_tracks, _ = map_songs_to_tracks(
        world.tracks[["song_id", "track_id"]], wrong, accepted, pd.DataFrame({"track_id": in_split})
    )
    triplets = world.triplets.assign(
        **{
            c: pd.Categorical(world.triplets[c], categories=pd.unique(world.triplets[c]))
            for c in ("user_id", "song_id")
        }
    )
    plays, _ = build_plays(triplets, song_tracks)
    return {
        "plays": pd.DataFrame(
            {
                "user_id": plays["user_id"].astype(str),
                "track_id": plays["track_id"].astype(str),
                "plays": plays["play_count"],
            }
        ),
        "tags": world.lastfm[["track_id", "tag", "weight"]].reset_index(drop=True),
        "tracks": table,
    }


@contextlib.contextmanager
def staged_folder(root: str | os.PathLike) -> Iterator[Path]:
    """A fresh staging folder beside ``root`` to write a world into; when the block ends
    without an error it replaces ``root`` by renames (never a mixed folder), otherwise it
    is removed. ``root`` must be replaceable (:func:`check_replaceable`), before and after."""
    root = Path(root)
    check_replaceable(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(root)
    staging = root.parent / f".{root.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    try:
        yield staging
        _swap_into_place(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def remove_stale_staging(root: str | os.PathLike) -> list[Path]:
    """Delete what a killed generation left beside ``root``: the generator's own staging
    and retired folders (``.<name>.partial-<pid>``, ``.<name>.retired-<pid>``) whose process
    is gone. Returns the folders removed."""
    root = Path(root)
    pattern = re.compile(rf"^\.{re.escape(root.name)}\.(?:partial|retired)-(\d+)$")
    removed = []
    if not root.parent.is_dir():
        return removed
    for entry in root.parent.iterdir():
        match = pattern.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() and not _alive(int(match.group(1))):
            logger.info("Removing %s, left by an interrupted demo generation.", entry)
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # our own leftovers from an earlier call in this process
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _write_tables(world: DemoWorld, out: Path) -> None:
    for rel in LAYOUT.values():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
    tracks = world.tracks

    with open(out / LAYOUT["triplets"], "w", encoding="utf-8", newline="\n") as handle:
        t = world.triplets
        handle.writelines(
            f"{u}\t{s}\t{c}\n" for u, s, c in zip(t["user_id"], t["song_id"], t["play_count"], strict=True)
        )

    with open(out / LAYOUT["unique_tracks"], "w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(
            f"{tid}<SEP>{sid}<SEP>{a}<SEP>{ti}\n"
            for tid, sid, a, ti in zip(
                tracks["track_id"], tracks["song_id"], tracks["artist"], tracks["title"], strict=True
            )
        )

    by_id = tracks.set_index("track_id")
    lines, accepted = [], []
    for row in world.mismatches.itertuples(index=False):
        track = by_id.loc[row.track_id]
        line = f"ERROR: <{row.song_id} {row.track_id}> {row.artist}  -  {row.title}  !=  {track['artist']}  -  {track['title']}\n"
        lines.append(line)
        if row.accepted:
            accepted.append("< " + line)
    (out / LAYOUT["sid_mismatches"]).write_text("".join(lines), encoding="utf-8")
    # diff-style, as published: a hunk header, then the kept lines.
    (out / LAYOUT["manually_accepted"]).write_text(f"1,{len(accepted)}d0\n" + "".join(accepted), encoding="utf-8")

    (out / LAYOUT["tag_list"]).write_text("".join(f"{tag}\n" for tag in world.tags), encoding="utf-8")
    (out / LAYOUT["split_train"]).write_bytes(python2_pickle_str_list(world.train_ids))
    (out / LAYOUT["split_test"]).write_bytes(python2_pickle_str_list(world.test_ids))
    _write_lastfm_db(world, out / LAYOUT["lastfm_tags_db"])
    _write_hidden(world, out)


def _write_hidden(world: DemoWorld, out: Path) -> None:
    if world.hidden is not None and len(world.hidden):
        world.hidden[["track_id", "tag", "weight"]].to_csv(out / HIDDEN_TAGS, index=False, lineterminator="\n")


def _write_lastfm_db(world: DemoWorld, path: Path) -> None:
    """The Last.fm dataset's schema: tids and tags by ROWID, tid_tag(tid, tag, val)."""
    tags = world.lastfm
    tids = list(dict.fromkeys(tags["track_id"]))
    names = list(dict.fromkeys(tags["tag"]))
    tid_row = {t: i + 1 for i, t in enumerate(tids)}
    tag_row = {t: i + 1 for i, t in enumerate(names)}
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tids (tid TEXT, CONSTRAINT tid_unique UNIQUE (tid))")
        db.execute("CREATE TABLE tags (tag TEXT, CONSTRAINT tag_unique UNIQUE (tag))")
        db.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        db.executemany("INSERT INTO tids (ROWID, tid) VALUES (?, ?)", [(tid_row[t], t) for t in tids])
        db.executemany("INSERT INTO tags (ROWID, tag) VALUES (?, ?)", [(tag_row[t], t) for t in names])
        db.executemany(
            "INSERT INTO tid_tag VALUES (?, ?, ?)",
            [
                (tid_row[t], tag_row[g], float(w))
                for t, g, w in zip(tags["track_id"], tags["tag"], tags["weight"], strict=True)
            ],
        )
        db.execute("CREATE INDEX idx_tid_tag_tid ON tid_tag (tid)")
        db.execute("CREATE INDEX idx_tid_tag_tag ON tid_tag (tag)")
    db.close()


_AUDIBLE = ("genre", "lead", "drums", "bpm", "major", "acoustic", "vocals", "key", "energy", "production")


def _write_audio(
    world: DemoWorld, audio_root: Path, *, workers: int, progress: bool, flat: bool = False
) -> dict[str, list[str]]:
    """Render every clip (``flat``: ``<track_id>.mp3`` in one folder, else the MSD's
    track-ID tree), damaging the flawed ones; returns the flawed track IDs by flaw."""
    from msd_tagging.core.progress import Progress

    config = world.config
    jobs, flaws = [], {}
    for row in world.tracks.to_dict("records"):
        if row["flaw"] == "no_audio":
            continue
        if row["flaw"] != "ok":
            flaws.setdefault(row["flaw"], []).append(row["track_id"])
        if row["flaw"] == "missing":
            continue
        attrs = {k: row[k] for k in _AUDIBLE}
        path = audio_root / (f"{row['track_id']}.mp3" if flat else track_id_audio_path(row["track_id"]))
        jobs.append((attrs, str(path), config.sample_rate, config.seconds, int(row["audio_seed"]), row["flaw"]))

    workers = workers or os.cpu_count() or 1
    bar = Progress(len(jobs), "demo audio", "clip", enabled=progress, logger=logger)
    if workers == 1:
        for job in jobs:
            _render_to_file(job)
            bar.update()
    else:
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            for _ in pool.map(_render_to_file, jobs, chunksize=16):
                bar.update()
    bar.close()
    return flaws


def audio_fingerprint(world: DemoWorld) -> str:
    """Hash of everything the rendered clips depend on: which tracks have clips, their
    rendering attributes, seeds and flaws, the clip format and the synthesiser's code."""
    columns = ["track_id", *_AUDIBLE, "audio_seed", "flaw"]
    clip_format = (world.config.sample_rate, world.config.seconds, TRUNCATE_TO)
    return digest(world.tracks[columns], clip_format, source_digest(Path(__file__).parent / "synth.py"))


def _link_audio(world: DemoWorld, source: Path, audio: Path) -> bool:
    """Hard-link ``source``'s clips into ``audio`` if ``source`` holds this world's clips."""
    marker = read_marker(source) or {}
    if marker.get("audio_fingerprint") != audio_fingerprint(world) or not (source / LAYOUT["audio"]).is_dir():
        logger.info("Audio of %s is not this world's; rendering.", source)
        return False
    shutil.copytree(source / LAYOUT["audio"], audio, copy_function=os.link)
    logger.info("Audio hard-linked from %s (the same clips).", source)
    return True


def _audio_flaws(world: DemoWorld) -> dict[str, list[str]]:
    tracks = world.tracks[~world.tracks["flaw"].isin(("ok", "no_audio"))]
    return {flaw: list(group["track_id"]) for flaw, group in tracks.groupby("flaw", sort=False)}


def _render_to_file(job: tuple) -> None:
    import soundfile as sf

    from msd_tagging.demo.synth import render_track

    attrs, path, sample_rate, seconds, seed, flaw = job
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if flaw == "zero_byte":
        path.write_bytes(b"")
        return
    signal = render_track(attrs, sample_rate=sample_rate, seconds=seconds, seed=seed)
    sf.write(path, signal, sample_rate, format="MP3")
    if flaw == "truncated":
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * TRUNCATE_TO)])


def _manifest(world: DemoWorld, flaws: dict[str, list[str]]) -> dict:
    from msd_tagging import __version__

    tracks = world.tracks
    return {
        "source": "demo",
        "generator_version": __version__,
        "fingerprint": world.config.fingerprint(),
        "audio_fingerprint": audio_fingerprint(world),
        "config": asdict(world.config),
        "files": dict(LAYOUT),
        "counts": {
            "tracks": int(len(tracks)),
            "songs": int(tracks["song_id"].nunique()),
            "songs_with_several_tracks": int((tracks["song_id"].value_counts() > 1).sum()),
            "train": int((tracks["split"] == "train").sum()),
            "valid": int((tracks["split"] == "valid").sum()),
            "test": int((tracks["split"] == "test").sum()),
            "audio_clips": int(np.isin(tracks["flaw"], ("ok", "truncated", "zero_byte")).sum()),
            "users": int(world.triplets["user_id"].nunique()),
            "triplet_rows": int(len(world.triplets)),
            "lastfm_rows": int(len(world.lastfm)),
            "sid_mismatches": int(len(world.mismatches)),
            "manually_accepted": int(world.mismatches["accepted"].sum()),
        },
        "flaws": flaws,
        "mismatched_tracks": sorted(world.mismatches.loc[~world.mismatches["accepted"], "track_id"]),
        "accepted_tracks": sorted(world.mismatches.loc[world.mismatches["accepted"], "track_id"]),
    }


def _swap_into_place(staging: Path, root: Path) -> None:
    """Replace ``root`` by ``staging`` with renames, never leaving a mixed folder."""
    check_replaceable(root)  # again: the folder may have changed while the world was drawn
    if root.exists():
        retired = root.parent / f".{root.name}.retired-{os.getpid()}"
        os.replace(root, retired)
        os.replace(staging, root)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, root)
