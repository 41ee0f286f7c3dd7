"""The pretrained MSD taggers: torch ports checked against TensorFlow's stored outputs,
weight files that describe themselves, musicnn's patching, and their use in ``tag_audio``
and in the hybrid (``audio.model_source``)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from msd_tagging.audio.signal import MelConfig
from msd_tagging.core.errors import MSDDataError, ParameterError
from msd_tagging.models.pretrained import (
    PRETRAINED,
    WEIGHTS,
    check_preprocessing,
    check_tags,
    in_tag_order,
    patches,
    pretrained_record,
)
from msd_tagging.models.tagger import Tagger
from msd_tagging.params import AudioParams, TagAudioParams

REFERENCE = Path(__file__).parent / "data" / "musicnn_reference.npz"


@pytest.fixture(scope="module")
def reference():
    return dict(np.load(REFERENCE))


@pytest.mark.parametrize("name", PRETRAINED)
def test_the_port_gives_tensorflows_outputs_patch_by_patch(name, reference):
    """Stored by tools/convert_musicnn.py from musicnn's own graph: seeded random log-mels
    and two patches of a real recording."""
    tagger = Tagger.load(pretrained_record(name), "cpu")
    with torch.inference_mode():
        logits, embedding = tagger.network(torch.from_numpy(reference["inputs"]))
    probabilities = torch.sigmoid(logits).numpy()
    assert probabilities.shape == reference[f"{name}_sigmoid"].shape == (6, 50)
    assert np.abs(probabilities - reference[f"{name}_sigmoid"]).max() <= 1e-4
    # The embedding musicnn's PyPI release gets wrong past the first patch: the same tensor as TF's.
    assert embedding.shape[1] == {"msd_vgg": 256, "msd_musicnn": 200}[name]
    np.testing.assert_allclose(embedding.numpy(), reference[f"{name}_embedding"], atol=1e-4, rtol=1e-4)
    # Real music gives varied outputs, not a constant: the check can fail.
    assert np.abs(probabilities[4] - probabilities[0]).max() > 0.01


@pytest.mark.parametrize("name", PRETRAINED)
def test_weight_files_describe_themselves(name):
    record = pretrained_record(name)
    assert len(record["tags"]) == 50 and record["tags"][:3] == ["rock", "pop", "alternative"]
    assert {k: record["preprocessing"][k] for k in MelConfig().as_dict()} == MelConfig().as_dict()
    assert record["preprocessing"]["patch_frames"] == 187
    assert record["preprocessing"]["pad_short"] == "repeat-pad"
    provenance = record["provenance"]
    assert provenance["licence"] == "ISC" and "Permission to use" in provenance["licence_text"]
    assert provenance["source"].startswith("musicnn") and 0.85 < provenance["validation_roc_auc"] < 0.9
    assert provenance["max_abs_difference_from_tensorflow"] <= 1e-4
    assert "ISC" in (WEIGHTS / "NOTICE").read_text() or "Permission to use" in (WEIGHTS / "NOTICE").read_text()


def test_a_model_for_other_features_or_tags_fails_loudly():
    record = pretrained_record("msd_vgg")
    with pytest.raises(MSDDataError, match=r"n_mels: run 128, model 96"):
        check_preprocessing(record, {**MelConfig().as_dict(), "n_mels": 128}, "tag_audio")
    with pytest.raises(MSDDataError, match=r"log: run 'db', model 'log10'"):
        check_preprocessing(record, {**MelConfig().as_dict(), "log": "db"}, "tag_audio")
    check_preprocessing(record, MelConfig().as_dict(), "tag_audio")  # the defaults agree
    with pytest.raises(MSDDataError, match=r"the model lacks \['polka'\]"):
        check_tags(record, [*record["tags"][:-1], "polka"], "audio.model_source=msd_vgg")
    check_tags(record, record["tags"][:-3], "audio.model_source=msd_vgg")  # fewer tags than the model: a subset
    with pytest.raises(MSDDataError, match="no pretrained tagger named"):
        pretrained_record("msd_resnet")


def test_outputs_follow_the_runs_tag_order(reference):
    record = pretrained_record("msd_musicnn")
    reordered = in_tag_order(record, record["tags"][::-1])
    x = torch.from_numpy(reference["inputs"][:2])
    with torch.inference_mode():
        original = Tagger.load(record, "cpu").network(x)[0]
        flipped = Tagger.load(reordered, "cpu").network(x)[0]
    np.testing.assert_allclose(flipped.numpy(), original.numpy()[:, ::-1], atol=1e-6)


def test_patches_are_musicnns():
    features = np.arange(96 * 400, dtype=np.float32).reshape(96, 400)
    cut = patches(features, 187)
    assert cut.shape == (2, 187, 96)  # the trailing 26 frames are dropped
    np.testing.assert_array_equal(cut[1], features[:, 187:374].T)
    short = patches(features[:, :80], 187)  # repeat-pad: 80 + 80 + 27 frames
    assert short.shape == (1, 187, 96)
    np.testing.assert_array_equal(short[0, 80:160], features[:, :80].T)
    np.testing.assert_array_equal(short[0, 160:], features[:, :27].T)
    assert patches(features[:, :187], 187).shape == (1, 187, 96)


def test_a_clip_scores_as_the_mean_of_its_patch_sigmoids(reference):
    tagger = Tagger.load(pretrained_record("msd_vgg"), "cpu")
    clip = reference["inputs"][4:6].reshape(374, 96).T  # the real recording's two patches, as one clip
    probabilities, embeddings = tagger.predict_and_embed([clip, clip[:, :187]])
    np.testing.assert_allclose(probabilities[0], reference["msd_vgg_sigmoid"][4:6].mean(axis=0), atol=1e-4)
    np.testing.assert_allclose(probabilities[1], reference["msd_vgg_sigmoid"][4], atol=1e-4)
    np.testing.assert_allclose(embeddings[0], reference["msd_vgg_embedding"][4:6].mean(axis=0), atol=1e-4)


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(16000 * 8) / 16000
    sf.write(folder / "tone.flac", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 16000)
    sf.write(folder / "noise.ogg", (0.1 * rng.standard_normal((44100 * 5, 2))).astype(np.float32), 44100)
    sf.write(folder / "short.wav", (0.2 * rng.standard_normal(16000 * 2)).astype(np.float32), 16000)
    (folder / "empty.mp3").write_bytes(b"")
    return folder


def _params(folder: Path, **extra) -> TagAudioParams:
    return TagAudioParams(**{"input_dir": str(folder), "pattern": "flac|ogg|wav|mp3", "top_k": 3, **extra})


CPU = AudioParams(train={"device": "cpu", "eval_batch_size": 64})


def test_tag_audio_with_a_pretrained_model_writes_tags_and_embeddings(tmp_path):
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files

    folder = _folder(tmp_path)
    table, report, embeddings = tag_audio_files(None, _params(folder, model="msd_vgg", embeddings=True), CPU)
    assert dict(zip(table["file"], table["status"], strict=True)) == {
        "empty.mp3": "zero_byte",
        "noise.ogg": "ok",
        "short.wav": "ok",
        "tone.flac": "ok",
    }
    assert report["model"] == "msd_vgg" and report["provenance"]["source"].startswith("musicnn")
    assert table.loc[table["status"] == "ok", "tag_1"].notna().all()
    assert list(embeddings["file"]) == ["noise.ogg", "short.wav", "tone.flac"]
    assert embeddings.shape[1] == 1 + 256
    # Without embeddings, the default model, and no rows in the embeddings table.
    table, report, embeddings = tag_audio_files(None, _params(folder), CPU)
    assert report["model"] == "msd_musicnn" and embeddings.empty


def test_tag_audio_says_what_to_do_without_a_trained_model_or_with_other_features(tmp_path):
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files

    folder = _folder(tmp_path)
    with pytest.raises(MSDDataError, match="no audio model yet"):
        tag_audio_files(None, _params(folder, model="trained"), CPU)
    with pytest.raises(MSDDataError, match="n_mels: run 64, model 96"):
        tag_audio_files(None, _params(folder, model="msd_vgg"), dataclasses.replace(CPU, mel=MelConfig(n_mels=64)))
    with pytest.raises(ParameterError, match="tag_audio.model"):
        _params(folder, model="msd_resnet")
    with pytest.raises(ParameterError, match="tag_audio.embeddings"):
        _params(folder, model="trained", embeddings=True)


def test_a_30_minute_recording_is_tagged_in_bounded_memory(tmp_path):
    """Decoded block by block and scored patch by patch: the numpy arrays alive at once stay
    far below the recording's native decode (317 MB of float32 for 30 min of 22-kHz stereo)."""
    import tracemalloc

    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files

    folder = tmp_path / "long"
    folder.mkdir()
    rate, minutes = 22050, 30
    with sf.SoundFile(folder / "long.flac", "w", rate, 2, subtype="PCM_16") as out:
        for minute in range(minutes):  # written a minute at a time
            t = np.arange(rate * 60) / rate + minute * 60
            tone = 0.2 * np.sin(2 * np.pi * (220 + 20 * minute) * t) * (1 + 0.5 * np.sin(2 * np.pi * 0.5 * t))
            out.write(np.stack([tone, 0.8 * tone], axis=1).astype(np.float32))
    tracemalloc.start()
    try:
        table, report, _ = tag_audio_files(None, _params(folder, model="msd_vgg", pattern="flac"), CPU)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert table["status"].tolist() == ["ok"] and table["seconds"].iloc[0] == pytest.approx(minutes * 60, abs=0.1)
    assert table["tag_1"].notna().all() and report["tagged"] == 1
    assert peak < 250e6, f"{peak / 1e6:.0f} MB of numpy arrays alive at once"


REAL = Path(__file__).parent / "data" / "chromium_bsu_music_game.mp3"  # real game music, Expat (tests/data/NOTICE)


def test_one_call_tags_a_real_recording_as_the_tag_audio_pipeline_does(tmp_path):
    """``Tagger.pretrained(name).tag(file)``: probabilities in the model's tag order and the
    embedding, with no Kedro run; the pipeline's tag_audio node gives the same on the same
    file, and a run's own model file loads the same way (``Tagger.from_run``)."""
    import shutil

    from msd_tagging import Tagger
    from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files

    tagger = Tagger.pretrained("msd_musicnn", device="cpu")
    result = tagger.tag(REAL)
    assert result.status == "ok" and list(result.probabilities) == tagger.tags and result.embedding.shape == (200,)
    (best, p), *_ = result.top(3)
    assert p == max(result.probabilities.values()) and 0 < p < 1
    folder = tmp_path / "new"
    folder.mkdir()
    shutil.copy(REAL, folder / REAL.name)
    table, _, embeddings = tag_audio_files(None, _params(folder, embeddings=True), CPU)
    assert table.loc[0, "tag_1"] == best and table.loc[0, "probability_1"] == pytest.approx(p, abs=1e-4)
    np.testing.assert_allclose(embeddings.drop(columns="file").to_numpy()[0], result.embedding, atol=1e-5)
    run_model = tmp_path / "audio_model.pt"
    torch.save(pretrained_record("msd_vgg"), run_model)  # a model file as a run saves one
    again = Tagger.from_run(run_model, device="cpu").tag(REAL)
    assert again.status == "ok" and again.probabilities == Tagger.pretrained("msd_vgg", "cpu").tag(REAL).probabilities
    (tmp_path / "broken.mp3").write_bytes(b"<html>not audio</html>")
    broken = tagger.tag(tmp_path / "broken.mp3")
    assert broken.status == "not_audio" and broken.probabilities == {} and broken.embedding is None
