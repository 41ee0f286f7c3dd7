"""Log-mel front end, damage checks and the feature store."""

from __future__ import annotations

import os

import numpy as np
import pytest
import soundfile as sf

from msd_tagging.audio.signal import DamageConfig, MelConfig, check_and_extract, decode, log_mel
from msd_tagging.audio.store import ExtractionPlan, FeatureStore, write_plan
from msd_tagging.core.errors import MSDDataError

SR = 16000


def _tone(freq: float, seconds: float = 2.0, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 4000.0])
def test_pure_tone_lands_in_its_mel_band(freq):
    import librosa

    features = log_mel(_tone(freq), MelConfig())
    centres = librosa.mel_frequencies(n_mels=96 + 2, fmin=0.0, fmax=SR / 2)[1:-1]
    loudest = int(np.argmax(features.mean(axis=1)))
    assert abs(loudest - int(np.argmin(np.abs(centres - freq)))) <= 1


def test_matches_librosa_melspectrogram():
    import librosa

    signal = np.random.default_rng(0).standard_normal(SR * 2).astype(np.float32) * 0.1
    ours = log_mel(signal, MelConfig())
    theirs = np.log10(1 + 10000 * librosa.feature.melspectrogram(y=signal, sr=SR, n_fft=512, hop_length=256, n_mels=96))
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert ours.shape == (96, 1 + signal.size // 256)


def test_db_compression_is_finite_on_silence():
    features = log_mel(np.zeros(SR, np.float32), MelConfig(log="db"))
    assert np.isfinite(features).all()


def test_silent_clip_is_reported_and_finite_when_kept(tmp_path):
    path = tmp_path / "silent.wav"
    sf.write(path, np.zeros(SR * 2, np.float32), SR)
    assert check_and_extract(path, MelConfig(), DamageConfig())[1] == "silent"
    features, status, _ = check_and_extract(path, MelConfig(), DamageConfig(keep_silent=True))
    assert status == "silent" and features is not None and np.isfinite(features).all()


def test_truncated_mp3_is_flagged(tmp_path):
    path = tmp_path / "clip.mp3"
    sf.write(path, _tone(440.0, seconds=4.0), SR, format="MP3")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    signal, declared = decode(path, SR)
    assert signal.size < 0.5 * declared  # soundfile decodes it short, without an error
    features, status, detail = check_and_extract(path, MelConfig(), DamageConfig())
    assert (features, status) == (None, "truncated") and "of 4.00 s" in detail
    kept, status, _ = check_and_extract(path, MelConfig(), DamageConfig(keep_truncated=True))
    assert status == "truncated" and kept is not None


def test_expected_length_catches_short_files_without_header(tmp_path):
    path = tmp_path / "short.wav"
    sf.write(path, _tone(440.0, seconds=2.0), SR)
    assert check_and_extract(path, MelConfig(), DamageConfig(expected_seconds=30))[1] == "truncated"
    assert check_and_extract(path, MelConfig(), DamageConfig(min_seconds=3))[1] == "too_short"
    # a cut file is reported as truncated even when what is left is also too short
    assert check_and_extract(path, MelConfig(), DamageConfig(expected_seconds=30, min_seconds=3))[1] == "truncated"


def test_resampling_and_downmix(tmp_path):
    path = tmp_path / "stereo44k.wav"
    left = _tone(1000.0, sr=44100)
    sf.write(path, np.stack([left, left], axis=1), 44100)
    signal, declared = decode(path, SR)
    assert abs(signal.size - 2 * SR) <= 1 and abs(declared - 2 * SR) <= 1
    assert 0.45 < np.abs(signal).max() < 0.55


@pytest.mark.parametrize(
    ("content", "status"), [(b"", "zero_byte"), (b"<html>404</html>", "not_audio"), (os.urandom(4096), "not_audio")]
)
def test_bad_files_are_counted_not_fatal(tmp_path, content, status):
    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "bad.mp3").write_bytes(content)
    sf.write(tmp_path / "audio" / "good.mp3", _tone(440.0), SR, format="MP3")
    plan = ExtractionPlan(jobs=(("TRAAAAA0000000000001", "bad.mp3"), ("TRAAAAA0000000000002", "good.mp3")), workers=1)
    counts = write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    assert counts[status] == 1 and counts["ok"] == 1
    store = FeatureStore(tmp_path / "store")
    assert store.track_ids == ["TRAAAAA0000000000002"]
    assert store.manifest.set_index("track_id").loc["TRAAAAA0000000000001", "status"] == status


def test_nan_features_stop_the_run_naming_the_track(tmp_path, monkeypatch):
    import msd_tagging.audio.signal as audio

    (tmp_path / "audio").mkdir()
    sf.write(tmp_path / "audio" / "a.wav", _tone(440.0), SR)
    monkeypatch.setattr(audio, "log_mel", lambda signal, config: np.full((96, 10), np.nan, np.float32))
    plan = ExtractionPlan(jobs=(("TRAAAAA0000000000001", "a.wav"),), workers=1)
    with pytest.raises(MSDDataError, match=r"track TRAAAAA0000000000001: .*a\.wav: log-mel features are not finite"):
        write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)


def _plan(tmp_path, n: int, per_shard: int = 2) -> ExtractionPlan:
    (tmp_path / "audio").mkdir(exist_ok=True)
    jobs = []
    for i in range(n):
        sf.write(tmp_path / "audio" / f"{i}.wav", _tone(200.0 + 100 * i, seconds=1.0), SR)
        jobs.append((f"TRAAAAA{i:013d}", f"{i}.wav"))
    return ExtractionPlan(jobs=tuple(jobs), tracks_per_shard=per_shard, workers=1)


def test_store_round_trip_and_resume(tmp_path):
    plan = _plan(tmp_path, 5)
    first = write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    assert first == {"skipped_done": 0, "tried": 5, "ok": 5}
    store = FeatureStore(tmp_path / "store")
    expected = log_mel(decode(tmp_path / "audio" / "3.wav", SR)[0], MelConfig())
    np.testing.assert_allclose(store.features("TRAAAAA0000000000003").astype(np.float32), expected, atol=2e-2)
    assert store.features("TRAAAAA0000000000003").dtype == np.float16
    again = write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    assert again == {"skipped_done": 5, "tried": 0}


def test_tracks_are_read_from_the_shards_not_mapped_and_slices_read_only_their_frames(tmp_path):
    """Training holds a handle per track (``lazy``) and reads the frames a chunk needs; a
    shard saved column-major by an older store reads the same."""
    plan = _plan(tmp_path, 5)
    write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    store = FeatureStore(tmp_path / "store")
    track = "TRAAAAA0000000000003"
    whole = store.features(track)
    handle = store.lazy(track)
    assert handle.shape == whole.shape and not isinstance(whole, np.memmap)
    np.testing.assert_array_equal(handle[:, 7:30], whole[:, 7:30])
    np.testing.assert_array_equal(handle[:, whole.shape[1] - 3 : whole.shape[1] + 5], whole[:, -3:])  # past the end
    np.testing.assert_array_equal(np.asarray(handle), whole)
    shard = next((tmp_path / "store" / "shards").glob("*.npy"))
    rows = np.load(shard)
    np.save(shard, np.asfortranarray(rows))
    older = FeatureStore(tmp_path / "store")
    for t in older.track_ids:
        np.testing.assert_array_equal(older.features(t), store.features(t))
    np.save(shard, rows[:-1])  # cut short: named, not misread
    with pytest.raises(MSDDataError, match="ends before row"):
        [FeatureStore(tmp_path / "store").features(t) for t in store.track_ids]


def test_half_written_shard_is_not_counted_done(tmp_path):
    plan = _plan(tmp_path, 4)
    write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    shards = tmp_path / "store" / "shards"
    victim = sorted(shards.glob("*.parquet"))[0]
    victim.unlink()  # as if killed between the .npy and its manifest part
    (shards / ".deadbeef.npy.partial-1").write_bytes(b"half")
    assert len(FeatureStore(tmp_path / "store").track_ids) == 2
    counts = write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    assert counts == {"skipped_done": 2, "tried": 2, "ok": 2}
    assert len(FeatureStore(tmp_path / "store").track_ids) == 4


def test_store_refuses_other_parameters(tmp_path):
    plan = _plan(tmp_path, 1)
    write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    other = ExtractionPlan(jobs=plan.jobs, mel=MelConfig(n_mels=128), workers=1)
    with pytest.raises(
        MSDDataError, match=r"config\.json: the feature store was built with other mel or damage parameters"
    ):
        write_plan(other, tmp_path / "store", tmp_path / "audio", progress=False)


def test_parallel_extraction_equals_serial(tmp_path):
    from dataclasses import replace

    plan = _plan(tmp_path, 6)
    write_plan(plan, tmp_path / "one", tmp_path / "audio", progress=False)
    write_plan(replace(plan, workers=2), tmp_path / "two", tmp_path / "audio", progress=False)
    one, two = FeatureStore(tmp_path / "one"), FeatureStore(tmp_path / "two")
    for track in one.track_ids:
        np.testing.assert_array_equal(one.features(track), two.features(track))


def test_store_from_other_raw_data_is_rebuilt(tmp_path):
    from dataclasses import replace

    plan = replace(_plan(tmp_path, 2), source="world-A")
    write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    sf.write(tmp_path / "audio" / "0.wav", _tone(3000.0, seconds=1.0), SR)  # the world was redrawn
    counts = write_plan(replace(plan, source="world-B"), tmp_path / "store", tmp_path / "audio", progress=False)
    assert counts["tried"] == 2  # nothing reused
    store = FeatureStore(tmp_path / "store")
    assert store.config["source"] == "world-B"
    expected = log_mel(decode(tmp_path / "audio" / "0.wav", SR)[0], MelConfig())
    np.testing.assert_allclose(store.features("TRAAAAA0000000000000").astype(np.float32), expected, atol=2e-2)


def test_scoring_runs_in_bounded_passes_of_tracks(tmp_path, monkeypatch):
    """2.4M chunks of the MSD's previews are never scored in one pass: tracks go through
    the tagger ``tracks_per_task`` at a time, with the same probabilities."""
    import pandas as pd
    import torch

    from msd_tagging.models.tagger import Tagger
    from msd_tagging.models.vgg import VGGConfig, VGGTagger
    from msd_tagging.pipelines.audio.nodes import score_audio

    plan = _plan(tmp_path, 7)
    write_plan(plan, tmp_path / "store", tmp_path / "audio", progress=False)
    store = FeatureStore(tmp_path / "store")
    torch.manual_seed(0)
    config = VGGConfig(n_mels=96, n_tags=2, channels=(4, 8), pools=((2, 2), (2, 2)), dropout=0.1)
    model = {
        "config": config.as_dict(),
        "state_dict": VGGTagger(config).state_dict(),
        "tags": ["a", "b"],
        "chunk_frames": 32,
    }
    tracks = pd.DataFrame({"track_id": [t for t, _ in plan.jobs], "split": "test"})
    from msd_tagging.params import AudioParams

    train = {"device": "cpu", "eval_batch_size": 4}
    passes = []
    real = Tagger.predict_and_embed
    monkeypatch.setattr(
        Tagger,
        "predict_and_embed",
        lambda self, features, batch_size=64: passes.append(len(features)) or real(self, features, batch_size),
    )
    small, small_embedded = score_audio(model, store, tracks, AudioParams(train=train, scoring={"tracks_per_task": 3}))
    assert passes == [3, 3, 1]
    whole, whole_embedded = score_audio(
        model, store, tracks, AudioParams(train=train, scoring={"tracks_per_task": 1000})
    )
    assert small["track_id"].tolist() == whole["track_id"].tolist() == small_embedded["track_id"].tolist()
    np.testing.assert_allclose(small[["a", "b"]].to_numpy(), whole[["a", "b"]].to_numpy(), atol=1e-6)
    # The embedding comes out of the same pass: the network's penultimate layer (8 channels), per track.
    assert small_embedded.shape == (len(small), 1 + 8)
    np.testing.assert_allclose(small_embedded.iloc[:, 1:].to_numpy(), whole_embedded.iloc[:, 1:].to_numpy(), atol=1e-6)
