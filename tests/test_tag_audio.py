"""tag_audio: a folder of new files, some broken, tagged without stopping."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from msd_tagging.core.errors import MSDDataError
from msd_tagging.demo.synth import render_track
from msd_tagging.models.vgg import VGGConfig, VGGTagger
from msd_tagging.params import AudioParams, TagAudioParams
from msd_tagging.pipelines.tag_audio.nodes import tag_audio_files

AUDIO = {
    "mel": {
        "sample_rate": 16000,
        "n_fft": 512,
        "hop_length": 256,
        "n_mels": 16,
        "fmin": 0.0,
        "fmax": None,
        "log": "log10",
    },
    "damage": {
        "expected_seconds": 30.0,
        "truncation_tolerance": 0.1,
        "min_seconds": 1.0,
        "silence_peak": 1e-4,
        "keep_truncated": False,
        "keep_silent": False,
    },
    "train": {"device": "cpu", "eval_batch_size": 8},
}
AUDIO_ARGS = (AudioParams(**AUDIO),)  # tag_audio's audio block
ATTRS = dict(
    genre="rock",
    lead="clean_guitar",
    drums="backbeat",
    bpm=120.0,
    major=True,
    acoustic=False,
    vocals="male",
    key=0,
    energy=0.5,
)


def _model(tags=("rock", "jazz", "80s")) -> dict:
    torch.manual_seed(0)
    config = VGGConfig(n_mels=16, n_tags=len(tags), channels=(4, 8), pools=((2, 2), (2, 2)), dropout=0.1)
    return {
        "config": config.as_dict(),
        "state_dict": VGGTagger(config).state_dict(),
        "tags": list(tags),
        "chunk_frames": 32,
    }


def _params(folder, **overrides) -> TagAudioParams:
    return TagAudioParams(
        **{
            "input_dir": str(folder),
            "model": "trained",  # the small VGG above, on 16 bands
            "pattern": "*.mp3",
            "recursive": True,
            "limit": None,
            "expected_seconds": 0.0,
            "top_k": 2,
            "batch_files": 2,
            "report_max_listed": 10,
            **overrides,
        }
    )


@pytest.fixture()
def folder(tmp_path):
    root = tmp_path / "new"
    (root / "album").mkdir(parents=True)
    for i, name in enumerate(("a.mp3", "album/b.mp3", "album/c.mp3")):
        sf.write(root / name, render_track(ATTRS, sample_rate=16000, seconds=2.0, seed=i), 16000, format="MP3")
    (root / "empty.mp3").write_bytes(b"")
    (root / "page.mp3").write_text("<html><body>404 Not Found</body></html>")
    sf.write(root / "blip.mp3", render_track(ATTRS, sample_rate=16000, seconds=0.3, seed=9), 16000, format="MP3")
    sf.write(root / "quiet.mp3", np.zeros(32000, dtype=np.float32), 16000, format="MP3")
    (root / "notes.txt").write_text("not matched by the pattern")
    return root


def test_tags_good_files_and_reports_broken_ones(folder):
    table, report, _ = tag_audio_files(_model(), _params(folder), *AUDIO_ARGS)
    status = table.set_index("file")["status"].to_dict()
    assert status == {
        "a.mp3": "ok",
        "album/b.mp3": "ok",
        "album/c.mp3": "ok",
        "blip.mp3": "too_short",
        "empty.mp3": "zero_byte",
        "page.mp3": "not_audio",
        "quiet.mp3": "silent",
    }
    good = table[table["status"] == "ok"]
    assert good["tag_1"].isin(["rock", "jazz", "80s"]).all() and (good["tag_1"] != good["tag_2"]).all()
    assert (good["probability_1"] >= good["probability_2"]).all() and good["probability_1"].between(0, 1).all()
    assert table.loc[table["status"] != "ok", "tag_1"].isna().all()
    assert report["files"] == 7 and report["tagged"] == 3
    assert report["statuses"] == {"ok": 3, "too_short": 1, "zero_byte": 1, "not_audio": 1, "silent": 1}
    assert {s["file"] for s in report["skipped"]} == {"blip.mp3", "empty.mp3", "page.mp3", "quiet.mp3"}


def test_batching_does_not_change_the_scores(folder):
    one, _, _ = tag_audio_files(_model(), _params(folder, batch_files=1), *AUDIO_ARGS)
    many, _, _ = tag_audio_files(_model(), _params(folder, batch_files=64), *AUDIO_ARGS)
    assert one.equals(many)


def test_a_wrong_folder_or_pattern_says_how_to_fix_it(tmp_path, folder):
    with pytest.raises(MSDDataError, match="tag_audio.input_dir"):
        tag_audio_files(_model(), _params(tmp_path / "nowhere"), *AUDIO_ARGS)
    with pytest.raises(MSDDataError, match=r"no file matches '\*.wav'"):
        tag_audio_files(_model(), _params(folder, pattern="*.wav"), *AUDIO_ARGS)
    top, _, _ = tag_audio_files(_model(), _params(folder, recursive=False, limit=2), *AUDIO_ARGS)
    assert top["file"].tolist() == ["a.mp3", "blip.mp3"]
