"""Bad-input cases not covered elsewhere; RELIABILITY.md lists the whole suite
(``pytest -m bad_input`` runs it alone)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from msd_tagging.audio import DamageConfig, MelConfig, check_and_extract
from msd_tagging.mapping import IdMaps
from msd_tagging.pipelines.listening.nodes import (
    combine_scores,
    factorise_plays,
    mf_centroid_scores,
)

pytestmark = pytest.mark.bad_input


def test_id3_only_mp3_is_not_audio_and_the_detail_says_so(tmp_path):
    path = tmp_path / "tag_only.mp3"
    path.write_bytes(b"ID3\x04\x00\x00\x00\x00\x00\x0a" + bytes(10))  # an ID3v2 header and padding, no frames
    features, status, detail = check_and_extract(path, MelConfig(), DamageConfig())
    assert features is None and status == "not_audio"
    assert detail.startswith("cannot be decoded as audio (20 bytes)")


def test_tracks_without_plays_and_users_with_one_play(tmp_path):
    ids = IdMaps.build(users=[f"u{i}" for i in range(30)], tracks=[f"T{i}" for i in range(12)])
    rows = [(u, t, 1 + (u * t) % 4) for u in range(29) for t in range(10) if (u + t) % 3]
    rows.append((29, 0, 1))  # a listener with a single play
    plays = pd.DataFrame(rows, columns=["user_idx", "track_idx", "play_count"])  # T10, T11: never played
    params = {"weighting": "log1p", "bpr": {"factors": 8, "iterations": 20, "num_threads": 1, "seed": 0}}
    vectors = factorise_plays(plays, ids, params)
    assert vectors.set_index("track_id").loc[["T10", "T11"], "cold"].all()
    assert vectors.set_index("track_id").loc[["T10", "T11"], "f000"].isna().all()
    assert np.isfinite(vectors.loc[~vectors["cold"], "f000"]).all()

    tracks = pd.DataFrame({"track_id": ids.ids("tracks"), "split": ["train"] * 8 + ["test"] * 4})
    audio = pd.DataFrame({"track_id": ids.ids("tracks"), "rock": np.linspace(0.1, 0.9, 12)})
    labels = pd.DataFrame({"track_id": ids.ids("tracks"), "rock": [0, 1] * 6})
    listening = {"use_bias": False, "top_n": 3, "drop_fraction": 0.0, "calibration": "cosine", "platt_c": 1.0}
    mf = mf_centroid_scores(vectors, audio, tracks, labels, listening)
    assert not mf["track_id"].isin(["T10", "T11"]).any()  # cold tracks get no MF score
    hybrid = combine_scores(audio, mf).set_index("track_id")
    assert hybrid.loc["T11", "rock"] == audio.set_index("track_id").loc["T11", "rock"]  # audio alone


def test_yaml_with_python_tags_is_rejected(tmp_path):
    """Configuration is loaded safely: a ``!!python`` tag is an error, never executed."""
    from kedro.config import OmegaConfigLoader

    from msd_tagging import settings

    conf = tmp_path / "conf"
    (conf / "base").mkdir(parents=True)
    (conf / "local").mkdir()
    marker = tmp_path / "pwned"
    (conf / "base" / "parameters.yml").write_text(f'evil: !!python/object/apply:os.system ["touch {marker}"]\n')
    loader = OmegaConfigLoader(str(conf), **settings.CONFIG_LOADER_ARGS)
    with pytest.raises(Exception, match="python/object/apply"):
        loader["parameters"]
    assert not marker.exists()


def test_reliability_md_names_real_tests():
    """Every test RELIABILITY.md cites exists, so the suite it describes is the one that runs."""
    import ast

    from tests.conftest import REPO, reliability_test_ids

    named = reliability_test_ids()
    assert len(named) >= 30
    for test_id in sorted(named):
        path, name = test_id.split("::")
        tree = ast.parse((REPO / path).read_text())
        functions = {node.name for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
        assert name in functions, f"RELIABILITY.md cites {test_id}, which does not exist"


# --- 1. the demo generator never replaces a folder it did not write ------------------


def _snapshot(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_demo_generation_never_replaces_a_users_folder(tiny_world, tmp_path, monkeypatch):
    """``raw_root`` pointed at a real folder in the default env: the run stops naming the
    folder, and every file in it is left as it was (it used to be ``rmtree``-d)."""
    from msd_tagging.demo.writer import write_world
    from msd_tagging.errors import MSDDataError
    from tests.test_run import _conf, _run, _tiny_env

    mine = tmp_path / "my_msd"
    (mine / "taste_profile").mkdir(parents=True)
    (mine / "notes.txt").write_text("my notes, not a demo world\n")
    (mine / "taste_profile" / "train_triplets.txt").write_text("u\ts\t1\n")
    before = _snapshot(mine)

    with pytest.raises(MSDDataError, match=rf"{mine}.*did not write.*set raw_root"):
        write_world(tiny_world, mine, workers=1, progress=False)
    assert _snapshot(mine) == before

    env = _tiny_env(tmp_path)
    env["globals.yml"]["raw_root"] = str(mine)
    conf = _conf(tmp_path, {"tiny": env})
    with pytest.raises(MSDDataError, match=rf"would replace {mine}, which holds files the demo generator did not write"):
        _run(conf, "tiny", tmp_path, monkeypatch, pipeline="demo_data")
    assert _snapshot(mine) == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".my_msd")] == []  # no staging left


def test_demo_generation_replaces_only_its_own_marked_folder(tiny_world, tmp_path):
    from msd_tagging.demo.writer import MANIFEST, may_replace, write_world

    empty = tmp_path / "empty"
    empty.mkdir()
    assert may_replace(empty) and may_replace(tmp_path / "absent")
    write_world(tiny_world, empty, workers=1, progress=False)
    assert (empty / MANIFEST).is_file()
    (empty / "stray.txt").write_text("inside a generator folder")
    assert may_replace(empty)  # the marker makes it the generator's own
    (empty / MANIFEST).write_text('{"source": "external"}')
    assert not may_replace(empty)  # a forged or foreign record is not the marker
    afile = tmp_path / "a_file"
    afile.write_text("x")
    assert not may_replace(afile)


def test_stale_staging_of_a_killed_generation_is_removed(tmp_path):
    """``kill -9`` during generation leaves ``.<name>.partial-<pid>``; the next run removes it
    when that process is gone, and leaves a live process's staging alone."""
    import os

    from msd_tagging.demo.writer import remove_stale_staging

    dead = _dead_pid()
    stale = tmp_path / f".demo.partial-{dead}"
    (stale / "audio").mkdir(parents=True)
    live = tmp_path / f".demo.partial-{os.getppid()}"
    live.mkdir()
    other = tmp_path / ".demo.partial-notes"
    other.mkdir()
    assert remove_stale_staging(tmp_path / "demo") == [stale]
    assert not stale.exists() and live.exists() and other.exists()


def _dead_pid() -> int:
    import subprocess

    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid
