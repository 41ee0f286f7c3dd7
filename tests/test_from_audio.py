"""Listening predicted from audio: the audio -> MF vector network and its scorer."""

import numpy as np
import pandas as pd
import pytest

from msd_tagging.core.errors import MSDDataError, ParameterError
from msd_tagging.listening.from_audio import mean_cosine, predict_listening, predictions_for, recall_at
from msd_tagging.params import FromAudioParams


def _world(n=300, d=12, k=6, seed=0):
    """Embeddings that determine the vectors through a fixed nonlinear map, plus noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w1, w2 = rng.normal(size=(d, 16)), rng.normal(size=(16, k))
    y = np.tanh(x @ w1) @ w2 + rng.normal(0, 0.2, size=(n, k))
    ids = [f"T{i:03d}" for i in range(n)]
    split = ["train"] * 200 + ["valid"] * 50 + ["test"] * 50
    vectors = pd.DataFrame(y, columns=[f"f{j:03d}" for j in range(k)])
    vectors.insert(0, "cold", False)
    vectors.insert(0, "track_id", ids)
    vectors.loc[250:, [f"f{j:03d}" for j in range(k)]] = np.nan  # test tracks unplayed
    vectors.loc[250:, "cold"] = True
    embeddings = pd.DataFrame(x, columns=[f"e{j:03d}" for j in range(d)])
    embeddings.insert(0, "track_id", ids)
    return embeddings, vectors, pd.DataFrame({"track_id": ids, "split": split}), y


def test_recall_and_cosine_are_what_they_say():
    target = np.eye(4, dtype=np.float32)
    assert recall_at(target, target, k=1) == 1.0
    assert mean_cosine(target, target) == pytest.approx(1.0)
    shuffled = target[[1, 0, 3, 2]]
    assert recall_at(shuffled, target, k=1) == 0.0
    assert recall_at(shuffled, target, k=2) == 1.0  # its own is second nearest of four (ties broken for it)


def test_both_losses_learn_the_map_better_than_the_mean_vector_and_reproduce():
    embeddings, vectors, tracks, y = _world()
    params = FromAudioParams(hidden=32, max_epochs=150, patience=15, batch_size=32)
    predicted, report = predict_listening(embeddings, vectors, tracks, params)
    assert set(predicted["loss"]) == {"cosine", "infonce"}
    assert len(predicted) == 2 * len(embeddings)  # every track with audio, the unplayed too
    assert not predicted["cold"].any()
    for loss in ("cosine", "infonce"):
        assert report["losses"][loss]["valid_mean_cosine"] > report["baseline_mean_vector_valid_cosine"] + 0.2
        test = predictions_for(predicted, loss).iloc[250:]
        # Unplayed test tracks: their vectors were never seen, yet the prediction points their way.
        assert mean_cosine(test.filter(like="f").to_numpy(), y[250:]) > 0.5
    again, _ = predict_listening(embeddings, vectors, tracks, params)
    pd.testing.assert_frame_equal(predicted, again)


def test_listening_from_audio_names_what_is_missing():
    embeddings, vectors, tracks, _ = _world()
    with pytest.raises(MSDDataError, match="warm training and validation"):
        predict_listening(embeddings, vectors, tracks.assign(split="test"), FromAudioParams())
    with pytest.raises(ParameterError, match="listening.from_audio.losses"):
        FromAudioParams(losses=())
