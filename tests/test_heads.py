"""Heads on pretrained embeddings, and the embedding store they read."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from msd_tagging.audio.store import FeatureStore
from msd_tagging.core.metrics import macro_quality
from msd_tagging.models.heads import fit_head
from msd_tagging.params import HeadParams


def _embedded(n: int, seed: int = 0):
    """Embeddings in which two of three tags are linearly readable and one needs a product."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 12)).astype(np.float32)
    y = np.column_stack([x[:, 0] > 0.5, x[:, 1] + x[:, 2] > 1.0, (x[:, 3] * x[:, 4]) > 0.3]).astype(np.int8)
    return x, y


def test_each_kind_of_head_learns_and_the_better_on_validation_is_kept():
    x, y = _embedded(1200)
    vx, vy = _embedded(400, seed=1)
    params = HeadParams(max_epochs=60, patience=8, hidden=32, dropout=0.0)
    fitted = fit_head(x, y, vx, vy, params, "msd_musicnn")
    assert set(fitted.validation) == {"logistic", "mlp"} and fitted.kind == max(
        fitted.validation, key=fitted.validation.get
    )
    assert fitted.validation["logistic"] > 0.7  # the linear tags are read
    assert fitted.validation["mlp"] > fitted.validation["logistic"]  # the product tag needs the hidden layer
    only = fit_head(x, y, vx, vy, HeadParams(kinds=("logistic",)), "msd_vgg")
    assert only.kind == "logistic" and only.config.hidden == 0 and only.config.embedding == "msd_vgg"


def test_the_mlp_head_is_bit_reproducible_on_one_thread():
    x, y = _embedded(600)
    vx, vy = _embedded(200, seed=1)
    params = HeadParams(kinds=("mlp",), max_epochs=15, hidden=16, threads=1)
    a, b = (fit_head(x, y, vx, vy, params, "msd_musicnn") for _ in range(2))
    for key in a.state_dict:
        assert np.array_equal(a.state_dict[key].numpy(), b.state_dict[key].numpy()), key
    other = fit_head(x, y, vx, vy, HeadParams(kinds=("mlp",), max_epochs=15, hidden=16, seed=1), "msd_musicnn")
    assert not np.array_equal(other.state_dict["output.weight"].numpy(), a.state_dict["output.weight"].numpy())


def test_a_saved_head_is_a_tagger_record_and_scores_as_it_was_fitted():
    from msd_tagging.models.pretrained import pretrained_record
    from msd_tagging.models.registry import model_record
    from msd_tagging.models.tagger import Tagger

    x, y = _embedded(400)
    vx, vy = _embedded(200, seed=1)
    fitted = fit_head(x, y, vx, vy, HeadParams(kinds=("logistic",)), "msd_musicnn")
    base = pretrained_record("msd_musicnn")
    record = model_record("head", fitted.config, fitted.state_dict, ["a", "b", "c"], base["preprocessing"], {})
    tagger = Tagger.load(record, "cpu")
    assert tagger.is_head and tagger.base is not None and tagger.tags == ["a", "b", "c"]
    probabilities, _ = tagger.predict_from_embeddings(vx)
    assert probabilities.shape == (200, 3)
    assert macro_quality(vy, probabilities) == pytest.approx(fitted.validation["logistic"], abs=1e-5)


def _store(tmp_path, n: int = 5) -> FeatureStore:
    """A feature store of ``n`` short random log-mels (enough for one musicnn patch each)."""
    from msd_tagging.audio.store import MANIFEST_COLUMNS

    rng = np.random.default_rng(0)
    shards = tmp_path / "logmel" / "shards"
    shards.mkdir(parents=True)
    frames = [190, 200, 400, 190, 380][:n]
    data = rng.random((sum(frames), 96)).astype(np.float16)
    np.save(shards / "s.npy", data)
    offsets = np.cumsum([0, *frames[:-1]])
    manifest = pd.DataFrame(
        [
            (f"T{i}", f"T{i}.mp3", "ok", "", "s", int(o), f, 1, 1)
            for i, (o, f) in enumerate(zip(offsets, frames, strict=True))
        ],
        columns=list(MANIFEST_COLUMNS),
    )
    manifest.to_parquet(shards / "s.parquet", index=False)
    (tmp_path / "logmel" / "config.json").write_text(
        '{"mel": {"sample_rate": 16000, "n_fft": 512, "hop_length": 256, "n_mels": 96, "fmin": 0.0, "fmax": null, '
        '"log": "log10"}, "source": "test"}'
    )
    return FeatureStore(tmp_path / "logmel")


def test_the_embedding_store_pools_each_track_once_and_resumes(tmp_path):
    from msd_tagging.models.embeddings import EmbeddingStore, EmbeddingStoreWriter
    from msd_tagging.models.pretrained import pretrained_record
    from msd_tagging.models.tagger import Tagger

    features = _store(tmp_path)
    record = pretrained_record("msd_musicnn")
    settings = SimpleNamespace(with_std=True, tracks_per_shard=2, device="cpu", dask_scheduler=None)
    writer = EmbeddingStoreWriter(tmp_path / "embeddings", progress=False)
    manifest = writer.embed(features, "msd_musicnn", record, settings)
    store = EmbeddingStore(tmp_path / "embeddings", manifest)
    assert sorted(store.track_ids) == [f"T{i}" for i in range(5)] and store.matrix.shape == (5, 400)  # mean, std
    tagger = Tagger.load(record, "cpu")
    direct = tagger.pooled_embeddings([features.features("T2")])[0]
    np.testing.assert_allclose(store.rows(["T2"])[0, :200], direct, atol=1e-6)
    _, embedding = tagger.predict_and_embed([features.features("T2")])
    np.testing.assert_allclose(direct, embedding[0], atol=1e-6)  # the mean over patches tag_audio writes
    assert np.all(store.rows(["T0"])[0, 200:] == 0)  # one patch: no spread

    # A kill after two shards: the rerun embeds only what is missing.
    parts = sorted((tmp_path / "embeddings/shards").glob("*.parquet"))
    lost = len(pd.read_parquet(parts[-1]))
    parts[-1].unlink()
    calls = []
    original = Tagger.pooled_embeddings

    def counting(self, clips, **kwargs):
        calls.append(len(clips))
        return original(self, clips, **kwargs)

    Tagger.pooled_embeddings = counting
    try:
        again = writer.embed(features, "msd_musicnn", record, settings)
    finally:
        Tagger.pooled_embeddings = original
    assert calls == [lost]  # only the uncommitted shard's tracks
    assert sorted(again["track_id"]) == sorted(manifest["track_id"])
    # Another model's rows are another space: the store is rebuilt, and a stale read is refused.
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.models.embeddings import store_config

    with pytest.raises(MSDDataError, match="other settings"):
        store.check(store_config("msd_vgg", pretrained_record("msd_vgg"), features, True))
