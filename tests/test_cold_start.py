"""The cold-start benchmark's measure (benchmarks/cold_start.py) on constructed scores whose
answer is known: the withheld tracks are those its run made cold, and the paired
differences against audio point the right way."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import load_script


def _module():
    return load_script("benchmarks/cold_start.py")


def _scores(ids, values, tags):
    return pd.DataFrame({"track_id": ids, **{t: values[:, i] for i, t in enumerate(tags)}})


def test_measure_scores_only_the_withheld_tracks_and_pairs_the_differences():
    cold_start = _module()
    rng = np.random.default_rng(0)
    tags, n = ["rock", "jazz", "NA"], 160
    ids = [f"{i:06d}" for i in range(n)]
    labels = (rng.random((n, 3)) < 0.3).astype(int)
    tracks = pd.DataFrame({"track_id": ids, "split": ["train"] * 40 + ["test"] * 120})
    naturally_cold = {ids[40]}  # nobody ever played it: not a withheld track
    withheld = set(ids[41:101])
    audio = _scores(ids, rng.random((n, 3)), tags)
    informed = _scores(ids, labels + rng.normal(0, 0.4, (n, 3)), tags)

    def run(cold: set[str]) -> dict:
        vectors = pd.DataFrame({"track_id": ids, "cold": [i in cold for i in ids]})
        tables = {name: audio for name in cold_start.COLD}
        tables.update(mf_classifier_from_audio=informed, fusion_from_audio=informed, fusion_classifier=audio)
        labels_table = pd.DataFrame({"track_id": ids, **{t: labels[:, i] for i, t in enumerate(tags)}})
        return {**tables, "track_vectors": vectors, "tracks": tracks, "tag_labels": labels_table, "loss": "infonce"}

    warm = run(naturally_cold)
    warm["fusion_classifier"] = informed
    point = cold_start.measure(warm, run(naturally_cold | withheld), seed=1)
    assert point["withheld_tracks"] == 60 and point["test_tracks"] == 120 and point["loss"] == "infonce"
    rows = point["scorers"]
    assert all(row["tracks_scored"] == 60 for row in rows.values())
    gain = rows["fusion_from_audio"]["roc_auc_vs_audio"]
    assert gain[0] > 0.2 and gain[1] > 0  # the informed scorer beats random audio, interval above zero
    assert rows["hybrid"]["roc_auc_vs_audio"] == [0.0, 0.0, 0.0]  # a fusion on a cold track is the audio
    assert rows["fusion_classifier (with their plays)"]["roc_auc_vs_audio"][1] > 0
    text = cold_start.markdown({"commit": "abc1234", "machine": "test", "share": 0.3, "seeds": [1],
                                "worlds": {"demo": [point]}})  # fmt: skip
    assert "60 of 120 test tracks withheld" in text and "1 above, 0 below" in text and "| demo | 60 | `audio` |" in text
