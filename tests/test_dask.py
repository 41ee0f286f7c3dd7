"""The Dask path gives the same features as the local path, bit for bit, and the same scores."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch

from msd_tagging import readers as msd
from msd_tagging.audio.signal import DamageConfig, MelConfig
from msd_tagging.audio.store import ExtractionPlan, FeatureStore, write_plan
from msd_tagging.demo.writer import LAYOUT
from msd_tagging.models.vgg import VGGConfig, VGGTagger
from msd_tagging.params import AudioParams
from msd_tagging.pipelines.audio.nodes import score_audio

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as local:
        yield local


def _plan(tiny_world, scheduler=None) -> ExtractionPlan:
    in_split = tiny_world.tracks[tiny_world.tracks["split"] != "none"]
    jobs = tuple((t, msd.track_id_audio_path(t)) for t in in_split["track_id"])
    return ExtractionPlan(
        jobs=jobs,
        mel=MelConfig(n_mels=32),
        damage=DamageConfig(expected_seconds=1.0, min_seconds=0.5),
        tracks_per_shard=16,
        workers=2,
        scheduler=scheduler,
    )


def test_dask_extraction_equals_local(tiny_world, tiny_root, tmp_path, cluster):
    audio = tiny_root / LAYOUT["audio"]
    local_counts = write_plan(_plan(tiny_world), tmp_path / "local", audio, progress=False)
    dask_counts = write_plan(_plan(tiny_world, cluster.scheduler_address), tmp_path / "dask", audio, progress=False)
    assert local_counts == dask_counts and dask_counts["tried"] == 96

    local, remote = FeatureStore(tmp_path / "local"), FeatureStore(tmp_path / "dask")
    columns = ["track_id", "status", "shard", "offset", "n_frames"]
    pd.testing.assert_frame_equal(
        local.manifest[columns].sort_values("track_id", ignore_index=True),
        remote.manifest[columns].sort_values("track_id", ignore_index=True),
    )
    assert sorted(local.track_ids) == sorted(remote.track_ids) and len(local.track_ids) >= 90
    for track_id in local.track_ids:
        assert np.array_equal(local.features(track_id), remote.features(track_id))  # bit for bit
    # The shard files themselves are identical bytes.
    for shard in (tmp_path / "local/shards").glob("*.npy"):
        assert shard.read_bytes() == (tmp_path / "dask/shards" / shard.name).read_bytes()

    # A rerun on the cluster finds every shard done.
    again = write_plan(_plan(tiny_world, cluster.scheduler_address), tmp_path / "dask", audio, progress=False)
    assert again == {"skipped_done": 96, "tried": 0}


def test_dask_scoring_equals_local(tiny_world, tiny_root, tmp_path, cluster):
    write_plan(_plan(tiny_world), tmp_path / "store", tiny_root / LAYOUT["audio"], progress=False)
    store = FeatureStore(tmp_path / "store")
    torch.manual_seed(0)
    config = VGGConfig(n_mels=32, n_tags=3, channels=(4, 8), pools=((2, 2), (2, 2)), dropout=0.1)
    model = {
        "config": config.as_dict(),
        "state_dict": VGGTagger(config).state_dict(),
        "tags": ["a", "b", "c"],
        "chunk_frames": 32,
    }
    tracks = tiny_world.tracks[tiny_world.tracks["split"] != "none"][["track_id", "split"]]
    local_params = AudioParams(train={"device": "cpu", "eval_batch_size": 16}, scoring={"tracks_per_task": 10})
    local, local_embedded = score_audio(model, store, tracks, local_params)
    remote, remote_embedded = score_audio(
        model, store, tracks, dataclasses.replace(local_params, dask_scheduler=cluster.scheduler_address)
    )
    assert len(local) == len(store.track_ids)
    # Same tracks in the same order; probabilities equal to float32 rounding (the CPU
    # convolution sums in another order when a batch holds other chunks or threads).
    assert local["track_id"].tolist() == remote["track_id"].tolist()
    np.testing.assert_allclose(local[["a", "b", "c"]].to_numpy(), remote[["a", "b", "c"]].to_numpy(), rtol=0, atol=1e-6)
    assert local_embedded["track_id"].tolist() == remote_embedded["track_id"].tolist() == local["track_id"].tolist()
    np.testing.assert_allclose(local_embedded.iloc[:, 1:].to_numpy(), remote_embedded.iloc[:, 1:].to_numpy(), atol=1e-5)
