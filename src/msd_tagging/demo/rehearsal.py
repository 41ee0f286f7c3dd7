"""A rehearsal world at the real MSD shape, in the exact MSD file formats.

The demo world is small and meaningful; this one is large and meaningless: 1,019,318
listeners, 48,373,586 triplets over 384,546 songs, 1,000,000 tracks in ``unique_tracks``,
about 19,000 wrong matches, a ``lastfm_tags.db`` of 505,216 tids, 522,366 tags and
8,598,630 rows, the Pons split sizes (201,680 + 11,774 and 28,435), and an audio file for
every split track. It exists to run the same readers and pipelines at the shape a real run
has and to measure every stage (``benchmarks/msd_scale.py``), not to learn tags: the tags
are random, though each vocabulary tag is as frequent as on Last.fm (what a neighbour
search per tagged track costs depends on it). To stay affordable, clips are short (``clip_seconds``) and every split track's
file is a hard link into a pool of ``clip_pool`` rendered clips.

Everything is drawn with numpy in bulk (no Python loop per triplet or row); ``scale``
shrinks every count, for tests.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from msd_tagging.demo.world import GENRE_NAMES, MSD_50_TAGS
from msd_tagging.demo.writer import LAYOUT, MANIFEST, python2_pickle_str_list, staged_folder

logger = logging.getLogger(__name__)

_ALPHABET = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))


@dataclass(frozen=True)
class RehearsalConfig:
    """The shape to draw; every count is the real MSD's times ``scale``."""

    scale: float = 1.0
    seed: int = 0
    clip_seconds: float = 2.0  # every clip's length
    clip_pool: int = 2000  # distinct rendered clips the split tracks' files link to
    sample_rate: int = 16000
    n_users: int = 1_019_318
    n_songs_with_plays: int = 384_546
    n_tracks: int = 1_000_000
    n_triplets: int = 48_373_586
    n_mismatches: int = 19_094
    n_accepted: int = 900
    n_lastfm_tids: int = 505_216
    n_tags: int = 522_366
    n_tid_tag: int = 8_598_630
    n_train: int = 201_680
    n_valid: int = 11_774
    n_test: int = 28_435

    def count(self, name: str, minimum: int = 1) -> int:
        """The count ``name`` at this scale."""
        return max(minimum, int(round(getattr(self, name) * self.scale)))


def write_rehearsal(config: RehearsalConfig, root: str | os.PathLike) -> dict:
    """Draw and write a rehearsal world under ``root`` (a new or empty folder, or one this
    generator or the demo generator wrote) and return its manifest."""
    with staged_folder(root) as staging:
        for rel in LAYOUT.values():
            (staging / rel).parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(config.seed)
        tracks, songs = _write_tracks(config, rng, staging)
        split = _write_splits(config, rng, staging, tracks)
        _write_triplets(config, rng, staging, songs)
        _write_mismatches(config, rng, staging, tracks, songs)
        _write_lastfm(config, rng, staging, tracks, split)
        _write_audio(config, rng, staging, tracks[split])
        manifest = {
            "source": "demo",
            "kind": "rehearsal",
            "fingerprint": f"rehearsal-{config.seed}-{config.scale}",
            "config": asdict(config),
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return manifest


def _ids(prefix: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` distinct MSD-shaped IDs (prefix + 16 upper-case letters or digits)."""
    out = np.zeros(0, dtype="<U18")
    while len(out) < n:
        chars = rng.choice(_ALPHABET, size=(n - len(out), 16)).view("<U16").ravel()
        out = np.unique(np.concatenate([out, np.char.add(prefix, chars)]))
    return rng.permutation(out)[:n]


def _write_tracks(config: RehearsalConfig, rng: np.random.Generator, out: Path) -> tuple[np.ndarray, np.ndarray]:
    """``unique_tracks.txt``: 1M tracks; most songs have one track, some two. Returns the
    track IDs and, per track, its song ID."""
    n_tracks = config.count("n_tracks")
    tracks = _ids("TR", n_tracks, rng)
    n_songs = int(n_tracks * 0.99)
    songs = _ids("SO", n_songs, rng)
    song_of_track = np.concatenate([songs, rng.choice(songs, size=n_tracks - n_songs)])
    artist = np.char.add("Artist ", (np.arange(n_tracks) % 44_745).astype(str))
    title = np.char.add("Title ", np.arange(n_tracks).astype(str))
    sep = "<SEP>"
    lines = np.char.add(
        np.char.add(np.char.add(np.char.add(np.char.add(np.char.add(tracks, sep), song_of_track), sep), artist), sep),
        title,
    )
    (out / LAYOUT["unique_tracks"]).write_text("\n".join(lines.tolist()) + "\n", encoding="utf-8")
    return tracks, song_of_track


def _write_splits(config: RehearsalConfig, rng: np.random.Generator, out: Path, tracks: np.ndarray) -> np.ndarray:
    """The split pickles (training then validation; test) and the 50-tag list; returns the
    split tracks' rows."""
    n_train, n_valid, n_test = config.count("n_train"), config.count("n_valid"), config.count("n_test")
    rows = rng.choice(len(tracks), size=n_train + n_valid + n_test, replace=False)
    (out / LAYOUT["split_train"]).write_bytes(python2_pickle_str_list(tracks[rows[: n_train + n_valid]].tolist()))
    (out / LAYOUT["split_test"]).write_bytes(python2_pickle_str_list(tracks[rows[n_train + n_valid :]].tolist()))
    (out / LAYOUT["tag_list"]).write_text("".join(f"{t}\n" for t in MSD_50_TAGS), encoding="utf-8")
    return rows


def _write_triplets(config: RehearsalConfig, rng: np.random.Generator, out: Path, songs: np.ndarray) -> None:
    """48.4M ``user<TAB>song<TAB>count`` rows: power-law activity per user, Zipf-like song
    popularity over the songs with plays, Zipf play counts; written in blocks by pyarrow."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    n_users, n_rows = config.count("n_users"), config.count("n_triplets")
    played = rng.choice(
        np.unique(songs), size=min(config.count("n_songs_with_plays"), len(np.unique(songs))), replace=False
    )
    users = pa.array(_user_ids(n_users, rng))
    activity = rng.pareto(1.5, size=n_users) + 1
    per_user = np.maximum(1, np.floor(activity / activity.sum() * n_rows)).astype(np.int64)
    while per_user.sum() > n_rows:  # the floor of 1 row per listener overshot: trim the most active
        per_user[np.argmax(per_user)] -= min(per_user.sum() - n_rows, per_user.max() - 1)
    per_user[np.argmax(per_user)] += n_rows - per_user.sum()  # the remainder to the most active
    popularity = 1 / np.arange(1, len(played) + 1) ** 0.8
    popularity /= popularity.sum()
    user_of_row = np.repeat(np.arange(n_users, dtype=np.int32), per_user)
    song_dictionary = pa.array(played)
    options = pacsv.WriteOptions(include_header=False, delimiter="\t", quoting_style="none")
    schema = pa.schema([("u", pa.string()), ("s", pa.string()), ("c", pa.int32())])
    with pacsv.CSVWriter(out / LAYOUT["triplets"], schema, write_options=options) as writer:
        for start in range(0, n_rows, 2_000_000):
            stop = min(start + 2_000_000, n_rows)
            u = pa.DictionaryArray.from_arrays(pa.array(user_of_row[start:stop]), users).dictionary_decode()
            s = pa.DictionaryArray.from_arrays(
                pa.array(rng.choice(len(played), size=stop - start, p=popularity).astype(np.int32)), song_dictionary
            ).dictionary_decode()
            c = pa.array(np.minimum(rng.zipf(2.0, size=stop - start), 9000).astype(np.int32))
            writer.write_table(pa.table({"u": u, "s": s, "c": c}))


def _user_ids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` SHA-1-like listener IDs (40 hex digits)."""
    raw = np.frombuffer(rng.bytes(20 * n), dtype=np.uint8).reshape(n, 20)
    hexes = np.array(list("0123456789abcdef"))
    digits = np.stack([hexes[raw >> 4], hexes[raw & 15]], axis=2).reshape(n, 40)
    return digits.view("<U40").ravel().tolist()


def _write_mismatches(
    config: RehearsalConfig, rng: np.random.Generator, out: Path, tracks: np.ndarray, songs: np.ndarray
) -> None:
    """``sid_mismatches.txt`` (the known wrong matches) and the diff-style accepted list."""
    n = config.count("n_mismatches")
    rows = rng.choice(len(tracks), size=n, replace=False)
    lines = [f"ERROR: <{songs[r]} {tracks[r]}> Artist {r}  -  Title {r}  !=  Other {r}  -  Song {r}\n" for r in rows]
    (out / LAYOUT["sid_mismatches"]).write_text("".join(lines), encoding="utf-8")
    accepted = lines[: config.count("n_accepted")]
    (out / LAYOUT["manually_accepted"]).write_text(
        f"1,{len(accepted)}d0\n" + "".join("< " + line for line in accepted), encoding="utf-8"
    )


# Last.fm-like density of the 50 vocabulary tags on the split tracks: the share of tracks
# positive for the tag of frequency rank r (1: rock) is 0.218 * r ** -0.78, the power law
# through the real split's figure tags (00s 4.3 %, jazz 3.6 %, metal 3.1 %, 80s 2.1 %,
# Hip-Hop 1.4 %, country 1.3 % of 241,889 tracks); it gives rock 22 % and the 50th tag 1 %.
TAG_SHARE = (0.218, 0.78)


def vocabulary_shares() -> np.ndarray:
    """The share of split tracks positive for each of the 50 tags, in MSD_50_TAGS order."""
    scale, power = TAG_SHARE
    return scale * np.arange(1, len(MSD_50_TAGS) + 1) ** -power


def _write_lastfm(
    config: RehearsalConfig, rng: np.random.Generator, out: Path, tracks: np.ndarray, split: np.ndarray
) -> None:
    """``lastfm_tags.db``: every split track and others as tids, 522k tags and 8.6M rows
    with weights 0-100. The 50 vocabulary tags are positive (weight above 50) on split
    tracks at Last.fm's density (:func:`vocabulary_shares`), with as many rows below the
    threshold on any tid; the other rows spread over the other tags by a power law."""
    n_tids = max(config.count("n_lastfm_tids"), len(split))
    others = np.setdiff1d(np.arange(len(tracks)), split)
    tid_rows = np.concatenate([split, rng.choice(others, size=n_tids - len(split), replace=False)])
    n_tags = max(config.count("n_tags"), len(MSD_50_TAGS) + len(GENRE_NAMES))
    names = list(MSD_50_TAGS) + [f"tag {i}" for i in range(n_tags - len(MSD_50_TAGS))]
    # Vocabulary rows: positives on split tracks (tids 1..len(split)), near misses anywhere.
    positives = np.maximum(1, np.round(vocabulary_shares() * len(split)).astype(np.int64))
    tid = [rng.choice(len(split), size=min(p, len(split)), replace=False) + 1 for p in positives]
    tag = [np.full(len(t), j + 1) for j, t in enumerate(tid)]
    val = [rng.integers(51, 101, size=len(t)) for t in tid]
    misses = rng.integers(1, n_tids + 1, size=int(positives.sum()))
    tid, tag = np.concatenate([*tid, misses]), np.concatenate([*tag, rng.choice(len(MSD_50_TAGS), len(misses)) + 1])
    val = np.concatenate([*val, rng.integers(0, 51, size=len(misses))])
    # The other tags' rows.
    n_rest = max(config.count("n_tid_tag") - len(tid), 0)
    popularity = 1 / np.arange(1, n_tags - len(MSD_50_TAGS) + 1) ** 1.1
    tid = np.concatenate([tid, rng.integers(1, n_tids + 1, size=n_rest)])
    tag = np.concatenate([tag, rng.choice(len(popularity), size=n_rest, p=popularity / popularity.sum()) + 51])
    val = np.concatenate([val, rng.integers(0, 101, size=n_rest)]).astype(float)
    with sqlite3.connect(out / LAYOUT["lastfm_tags_db"]) as db:
        db.execute("CREATE TABLE tids (tid TEXT, CONSTRAINT tid_unique UNIQUE (tid))")
        db.execute("CREATE TABLE tags (tag TEXT, CONSTRAINT tag_unique UNIQUE (tag))")
        db.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        db.executemany("INSERT INTO tids (ROWID, tid) VALUES (?, ?)", enumerate(tracks[tid_rows].tolist(), start=1))
        db.executemany("INSERT INTO tags (ROWID, tag) VALUES (?, ?)", enumerate(names, start=1))
        db.executemany(
            "INSERT INTO tid_tag VALUES (?, ?, ?)", zip(tid.tolist(), tag.tolist(), val.tolist(), strict=True)
        )
        db.execute("CREATE INDEX idx_tid_tag_tid ON tid_tag (tid)")
    db.close()


def _write_audio(config: RehearsalConfig, rng: np.random.Generator, out: Path, split_tracks: np.ndarray) -> None:
    """A pool of short rendered clips, and a hard link to one of them at every split
    track's path (track-ID convention)."""
    import soundfile as sf

    from msd_tagging.demo.synth import render_track

    audio = out / LAYOUT["audio"]
    pool = audio / "_pool"
    pool.mkdir(parents=True, exist_ok=True)
    n_pool = min(config.clip_pool, len(split_tracks))
    for i in range(n_pool):
        attrs = dict(
            genre=GENRE_NAMES[i % len(GENRE_NAMES)],
            lead="synth",
            drums="backbeat",
            bpm=90.0 + i % 60,
            major=bool(i % 2),
            acoustic=False,
            vocals="none",
            key=i % 12,
            energy=0.5,
        )
        signal = render_track(attrs, sample_rate=config.sample_rate, seconds=config.clip_seconds, seed=i)
        sf.write(pool / f"{i}.mp3", signal, config.sample_rate, format="MP3")
    clip_of = rng.integers(0, n_pool, size=len(split_tracks))
    for track, clip in zip(split_tracks.tolist(), clip_of.tolist(), strict=True):
        target = audio / track[2] / track[3] / track[4] / f"{track}.mp3"
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(pool / f"{clip}.mp3", target)
