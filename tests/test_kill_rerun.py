"""Kill and rerun: SIGKILL a real extraction and a real training mid-way, rerun the same
command, and get exactly what an uninterrupted run gives, reusing the finished work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from msd_tagging.audio.store import FeatureStore
from msd_tagging.demo.synth import render_track

pytestmark = [pytest.mark.e2e, pytest.mark.bad_input]

ATTRS = dict(
    genre="rock",
    lead="dist_guitar",
    drums="backbeat",
    bpm=120.0,
    major=True,
    acoustic=False,
    vocals="male",
    key=0,
    energy=0.5,
)

EXTRACT = textwrap.dedent(
    """
    import sys
    from msd_tagging.audio.signal import DamageConfig, MelConfig
    from msd_tagging.audio.store import ExtractionPlan, write_plan
    audio, store, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    jobs = tuple((f"TR{i:04d}", f"clip{i:04d}.mp3") for i in range(n))
    plan = ExtractionPlan(jobs=jobs, mel=MelConfig(), damage=DamageConfig(expected_seconds=8.0), tracks_per_shard=3, workers=1)
    print(write_plan(plan, store, audio, progress=False))
    """
)

TRAIN = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    import torch
    from msd_tagging.datasets.torch_files import CheckpointFile
    from msd_tagging.models.training import TrainConfig, train
    from msd_tagging.models.vgg import VGGConfig
    sys.path.insert(0, sys.argv[3])
    from test_training import separable_tags
    torch.set_num_threads(1)
    train_x, train_y = separable_tags(600, 0)
    valid_x, valid_y = separable_tags(60, 1)
    model = VGGConfig(n_mels=16, n_tags=2, channels=(8, 16), pools=((2, 2), (2, 2)), dropout=0.1)
    config = TrainConfig(chunk_frames=20, batch_size=16, max_epochs=8, lr=0.01, milestones=(3, 6), gamma=0.5, patience=20, seed=3)
    result = train("vgg", model, config, train_x, train_y, valid_x, valid_y, CheckpointFile(Path(sys.argv[1])), progress=False)
    torch.save(result.model_state, sys.argv[2])
    """
)


def _python(code: str, *args: str, wait: bool = True):
    command = [sys.executable, "-c", code, *map(str, args)]
    if wait:
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=600)
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _kill_when(process: subprocess.Popen, ready, timeout: float = 120.0) -> None:
    """SIGKILL ``process`` as soon as ``ready()`` holds; fail if it ended first."""
    deadline = time.monotonic() + timeout
    while not ready():
        assert process.poll() is None, f"finished before it could be killed: {process.communicate()}"
        assert time.monotonic() < deadline, "never reached the kill point"
        time.sleep(0.005)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL


def test_killed_extraction_resumes_and_matches_an_uninterrupted_run(tmp_path):
    audio = tmp_path / "audio"
    audio.mkdir()
    clip = render_track(ATTRS, sample_rate=44100, seconds=8.0, seed=1)
    sf.write(
        audio / "clip0000.mp3", np.stack([clip, clip[::-1]], axis=1), 44100, format="MP3"
    )  # 44.1 kHz stereo, like previews
    n = 36
    for i in range(1, n):
        (audio / f"clip{i:04d}.mp3").write_bytes((audio / "clip0000.mp3").read_bytes())

    _python(EXTRACT, audio, tmp_path / "whole", n)

    store = tmp_path / "killed"
    running = _python(EXTRACT, audio, store, n, wait=False)
    _kill_when(
        running, lambda: len(list((store / "shards").glob("*.parquet"))) >= 2 if (store / "shards").is_dir() else False
    )
    done_at_kill = len(FeatureStore(store).manifest)
    assert 0 < done_at_kill < n

    rerun = _python(EXTRACT, audio, store, n)
    counts = eval(rerun.stdout.strip().splitlines()[-1])  # the dict write_plan returned
    assert counts["skipped_done"] == done_at_kill and counts["tried"] == n - done_at_kill

    whole, resumed = FeatureStore(tmp_path / "whole"), FeatureStore(store)
    assert sorted(whole.track_ids) == sorted(resumed.track_ids) and len(whole.track_ids) == n
    for track_id in whole.track_ids:
        assert np.array_equal(whole.features(track_id), resumed.features(track_id))


def test_killed_training_resumes_and_ends_bit_for_bit(tmp_path):
    here = Path(__file__).parent
    _python(TRAIN, tmp_path / "whole.ckpt", tmp_path / "whole.pt", here)

    checkpoint = tmp_path / "killed.ckpt"

    def some_epochs_done() -> bool:
        if not checkpoint.exists():
            return False
        return torch.load(checkpoint, weights_only=True)["epoch"] >= 2

    running = _python(TRAIN, checkpoint, tmp_path / "killed.pt", here, wait=False)
    _kill_when(running, some_epochs_done)
    epoch_at_kill = torch.load(checkpoint, weights_only=True)["epoch"]
    assert 2 <= epoch_at_kill < 8 and not (tmp_path / "killed.pt").exists()

    _python(TRAIN, checkpoint, tmp_path / "killed.pt", here)
    whole = torch.load(tmp_path / "whole.pt", weights_only=True)
    resumed = torch.load(tmp_path / "killed.pt", weights_only=True)
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)
