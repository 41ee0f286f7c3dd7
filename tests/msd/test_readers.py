"""Every reader on the real MSD samples, and on malformed variants of them."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

from msd_tagging.core.errors import MSDDataError
from msd_tagging.demo.writer import python2_pickle_str_list
from msd_tagging.readers import (
    AudioPathIndex,
    normalise_tag,
    read_7digital_maps,
    read_audio_index,
    read_lastfm_json_tree,
    read_lastfm_tags_db,
    read_manually_accepted,
    read_sid_mismatches,
    read_split_pickle,
    read_tag_list,
    read_triplets,
    read_unique_tracks,
    split_train_valid,
    track_id_audio_path,
)

# --- Taste Profile triplets ------------------------------------------------------------


def test_triplets_sample(samples):
    frame = read_triplets(samples / "taste_train_triplets.head10.txt")
    assert list(frame.columns) == ["user_id", "song_id", "play_count"]
    assert len(frame) == 10
    assert isinstance(frame["user_id"].dtype, pd.CategoricalDtype)
    assert frame.loc[2, "song_id"] == "SOBBMDR12A8C13253B"
    assert frame["play_count"].tolist() == [1, 1, 2, 1, 1, 1, 2, 1, 1, 1]


def test_triplets_across_many_blocks_unify_ids(tmp_path):
    rng = np.random.default_rng(0)
    users = [f"{i:040x}" for i in range(50)]
    songs = [f"SO{i:016d}" for i in range(300)]
    rows = [(users[rng.integers(50)], songs[rng.integers(300)], int(rng.integers(1, 9))) for _ in range(4000)]
    path = tmp_path / "t.txt"
    path.write_text("".join(f"{u}\t{s}\t{c}\n" for u, s, c in rows))
    frame = read_triplets(path, block_size=4096)  # dozens of blocks, each with its own dictionary
    assert frame["user_id"].astype(str).tolist() == [r[0] for r in rows]
    assert frame["song_id"].astype(str).tolist() == [r[1] for r in rows]
    assert frame["play_count"].tolist() == [r[2] for r in rows]


def _copy_with_line(samples, tmp_path, number: int, line: str):
    lines = (samples / "taste_train_triplets.head10.txt").read_text().splitlines(keepends=True)
    lines[number - 1] = line
    path = tmp_path / "train_triplets.txt"
    path.write_text("".join(lines))
    return path


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\t1\textra\n", r"expected 3 .*found 4"),
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\n", r"expected 3 .*found 2"),
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\tmany\n", r"'many' is not an integer"),
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e\tSOAKIMP12A8C130995\t2.5\n", r"'2\.5' is not an integer"),
        ("NOT-A-USER\tSOAKIMP12A8C130995\t1\n", r"'NOT-A-USER' is not a Taste Profile user ID"),
        ("b80344d063b5ccb3212f76538f3d9e43d87dca9e\t../etc/passwd\t1\n", r"'\.\./etc/passwd' is not an MSD song ID"),
    ],
)
def test_triplets_malformed_name_file_and_line(samples, tmp_path, line, message):
    path = _copy_with_line(samples, tmp_path, 7, line)
    with pytest.raises(MSDDataError, match=message) as info:
        read_triplets(path)
    assert f"{path}, line 7" in str(info.value)


def test_triplets_missing_file(tmp_path):
    with pytest.raises(MSDDataError, match=r"nowhere\.txt: Taste Profile triplets file not found"):
        read_triplets(tmp_path / "nowhere.txt")


# --- unique_tracks, sid_mismatches, manually accepted -------------------------------


def test_unique_tracks_sample(samples):
    frame = read_unique_tracks(samples / "msd_unique_tracks.head3.txt")
    assert frame.iloc[2].tolist() == ["TRMMMRX128F93187D9", "SOGTUKN12AB017F4F1", "Hudson Mohawke", "No One Could Ever"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("TRMMMYQ128F932D90X<SEP>SOQMMHC12AB0180CB8<SEP>only three\n", r"expected 4 fields .*found 3"),
        (
            "TRMMMYQ128F932D901<SEP>SOQMMHC12AB0180CB8<SEP>A<SEP>B\n",
            r"TRMMMYQ128F932D901 is listed twice \(first on line 1\)",
        ),
        ("TR../../etc/passwd<SEP>SOQMMHC12AB0180CB8<SEP>A<SEP>B\n", r"'TR\.\./\.\./etc/passwd' is not an MSD track ID"),
    ],
)
def test_unique_tracks_malformed(samples, tmp_path, extra, message):
    path = tmp_path / "unique_tracks.txt"
    path.write_text((samples / "msd_unique_tracks.head3.txt").read_text() + extra)
    with pytest.raises(MSDDataError, match=message) as info:
        read_unique_tracks(path)
    assert f"{path}, line 4" in str(info.value)


def test_sid_mismatches_sample(samples):
    pairs = read_sid_mismatches(samples / "taste_sid_mismatches.head20.txt")
    assert len(pairs) == 20
    assert pairs.iloc[0].tolist() == ["SOUMNSI12AB0182807", "TRMMGKQ128F9325E10"]


def test_sid_mismatches_rejects_other_lines(samples, tmp_path):
    path = tmp_path / "sid_mismatches.txt"
    path.write_text((samples / "taste_sid_mismatches.head20.txt").read_text() + "garbage line\n")
    with pytest.raises(MSDDataError, match=r"line 21: expected 'ERROR: <SO"):
        read_sid_mismatches(path)


def test_manually_accepted_reads_diff_style(samples, tmp_path):
    mismatch_lines = (samples / "taste_sid_mismatches.head20.txt").read_text().splitlines()
    path = tmp_path / "sid_matches_manually_accepted.txt"
    path.write_text("3,4d2\n< " + mismatch_lines[2] + "\n< " + mismatch_lines[3] + "\n---\n\n")
    pairs = read_manually_accepted(path)
    assert pairs["track_id"].tolist() == ["TRMMBOC12903CEB46E", "TRMMITP128F425D8D0"]


# --- tags ---------------------------------------------------------------------------


def test_tag_list_sample(samples):
    tags = read_tag_list(samples / "msd_50tagList.txt")
    assert len(tags) == 50
    assert tags[:3] == ["rock", "pop", "alternative"]
    assert tags[33] == "Hip-Hop" and tags[-1] == "happy"


def test_tag_list_rejects_spelling_duplicates(tmp_path):
    path = tmp_path / "50tagList.txt"
    path.write_text("rock\nHip-Hop\nhip hop\n")
    with pytest.raises(MSDDataError, match=r"line 3: tag 'hip hop' repeats line 2"):
        read_tag_list(path)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Hip-Hop", "hip hop"),
        ("hip hop", "hip hop"),
        (" HIP-HOP ", "hip hop"),
        ("Progressive rock", "progressive rock"),
        ("female vocalist", "female vocalist"),
    ],
)
def test_normalise_tag(raw, key):
    assert normalise_tag(raw) == key


def test_normalise_keeps_distinct_tags_apart():
    assert normalise_tag("female vocalists") != normalise_tag("female vocalist")
    assert normalise_tag("electronic") != normalise_tag("electronica")


def _lastfm_db(path, rows):
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tids (tid TEXT)")
        db.execute("CREATE TABLE tags (tag TEXT)")
        db.execute("CREATE TABLE tid_tag (tid INT, tag INT, val FLOAT)")
        tids, tags = {}, {}
        for tid, tag, val in rows:
            if tid not in tids:
                tids[tid] = db.execute("INSERT INTO tids VALUES (?)", (tid,)).lastrowid
            if tag not in tags:
                tags[tag] = db.execute("INSERT INTO tags VALUES (?)", (tag,)).lastrowid
            db.execute("INSERT INTO tid_tag VALUES (?, ?, ?)", (tids[tid], tags[tag], val))
    db.close()


def test_lastfm_db_real_schema_from_sample(samples, tmp_path):
    record = json.loads((samples / "lastfm_track_json_example.json").read_text())
    path = tmp_path / "lastfm_tags.db"
    _lastfm_db(path, [(record["track_id"], tag, float(w)) for tag, w in record["tags"]])
    frame = read_lastfm_tags_db(path)
    assert frame["track_id"].astype(str).tolist() == ["TRAAAAK128F9318786"] * 2
    assert frame["tag"].astype(str).tolist() == ["alternative rock", "rock"]
    assert frame["weight"].tolist() == [100.0, 60.0]


def test_lastfm_db_missing_is_not_created(tmp_path):
    path = tmp_path / "lastfm_tags.db"
    with pytest.raises(MSDDataError, match=r"lastfm_tags\.db: Last\.fm tags database not found"):
        read_lastfm_tags_db(path)
    assert not path.exists()


def test_lastfm_db_not_sqlite(tmp_path):
    path = tmp_path / "lastfm_tags.db"
    path.write_text("<html>404 Not Found</html>")
    with pytest.raises(MSDDataError, match=r"not an SQLite database"):
        read_lastfm_tags_db(path)


def test_lastfm_db_wrong_schema(tmp_path):
    path = tmp_path / "lastfm_tags.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tids (tid TEXT)")
    db.close()
    with pytest.raises(MSDDataError, match=r"table\(s\) tags, tid_tag missing"):
        read_lastfm_tags_db(path)


def test_lastfm_db_is_opened_read_only(samples, tmp_path):
    path = tmp_path / "lastfm_tags.db"
    _lastfm_db(path, [("TRAAAAK128F9318786", "rock", 60.0)])
    os.chmod(path, 0o444)  # a read-write open of a read-only file would fail on write, not on read
    before = path.read_bytes()
    read_lastfm_tags_db(path)
    assert path.read_bytes() == before
    assert not (tmp_path / "lastfm_tags.db-journal").exists()


def test_lastfm_json_tree_sample(samples, tmp_path):
    folder = tmp_path / "lastfm_train" / "A" / "A" / "A"
    folder.mkdir(parents=True)
    shutil.copy(samples / "lastfm_track_json_example.json", folder / "TRAAAAK128F9318786.json")
    frame = read_lastfm_json_tree(tmp_path / "lastfm_train")
    assert frame["tag"].astype(str).tolist() == ["alternative rock", "rock"]
    assert frame["weight"].tolist() == [100.0, 60.0]


def test_lastfm_json_tree_bad_file_named(tmp_path):
    (tmp_path / "A").mkdir()
    bad = tmp_path / "A" / "TRAAAAK128F9318786.json"
    bad.write_text('{"track_id": "TRAAAAK128F9318786", "tags": [["rock"]]}')
    with pytest.raises(MSDDataError, match=r"TRAAAAK128F9318786\.json: tag entry \['rock'\] is not \[tag, weight\]"):
        read_lastfm_json_tree(tmp_path)


# --- split pickles ------------------------------------------------------------------


def test_complete_test_split(samples):
    ids = read_split_pickle(samples / "filtered_list_test.cP")
    assert len(ids) == 28435
    assert ids[:20] == (samples / "msd_filtered_list_test.first20.txt").read_text().split()


def test_python2_pickle_writer_is_byte_identical_to_the_real_split(samples):
    real = (samples / "filtered_list_test.cP").read_bytes()
    assert python2_pickle_str_list(read_split_pickle(samples / "filtered_list_test.cP")) == real


def test_split_train_valid_cut():
    ids = [f"TR{i:016d}" for i in range(10)]
    train, valid = split_train_valid(ids, 7)
    assert (len(train), len(valid)) == (7, 3) and valid[0] == ids[7]
    with pytest.raises(MSDDataError, match=r"cannot take 11 training tracks from a training list of 10"):
        split_train_valid(ids, 11)


class _Exploit:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (pickle.dumps(_Exploit(), protocol=0), r"refusing to load .*system"),
        (pickle.dumps({"a": 1}, protocol=0), r"expected a pickled list of track IDs, found dict"),
        (
            pickle.dumps(["TRAADIN128F931D672", "../../etc"], protocol=0),
            r"entry 1 is '\.\./\.\./etc', not an MSD track ID",
        ),
        (pickle.dumps(["TRAADIN128F931D672", "TRAADIN128F931D672"], protocol=0), r"listed twice \(entries 0 and 1\)"),
        (b"(lp1\nS'TRAADIN128F9", r"truncated or corrupt pickle"),
        (b"", r"truncated or corrupt pickle"),
    ],
)
def test_split_pickle_bad_inputs(tmp_path, payload, message):
    path = tmp_path / "filtered_list_train.cP"
    path.write_bytes(payload)
    with pytest.raises(MSDDataError, match=message) as info:
        read_split_pickle(path)
    assert str(path) in str(info.value)


def test_split_pickle_of_bytes_is_accepted(tmp_path):
    path = tmp_path / "split.cP"
    path.write_bytes(pickle.dumps([b"TRAADIN128F931D672"], protocol=2))
    assert read_split_pickle(path) == ["TRAADIN128F931D672"]


# --- audio paths --------------------------------------------------------------------


def test_track_id_convention(samples):
    first = (samples / "choi_test_x_msd_id.txt.head20").read_text().split()[0]
    assert track_id_audio_path(first) == "A/A/D/TRAADIN128F931D672.mp3"


@pytest.mark.parametrize("bad", ["../../etc/passwd", "TRAADIN128F931D67/", "TRAADIN128F931D67\n", "traadin128f931d672"])
def test_track_id_convention_rejects_unsafe_ids(bad):
    with pytest.raises(MSDDataError, match="is not an MSD track ID"):
        track_id_audio_path(bad)


def test_audio_index(tmp_path):
    path = tmp_path / "index_MSD.tsv"
    path.write_text(
        "TRAADIN128F931D672\tA/A/D/TRAADIN128F931D672.mp3\nTRAADQW128F427CE68\tA/A/D/TRAADQW128F427CE68.mp3\n"
    )
    index = AudioPathIndex("index", read_audio_index(path))
    paths = index.paths_for(pd.Series(["TRAADQW128F427CE68", "TRAAFDR128F932937A"]))
    assert paths.tolist() == ["A/A/D/TRAADQW128F427CE68.mp3", None]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("TRAADIN128F931D672\t../../etc/passwd\n", r"points outside the audio root"),
        ("TRAADIN128F931D672\t/etc/passwd\n", r"points outside the audio root"),
        ("TRAADIN128F931D672\n", r"expected 2 tab-separated columns"),
        ("../AADIN128F931D672\tA/A/D/x.mp3\n", r"is not an MSD track ID"),
    ],
)
def test_audio_index_rejects_unsafe_entries(tmp_path, line, message):
    path = tmp_path / "index_MSD.tsv"
    path.write_text(line)
    with pytest.raises(MSDDataError, match=message) as info:
        read_audio_index(path)
    assert f"{path}, line 1" in str(info.value)


def test_7digital_maps_from_choi_samples(samples, tmp_path):
    msd_ids = (samples / "choi_test_x_msd_id.txt.head20").read_text().split()
    sevend = [int(x) for x in (samples / "choi_test_x_7d_id.txt.head20").read_text().split()]
    files = (samples / "choi_test_x_filename.txt.head20").read_text().split()
    (tmp_path / "MSD_id_to_7D_id.pkl").write_bytes(pickle.dumps(dict(zip(msd_ids, sevend, strict=True)), protocol=2))
    to_path = {d: f.replace(".npy", ".clip.mp3") for d, f in zip(sevend[:-1], files[:-1], strict=True)}
    (tmp_path / "7D_id_to_path.pkl").write_bytes(pickle.dumps(to_path, protocol=2))
    table = read_7digital_maps(tmp_path / "MSD_id_to_7D_id.pkl", tmp_path / "7D_id_to_path.pkl")
    assert len(table) == 19  # the last track's 7digital ID has no clip
    paths = AudioPathIndex("7digital", table).paths_for(pd.Series(msd_ids[:1]))
    assert paths.tolist() == ["6/0/6010476.clip.mp3"]
