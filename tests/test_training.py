"""The VGG tagger's training loop, its checkpoints, and the evaluation step."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from msd_tagging.core.errors import MSDDataError
from msd_tagging.datasets.torch_files import CheckpointFile, TorchModelDataset
from msd_tagging.models.training import TrainConfig, predict, train
from msd_tagging.models.vgg import VGGConfig, VGGTagger
from msd_tagging.scoring.evaluation import evaluate

TINY_MODEL = VGGConfig(n_mels=16, n_tags=2, channels=(4, 8), pools=((2, 2), (2, 2)), dropout=0.1)


def separable_tags(n: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """Tag 0: energy in the low bands; tag 1: a periodic click in time. Independent."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=(n, 2)).astype(np.int8)
    features = []
    for low, click in labels:
        x = rng.normal(0, 0.3, size=(16, 40)).astype(np.float32)
        if low:
            x[:4] += 2.0
        if click:
            x[:, ::5] += 2.0
        features.append(x.astype(np.float16))
    return features, labels


def _config(**overrides) -> TrainConfig:
    base = dict(
        chunk_frames=20, batch_size=16, max_epochs=6, lr=0.01, milestones=(2, 4), gamma=0.5, patience=10, seed=3
    )
    return TrainConfig(**{**base, **overrides})


class MemoryCheckpoints:
    def __init__(self):
        self.state = None

    def load(self):
        return self.state

    def save(self, state):
        self.state = pickle.loads(pickle.dumps(state))  # a deep copy, like a file round trip


def test_learns_two_separable_tags():
    from sklearn.metrics import roc_auc_score

    train_x, train_y = separable_tags(160, seed=0)
    test_x, test_y = separable_tags(80, seed=1)
    result = train("vgg", TINY_MODEL, _config(), train_x, train_y, test_x[:40], test_y[:40], progress=False)
    model = VGGTagger(TINY_MODEL)
    model.load_state_dict(result.model_state)
    scores = predict(model, test_x, chunk_frames=20)
    assert scores.shape == (80, 2)
    for tag in range(2):
        assert roc_auc_score(test_y[:, tag], scores[:, tag]) > 0.9


def test_resume_equals_uninterrupted_bit_for_bit():
    train_x, train_y = separable_tags(64, seed=0)
    valid_x, valid_y = separable_tags(24, seed=1)
    straight = train(
        "vgg", TINY_MODEL, _config(), train_x, train_y, valid_x, valid_y, MemoryCheckpoints(), progress=False
    )

    store = MemoryCheckpoints()
    stopped = train(
        "vgg",
        TINY_MODEL,
        _config(),
        train_x,
        train_y,
        valid_x,
        valid_y,
        store,
        progress=False,
        stop_after_epoch=lambda e: e == 3,
    )
    assert stopped.stopped == "interrupted" and len(stopped.history) == 3  # past the first LR milestone
    torch.manual_seed(12345)  # the caller's global RNG must not matter
    resumed = train("vgg", TINY_MODEL, _config(), train_x, train_y, valid_x, valid_y, store, progress=False)

    assert [h["lr"] for h in resumed.history] == [h["lr"] for h in straight.history]
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in straight.history]
    for name, tensor in straight.model_state.items():
        assert torch.equal(tensor, resumed.model_state[name]), name


def test_training_leaves_global_rng_alone():
    train_x, train_y = separable_tags(32, seed=0)
    torch.manual_seed(7)
    expected = torch.rand(3)
    torch.manual_seed(7)
    train("vgg", TINY_MODEL, _config(max_epochs=1), train_x, train_y, train_x[:8], train_y[:8], progress=False)
    assert torch.equal(torch.rand(3), expected)


def test_changed_settings_do_not_resume(caplog):
    train_x, train_y = separable_tags(32, seed=0)
    store = MemoryCheckpoints()
    train("vgg", TINY_MODEL, _config(max_epochs=1), train_x, train_y, train_x[:8], train_y[:8], store, progress=False)
    with caplog.at_level("INFO"):
        result = train(
            "vgg",
            TINY_MODEL,
            _config(max_epochs=1, lr=0.02),
            train_x,
            train_y,
            train_x[:8],
            train_y[:8],
            store,
            progress=False,
        )
    assert "training from scratch" in caplog.text and len(result.history) == 1


def test_predict_averages_chunks_covering_the_clip():
    class Mean(torch.nn.Module):
        """Every network's interface: ``(logits, embedding)``."""

        head = torch.nn.Linear(1, 1)

        def forward(self, x):  # logit = mean of the chunk, so sigmoid(mean) per chunk
            mean = x.mean(dim=(1, 2)).unsqueeze(1)
            return mean, 2 * mean

    model = Mean()
    clip = np.concatenate([np.zeros((1, 10)), np.ones((1, 10)), 2 * np.ones((1, 5))], axis=1).astype(np.float32)
    got = predict(model, [clip], chunk_frames=10, device=torch.device("cpu"))
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    # chunks [0:10], [10:20], and the tail [15:25]
    assert got[0, 0] == pytest.approx(np.mean([sig(0.0), sig(1.0), sig(1.5)]), rel=1e-6)
    probabilities, embedding = predict(model, [clip], chunk_frames=10, device=torch.device("cpu"), embed=True)
    assert probabilities[0, 0] == got[0, 0] and embedding[0, 0] == pytest.approx(2 * np.mean([0.0, 1.0, 1.5]))


def test_checkpoint_is_atomic_and_loads_weights_only(tmp_path):
    path = tmp_path / "ckpt.pt"
    handle = CheckpointFile(path)
    assert handle.load() is None
    handle.save({"epoch": 2, "weights": torch.ones(3), "numpy_rng": np.random.default_rng(0).bit_generator.state})
    assert handle.load()["epoch"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["ckpt.pt"]  # no temporary left behind


def test_truncated_and_empty_checkpoints_are_named(tmp_path):
    path = tmp_path / "ckpt.pt"
    CheckpointFile(path).save({"weights": torch.ones(1000)})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(MSDDataError, match=r"ckpt\.pt: training checkpoint is truncated or corrupt"):
        CheckpointFile(path).load()
    path.write_bytes(b"")
    with pytest.raises(MSDDataError, match=r"ckpt\.pt: training checkpoint is empty"):
        CheckpointFile(path).load()


class _Exploit:
    def __reduce__(self):
        return (print, ("pwned",))


def test_model_file_with_pickled_code_is_refused(tmp_path):
    from kedro.io import DatasetError

    path = tmp_path / "vgg.pt"
    torch.save({"state_dict": {}, "payload": _Exploit()}, path)
    with pytest.raises(DatasetError, match=r"vgg\.pt: model file holds objects that are not plain tensors"):
        TorchModelDataset(str(path)).load()


def test_evaluation_masks_degenerate_tags():
    labels = pd.DataFrame(
        {"track_id": ["a", "b", "c", "d"], "rock": [1, 0, 1, 0], "jazz": [0, 0, 0, 0], "pop": [1, 1, 1, 1]}
    )
    scores = pd.DataFrame(
        {"track_id": ["a", "b", "c", "d", "z"], "rock": [0.9, 0.1, 0.8, 0.2, 0.5], "jazz": [0.1] * 5, "pop": [0.5] * 5}
    )
    summary, per_tag = evaluate(scores, labels, pd.Series(["a", "b", "c", "d", "e"]))
    assert summary["roc_auc_macro"] == 1.0 and summary["pr_auc_macro"] == 1.0
    assert summary["excluded_tags"] == {"jazz": "no positive", "pop": "no negative"}
    assert summary["n_tags_scored"] == 1 and summary["n_tracks_without_scores"] == 1
    assert per_tag.set_index("tag").loc["jazz", "positives"] == 0 and np.isnan(
        per_tag.set_index("tag").loc["jazz", "roc_auc"]
    )


def test_other_training_data_does_not_resume(caplog):
    train_x, train_y = separable_tags(32, seed=0)
    store = MemoryCheckpoints()
    train(
        "vgg",
        TINY_MODEL,
        _config(max_epochs=1),
        train_x,
        train_y,
        train_x[:8],
        train_y[:8],
        store,
        progress=False,
        data_key="A",
    )
    with caplog.at_level("INFO"):
        result = train(
            "vgg",
            TINY_MODEL,
            _config(max_epochs=1),
            train_x,
            train_y,
            train_x[:8],
            train_y[:8],
            store,
            progress=False,
            data_key="B",
        )
    assert "training from scratch" in caplog.text and len(result.history) == 1


def test_training_too_slow_for_this_cpu_stops_before_it_starts_unless_allowed(caplog, monkeypatch):
    """The paper-scale VGG trains at about 6 samples/s on 2 cores: weeks for the MSD. The
    estimate is logged first; above the limit the run stops, naming the opt-in."""
    import logging

    from msd_tagging.core.errors import ParameterError
    from msd_tagging.models.training import TrainConfig, check_cpu_time, train
    from msd_tagging.models.vgg import VGGConfig, VGGTagger

    model_config = VGGConfig(n_mels=16, n_tags=2, channels=(4, 8), pools=((2, 2), (2, 2)), dropout=0.1)
    train_x, train_y = separable_tags(40, 0)
    valid_x, valid_y = separable_tags(10, 1)
    slow = TrainConfig(chunk_frames=20, batch_size=8, max_epochs=3, cpu_epoch_limit_minutes=1e-9, device="cpu")
    with (
        caplog.at_level(logging.INFO, logger="msd_tagging.models.training"),
        pytest.raises(
            ParameterError,
            match=r"audio.train.allow_slow_cpu: training on this CPU would take about .* per epoch.*Nothing was trained",
        ),
    ):
        train("vgg", model_config, slow, train_x, train_y, valid_x, valid_y, progress=False)
    assert "On this CPU an epoch of 40 training chunks takes about" in caplog.text
    allowed = TrainConfig(**{**slow.as_dict(), "milestones": (), "allow_slow_cpu": True})
    probed = train("vgg", model_config, allowed, train_x, train_y, valid_x, valid_y, progress=False)
    monkeypatch.setattr("msd_tagging.models.training.check_cpu_time", lambda *args, **kwargs: 0.0)
    unprobed = train("vgg", model_config, allowed, train_x, train_y, valid_x, valid_y, progress=False)
    assert len(probed.history) == 3
    assert all(torch.equal(probed.model_state[k], unprobed.model_state[k]) for k in unprobed.model_state)  # no effect
    seconds = check_cpu_time(VGGTagger(model_config), TrainConfig(chunk_frames=20, batch_size=8), 1000, 16)
    assert seconds > 0


def test_an_epoch_never_holds_all_its_chunks_in_memory(monkeypatch):
    """At the MSD shape an epoch's chunks would be 7.4 GB (201,680 × 96 × 96 float32): they
    are cut as batches are drawn, so an epoch's memory follows the batch, not the epoch."""
    import tracemalloc

    import msd_tagging.models.training as training

    rng = np.random.default_rng(0)
    # float16, as the feature store keeps them: each chunk is then a float32 copy
    train_x = [rng.standard_normal((16, 400)).astype(np.float16) for _ in range(1500)]
    train_y = rng.integers(0, 2, size=(1500, 2)).astype(np.int8)
    valid_x, valid_y = separable_tags(10, 1)
    model = VGGConfig(n_mels=16, n_tags=2, channels=(2,), pools=((2, 2),), dropout=0.0)
    config = TrainConfig(
        chunk_frames=200, batch_size=16, max_epochs=1, milestones=(), device="cpu", cpu_epoch_limit_minutes=1e9
    )
    train(
        "vgg", model, config, train_x[:20], train_y[:20], valid_x, valid_y, progress=False
    )  # first use imports the loaders
    peaks = []
    run_epoch = training._EpochRunner.__call__

    def measured(self, epoch):
        tracemalloc.reset_peak()
        record = run_epoch(self, epoch)
        peaks.append(tracemalloc.get_traced_memory()[1])
        return record

    monkeypatch.setattr(training._EpochRunner, "__call__", measured)
    tracemalloc.start()
    try:
        train("vgg", model, config, train_x, train_y, valid_x, valid_y, progress=False)
    finally:
        tracemalloc.stop()
    epoch_of_chunks = 1500 * 16 * 200 * 4  # 19 MB
    assert peaks and peaks[0] < epoch_of_chunks / 4


def test_the_one_early_stopped_fit_keeps_the_best_epoch_and_stops_on_patience():
    """models.fitting, shared by the audio tagger, heads and listening from audio: a known
    criterion sequence gives the known best epoch, stop and history."""
    from msd_tagging.models.fitting import Stopping, fit_early_stopped

    network = torch.nn.Linear(2, 1)
    criteria = iter([0.1, 0.3, 0.2, 0.3000001, 0.29, 0.9])

    def train_epoch(epoch):
        with torch.no_grad():
            network.bias.fill_(float(epoch))  # the weights say which epoch they are from
        return {"train_loss": 1.0 / epoch, "lr": 0.1}

    def evaluate():
        value = next(criteria)
        return value, {"valid": value}

    state = fit_early_stopped(network, train_epoch, evaluate, Stopping(10, 3, min_delta=1e-6, criterion="x"))
    assert state.best_epoch == 2 and state.best_metric == 0.3 and state.epoch == 5
    assert float(state.best_model["bias"]) == 2.0  # the best epoch's weights, not the last
    assert state.stopped == "early stop after epoch 5: no better x for 3 epochs"
    assert list(state.history[0]) == ["epoch", "train_loss", "valid", "lr"]
    criteria = iter([0.1, 0.2, 0.3])
    interrupted = fit_early_stopped(
        network, train_epoch, evaluate, Stopping(3, 3), after_epoch=lambda s, _: s.epoch == 1
    )
    assert interrupted.epoch == 1 and interrupted.stopped == ""
    resumed = fit_early_stopped(network, train_epoch, evaluate, Stopping(3, 3), state=interrupted)
    assert resumed.epoch == 3 and resumed.stopped == "reached max_epochs=3" and resumed.best_epoch == 3


def test_the_progress_display_cannot_change_what_training_learns(monkeypatch):
    """A bar that builds an extra iterator of the loader (tqdm.auto's asyncio class does, as
    it is constructed) used to draw one more number from torch's global RNG per epoch, and
    so moved every later dropout mask: epoch 1's loss on the demo went 0.316156 -> 0.316856
    with the project's Progress instead. The loader now draws from its own generator."""
    import tqdm as tqdm_module
    import tqdm.auto

    train_x, train_y = separable_tags(64, seed=0)
    valid_x, valid_y = separable_tags(16, seed=1)
    config = _config(max_epochs=2)
    plain = train("vgg", TINY_MODEL, config, train_x, train_y, valid_x, valid_y, progress=False)
    real = tqdm_module.tqdm

    def eager_bar(iterable, **kwargs):
        iter(iterable)  # what tqdm.asyncio.tqdm_asyncio.__init__ does with a DataLoader, here twice
        iter(iterable)
        return real(iterable, **kwargs)

    monkeypatch.setattr(tqdm_module, "tqdm", eager_bar)
    monkeypatch.setattr(tqdm.auto, "tqdm", eager_bar)
    eager = train("vgg", TINY_MODEL, config, train_x, train_y, valid_x, valid_y, progress=False)
    assert [r["train_loss"] for r in eager.history] == [r["train_loss"] for r in plain.history]
    for name, tensor in plain.model_state.items():
        assert torch.equal(tensor, eager.model_state[name]), name
