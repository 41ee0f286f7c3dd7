"""The demo world: deterministic, flawed on purpose, readable by the real readers."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from msd_tagging import readers as msd
from msd_tagging.demo.synth import render_track
from msd_tagging.demo.world import MSD_50_TAGS, DemoWorldConfig, build_world
from msd_tagging.demo.writer import LAYOUT, MANIFEST, write_world


def _digest(root) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_world(tiny_config, tiny_world):
    again = build_world(tiny_config)
    for name in ("tracks", "triplets", "lastfm", "mismatches"):
        pd.testing.assert_frame_equal(getattr(again, name), getattr(tiny_world, name))
    assert again.train_ids == tiny_world.train_ids and again.test_ids == tiny_world.test_ids


def test_other_seed_other_world(tiny_config, tiny_world):
    from dataclasses import replace

    other = build_world(replace(tiny_config, seed=tiny_config.seed + 1))
    assert other.train_ids != tiny_world.train_ids


def test_written_files_are_deterministic(tiny_world, tiny_root, tmp_path):
    again = tmp_path / "raw"
    write_world(tiny_world, again, workers=2, progress=False)  # other worker count, same bytes
    assert _digest(again) == _digest(tiny_root)


def test_files_read_back_with_the_real_readers(tiny_world, tiny_root):
    triplets = msd.read_triplets(tiny_root / LAYOUT["triplets"])
    assert len(triplets) == len(tiny_world.triplets)
    unique = msd.read_unique_tracks(tiny_root / LAYOUT["unique_tracks"])
    assert (unique["song_id"].value_counts() > 1).any(), "some songs must have two tracks"
    mismatches = msd.read_sid_mismatches(tiny_root / LAYOUT["sid_mismatches"])
    accepted = msd.read_manually_accepted(tiny_root / LAYOUT["manually_accepted"])
    assert len(mismatches) == 3 and len(accepted) == 1
    assert msd.read_tag_list(tiny_root / LAYOUT["tag_list"]) == list(MSD_50_TAGS)
    train = msd.read_split_pickle(tiny_root / LAYOUT["split_train"])
    assert train == tiny_world.train_ids and len(train) == 72
    assert msd.read_split_pickle(tiny_root / LAYOUT["split_test"]) == tiny_world.test_ids
    tags = msd.read_lastfm_tags_db(tiny_root / LAYOUT["lastfm_tags_db"])
    assert len(tags) == len(tiny_world.lastfm)
    assert set(tags["track_id"].astype(str)) <= set(tiny_world.tracks["track_id"])


def test_split_sizes_are_exact_with_duplicates(tiny_config, tiny_world):
    counts = tiny_world.tracks["split"].value_counts()
    assert (counts["train"], counts["valid"], counts["test"]) == (
        tiny_config.n_train,
        tiny_config.n_valid,
        tiny_config.n_test,
    )
    assert (tiny_world.tracks["duplicate_of"] >= 0).sum() == tiny_config.n_duplicates


def test_the_real_50_tags_in_order(samples):
    assert list(MSD_50_TAGS) == msd.read_tag_list(samples / "msd_50tagList.txt")


def test_flawed_audio_is_there(tiny_world, tiny_root):
    manifest = json.loads((tiny_root / MANIFEST).read_text())
    audio = tiny_root / LAYOUT["audio"]
    (zero,) = manifest["flaws"]["zero_byte"]
    (truncated,) = manifest["flaws"]["truncated"]
    (missing,) = manifest["flaws"]["missing"]
    assert (audio / msd.track_id_audio_path(zero)).stat().st_size == 0
    assert not (audio / msd.track_id_audio_path(missing)).exists()
    assert missing in tiny_world.train_ids  # a split ID without audio
    # soundfile decodes a truncated MP3 short, without an error.
    signal, rate = sf.read(audio / msd.track_id_audio_path(truncated))
    assert rate == 16000 and len(signal) < 0.6 * 16000 * tiny_world.config.seconds


def test_clips_are_16k_mono_mp3_of_the_configured_length(tiny_world, tiny_root):
    ok = tiny_world.tracks[tiny_world.tracks["flaw"] == "ok"].iloc[0]
    path = tiny_root / LAYOUT["audio"] / msd.track_id_audio_path(ok["track_id"])
    info = sf.info(path)
    assert (info.format, info.samplerate, info.channels) == ("MP3", 16000, 1)
    assert abs(info.duration - tiny_world.config.seconds) < 0.1


def test_default_world_shape():
    config = DemoWorldConfig()
    assert config.n_train + config.n_valid + config.n_test == 2000
    assert config.seconds >= 6 and config.sample_rate == 16000 and config.n_users == 5000


def test_listening_is_power_law_and_clusters_by_era(tiny_world):
    per_user = tiny_world.triplets.groupby("user_id").size()
    assert per_user.max() > 5 * per_user.median()  # heavy-tailed activity
    era = tiny_world.tracks.drop_duplicates("song_id").set_index("song_id")["era"]
    plays = tiny_world.triplets.assign(era=tiny_world.triplets["song_id"].map(era))
    active = plays.groupby("user_id").filter(lambda g: len(g) >= 10)
    top_share = active.groupby("user_id")["era"].agg(lambda e: e.value_counts(normalize=True).iloc[0]).mean()
    overall = plays["era"].value_counts(normalize=True).iloc[0]
    assert top_share > overall + 0.1  # listeners favour an era far more than chance


def _attrs(**overrides):
    base = dict(
        genre="rock",
        lead="clean_guitar",
        drums="backbeat",
        bpm=120.0,
        major=True,
        acoustic=False,
        vocals="none",
        key=0,
        energy=0.5,
    )
    return {**base, **overrides}


def _spectrum(signal: np.ndarray, sr: int = 16000) -> tuple[np.ndarray, np.ndarray]:
    spec = np.abs(np.fft.rfft(signal))
    return np.fft.rfftfreq(signal.size, 1 / sr), spec


def test_render_is_deterministic_finite_and_exact_length():
    a = render_track(_attrs(), sample_rate=16000, seconds=2.0, seed=3)
    b = render_track(_attrs(), sample_rate=16000, seconds=2.0, seed=3)
    assert a.dtype == np.float32 and a.shape == (32000,) and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_distortion_is_audible(seed):
    """The same notes through the clipper put more energy above 2 kHz than clean."""
    share = {}
    for lead in ("clean_guitar", "dist_guitar"):
        signal = render_track(_attrs(lead=lead, drums="none", key=3 * seed), sample_rate=16000, seconds=2.0, seed=seed)
        f, s = _spectrum(signal)
        share[lead] = (s[f > 2000] ** 2).sum() / (s**2).sum()
    assert share["dist_guitar"] > 1.2 * share["clean_guitar"]


@pytest.mark.parametrize("pattern", ["four", "metal"])
def test_drum_pattern_sets_onset_rate(pattern):
    signal = render_track(_attrs(lead="pad", drums=pattern, bpm=120.0), sample_rate=16000, seconds=4.0, seed=2)
    envelope = np.abs(signal).reshape(-1, 160).max(axis=1)  # 10 ms frames
    onsets = np.flatnonzero((envelope[1:] > 1.5 * envelope[:-1]) & (envelope[1:] > 0.2 * envelope.max()))
    per_second = len(onsets) / 4.0
    expected = {"four": 4, "metal": 8}[pattern]  # kicks at 120 bpm: quarters vs sixteenths (merged in pairs by hats)
    assert per_second >= expected * 0.5


def test_parameters_file_matches_config_defaults():
    """conf/base/parameters_demo_data.yml and DemoWorldConfig describe the same default world."""
    from dataclasses import asdict
    from pathlib import Path

    import yaml

    params = yaml.safe_load((Path(__file__).resolve().parents[2] / "conf/base/parameters_demo_data.yml").read_text())[
        "demo_data"
    ]
    params["n_train"] = DemoWorldConfig().n_train  # an interpolation from globals.yml in the file
    assert params == asdict(DemoWorldConfig())


def test_era_is_heard_only_through_production(tiny_world):
    tracks = tiny_world.tracks
    share = (tracks["production"] == tracks["era"]).mean()
    expected = tiny_world.config.era_audible + (1 - tiny_world.config.era_audible) / 5  # the rest: any era
    assert abs(share - expected) < 0.08
    attrs = dict(
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

    def treble(production):
        signal = render_track({**attrs, "production": production}, sample_rate=16000, seconds=3.0, seed=5)
        power = np.abs(np.fft.rfft(signal)) ** 2
        return power[np.fft.rfftfreq(signal.size, 1 / 16000) > 4000].sum() / power.sum()

    assert treble("60s") < 0.2 * treble("00s")  # a 60s production is dull, a 00s one bright
