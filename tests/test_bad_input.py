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
