"""The listening side on constructed data whose answer is known."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from msd_tagging.listening.centroids import centroid_scores, platt_calibrate, quantile_calibrate
from msd_tagging.listening.factorisation import factorise, play_matrix
from msd_tagging.listening.factorisers import FACTORISERS, BPRConfig
from msd_tagging.params import FiguresParams, ListeningParams
from msd_tagging.pipelines.reporting.nodes import tables_for
from msd_tagging.scoring.scorers import SCORERS
from msd_tagging.scoring.scorers import mean_fusion as hybrid_scores

_table_1 = tables_for(SCORERS)[0]


def _checkerboard(n_users: int = 40, n_tracks: int = 40):
    """Users of the first half play only tracks of the first half, the others only the others."""
    rows = [
        (u, t, 1 + (u + t) % 3)
        for u in range(n_users)
        for t in range(n_tracks)
        if (u < n_users // 2) == (t < n_tracks // 2) and (u * 7 + t) % 3
    ]
    return play_matrix(pd.DataFrame(rows, columns=["user_idx", "track_idx", "play_count"]), n_users, n_tracks, "log1p")


# Settings that learn the checkerboard in a second, per factoriser.
SMALL = {
    "bpr": {"factors": 8, "iterations": 60, "seed": 1, "num_threads": 1},
    "als": {"factors": 8, "iterations": 15, "seed": 1, "num_threads": 1, "regularization": 0.1},
    "lmf": {"factors": 8, "iterations": 40, "seed": 1, "num_threads": 1, "learning_rate": 0.5},
    "warp": {"factors": 8, "iterations": 10, "seed": 1, "num_threads": 1},
}


def _needs(name: str) -> None:
    """A factoriser from an optional extra is tested where the extra is installed (the test
    extra installs every one)."""
    from msd_tagging.listening.factorisers import warp_available

    if FACTORISERS[name].extra == "warp" and not warp_available():
        pytest.skip('the warp extra is not installed: pip install -e ".[warp]"')


@pytest.mark.parametrize("name", sorted(FACTORISERS))
def test_every_factoriser_separates_checkerboard_listeners(name):
    """implicit's own known answer, for every registered factoriser: two groups of listeners
    who play disjoint tracks give two groups of track vectors."""
    _needs(name)
    factoriser = FACTORISERS[name]
    config = factoriser.config(**SMALL[name])
    vectors, bias = factorise(_checkerboard(), factoriser, config)
    assert vectors.shape == (40, 8) and vectors.dtype == np.float32
    assert (bias is not None) == factoriser.bias and (bias is None or bias.shape == (40,))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    similarity = unit @ unit.T
    group = np.arange(40) < 20
    same = similarity[np.equal.outer(group, group) & ~np.eye(40, dtype=bool)].mean()
    other = similarity[~np.equal.outer(group, group)].mean()
    assert same > other + 0.5, (name, same, other)
    again, _ = factorise(_checkerboard(), factoriser, config)
    np.testing.assert_array_equal(vectors, again)  # seeded, one thread: reproducible


@pytest.mark.parametrize("name", sorted(FACTORISERS))
def test_the_listening_node_writes_a_bias_column_only_for_factorisers_with_one(name):
    from msd_tagging.core.mapping import IdMaps
    from msd_tagging.pipelines.listening.nodes import factorise_plays

    _needs(name)
    matrix = _checkerboard()
    coo = matrix.tocoo()
    plays = pd.DataFrame({"user_idx": coo.row, "track_idx": coo.col, "play_count": np.ones(coo.nnz, int)})
    ids = IdMaps.build(users=[f"u{i}" for i in range(40)], tracks=[f"t{i}" for i in range(41)])  # t40: cold
    params = ListeningParams(model=name, **{name: SMALL[name]})
    vectors, curve = factorise_plays(plays, ids, params)
    assert ("bias" in vectors.columns) == FACTORISERS[name].bias and curve.empty
    assert vectors.set_index("track_id").loc["t40", "cold"] and vectors["f000"].isna().sum() == 1


def test_withheld_tracks_lose_their_plays_become_cold_and_count_zero_plays():
    """listening.withhold (the cold-start benchmark): the drawn test tracks get no vector and
    fall in the cold bin; the other tracks keep theirs; the draw follows its seed; share 0
    changes nothing."""
    from msd_tagging.core.mapping import IdMaps
    from msd_tagging.listening.factorisation import Withhold, withheld_tracks
    from msd_tagging.params import ReportingParams
    from msd_tagging.pipelines.evaluation.nodes import track_popularity
    from msd_tagging.pipelines.listening.nodes import factorise_plays

    coo = _checkerboard().tocoo()
    plays = pd.DataFrame({"user_idx": coo.row, "track_idx": coo.col, "play_count": np.ones(coo.nnz, int)})
    ids = IdMaps.build(users=[f"u{i}" for i in range(40)], tracks=[f"t{i}" for i in range(40)])
    tracks = pd.DataFrame({"track_id": [f"t{i}" for i in range(40)], "split": ["train"] * 20 + ["test"] * 20})
    withhold = {"share": 0.5, "split": "test", "seed": 3}
    drawn = withheld_tracks(tracks, Withhold(**withhold))
    assert len(drawn) == 10 and set(drawn) <= {f"t{i}" for i in range(20, 40)}
    assert list(drawn) == list(withheld_tracks(tracks, Withhold(**withhold)))
    assert list(drawn) != list(withheld_tracks(tracks, Withhold(**{**withhold, "seed": 4})))

    vectors, _ = factorise_plays(plays, ids, ListeningParams(bpr=SMALL["bpr"], withhold=withhold), tracks)
    cold = set(vectors.loc[vectors["cold"], "track_id"])
    assert cold == set(drawn) and vectors.loc[~vectors["cold"], "f000"].notna().all()
    popularity = track_popularity(plays, vectors, tracks, ReportingParams()).set_index("track_id")
    assert (popularity.loc[list(drawn), "plays"] == 0).all() and (popularity.loc[list(drawn), "bin"] == "0").all()
    warm_test = sorted(set(tracks["track_id"][20:]) - set(drawn))
    assert (popularity.loc[warm_test, "plays"] > 0).all()

    plain, _ = factorise_plays(plays, ids, ListeningParams(bpr=SMALL["bpr"]), tracks)
    unchanged, _ = factorise_plays(plays, ids, ListeningParams(bpr=SMALL["bpr"], withhold={"share": 0.0}), tracks)
    assert not plain["cold"].any()
    pd.testing.assert_frame_equal(plain, unchanged)


@pytest.mark.parametrize("weighting", ["binary", "log1p", "raw"])
def test_play_matrix_weightings(weighting):
    plays = pd.DataFrame({"user_idx": [0, 1], "track_idx": [2, 0], "play_count": [3, 1]})
    matrix = play_matrix(plays, 2, 3, weighting)
    assert matrix.shape == (2, 3)
    assert matrix[0, 2] == pytest.approx({"binary": 1.0, "log1p": np.log1p(3), "raw": 3.0}[weighting])


def test_centroid_scores_known_answer():
    # Two clusters of MF vectors; the audio tagger ranks cluster A highest for tag 0, B for tag 1.
    vectors = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9], [1, 0.05], [0.05, 1]], dtype=np.float32)
    train_rows = np.array([0, 1, 2, 3])
    audio_train = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.7], [0.1, 0.9]])
    scores, centroids = centroid_scores(vectors, train_rows, audio_train, top_n=2)
    np.testing.assert_allclose(centroids[0], [0.95, 0.05], atol=1e-6)
    assert scores[4, 0] > 0.95 and scores[5, 1] > 0.95  # unseen tracks 4 and 5 score by cluster
    assert scores[4, 0] > scores[4, 1] and scores[5, 1] > scores[5, 0]
    assert ((scores >= 0) & (scores <= 1)).all()


def test_quantile_calibration_keeps_order_and_takes_target_scale():
    rng = np.random.default_rng(0)
    reference = rng.normal(0.5, 0.1, size=(200, 1))
    target = rng.beta(0.5, 8, size=(200, 1))  # skewed like tag probabilities
    scores = np.array([[0.2], [0.5], [0.8]])
    mapped = quantile_calibrate(scores, reference, target)
    assert mapped[0, 0] < mapped[1, 0] < mapped[2, 0]
    assert mapped[1, 0] == pytest.approx(np.median(target), rel=0.2)
    assert mapped[2, 0] == pytest.approx(target.max())


def test_platt_calibration_follows_the_evidence():
    rng = np.random.default_rng(0)
    n = 2000
    labels = (rng.random((n, 3)) < 0.1).astype(int)
    labels[:, 2] = 0  # a tag without positives
    reference = np.column_stack(
        [
            labels[:, 0] * 2.0 + rng.normal(0, 1, n),  # informative score
            rng.normal(0, 1, n),  # pure noise
            rng.normal(0, 1, n),
        ]
    )
    scores = np.array([[-2.0, -2.0, 0.0], [0.0, 0.0, 0.0], [4.0, 4.0, 0.0]])
    mapped, base_rate = platt_calibrate(scores, reference, labels)
    assert (
        base_rate[2] == "one class" and 0 not in base_rate and (mapped[:, 2] == 0).all()
    )  # base rate of a tag without positives
    assert mapped[0, 0] < 0.005 < mapped[1, 0] < 0.05 < 0.9 < mapped[2, 0]  # informative: spread out
    assert np.ptp(mapped[:, 1]) < 0.05 and abs(mapped[1, 1] - labels[:, 1].mean()) < 0.02  # noise: base rate


def test_platt_calibration_refuses_mismatched_labels():
    with pytest.raises(ValueError, match="differ in shape"):
        platt_calibrate(np.zeros((2, 2)), np.zeros((5, 2)), np.zeros((4, 2)))


def test_cold_tracks_fall_back_to_audio():
    audio = pd.DataFrame({"track_id": ["a", "b"], "rock": [0.2, 0.6]})
    mf = pd.DataFrame({"track_id": ["a"], "rock": [0.8]})
    out = hybrid_scores(audio, mf).set_index("track_id")["rock"]
    assert out["a"] == pytest.approx(0.5) and out["b"] == pytest.approx(0.6)


def test_table_1_schema():
    metrics = {"split": "test", "roc_auc_macro": 0.8, "pr_auc_macro": 0.3, "n_tracks_scored": 10, "n_tags_scored": 5}
    table, markdown, record = _table_1(
        audio=metrics, mf={**metrics, "roc_auc_macro": 0.6}, hybrid={**metrics, "roc_auc_macro": 0.81}
    )
    assert table.columns.tolist() == [
        "method",
        "roc_auc",
        "roc_auc_low",
        "roc_auc_high",
        "pr_auc",
        "pr_auc_low",
        "pr_auc_high",
        "tracks_scored",
        "tags_scored",
        "paper_msd_roc_auc",
        "paper_msd_pr_auc",
    ]
    assert table["method"].tolist() == ["VGG (audio)", "MF-centroids", "Hybrid"]
    assert table["paper_msd_roc_auc"].tolist() == [s.paper.roc_auc for s in SCORERS if s.paper]
    assert "| Hybrid | 0.8100 | 0.3000 |" in markdown and record["rows"][1]["roc_auc"] == 0.6


def test_tag_agreement_beats_shuffled_on_a_clustered_tag():
    from msd_tagging.pipelines.reporting.nodes import tag_agreement

    rng = np.random.default_rng(0)
    n = 120
    tagged = np.arange(n) < 30
    vectors = rng.normal(0, 1, size=(n, 8))
    vectors[tagged] += np.array([6, 0, 0, 0, 0, 0, 0, 0])  # the tagged tracks form one cluster
    frame = pd.DataFrame(vectors, columns=[f"f{i:03d}" for i in range(8)])
    frame.insert(0, "cold", False)
    frame.insert(0, "track_id", [f"t{i}" for i in range(n)])
    labels = pd.DataFrame(
        {"track_id": frame["track_id"], "rock": tagged.astype(np.uint8), "pop": (~tagged).astype(np.uint8)}
    )
    figures = FiguresParams(agreement={"k": 5, "seed": 0, "highlight_tag": "rock", "grid_tags": ["rock"]})
    result = tag_agreement(frame, labels, figures)
    rock = result["tags"]["rock"]
    assert rock["agreement"] > 0.9 and rock["shuffled"] < 0.5 and rock["ratio"] > 2
    assert rock["queries"] == 30 and rock["agreement_interval"][0] <= rock["agreement"] <= rock["agreement_interval"][1]


def test_tag_agreement_on_a_sample_of_queries_agrees_with_the_full_search():
    """A common tag: a seeded sample of its tracks is queried, not all of them; the
    sample's share lands within its interval of the exact one, and the interval is honest."""
    from msd_tagging.pipelines.reporting.nodes import tag_agreement

    rng = np.random.default_rng(3)
    n = 2000
    tagged = rng.random(n) < 0.3
    vectors = rng.normal(0, 1, size=(n, 8)) + np.outer(tagged, [1.5, 0, 0, 0, 0, 0, 0, 0])
    frame = pd.DataFrame(vectors, columns=[f"f{i:03d}" for i in range(8)])
    frame.insert(0, "cold", False)
    frame.insert(0, "track_id", [f"t{i}" for i in range(n)])
    labels = pd.DataFrame({"track_id": frame["track_id"], "rock": tagged.astype(np.uint8)})

    def run(queries: int) -> dict:
        agreement = {"k": 10, "seed": 0, "queries": queries, "highlight_tag": "rock", "grid_tags": ["rock"]}
        return tag_agreement(frame, labels, FiguresParams(agreement=agreement))["tags"]["rock"]

    exact, sampled = run(n), run(150)
    assert exact["queries"] == int(tagged.sum()) and sampled["queries"] == 150
    low, high = sampled["agreement_interval"]
    assert low <= exact["agreement"] <= high and high - low < 0.15
    assert exact["shuffled"] == pytest.approx(run(n)["shuffled"])  # seeded


def test_single_thread_bpr_is_reproducible():
    plays = pd.DataFrame(
        {"user_idx": [0, 0, 1, 2, 2, 3], "track_idx": [0, 1, 1, 2, 3, 3], "play_count": [1, 2, 1, 3, 1, 1]}
    )
    matrix = play_matrix(plays, 4, 4, "log1p")
    config = BPRConfig(factors=4, iterations=20, seed=5, num_threads=1)
    bpr = FACTORISERS["bpr"]
    np.testing.assert_array_equal(factorise(matrix, bpr, config)[0], factorise(matrix, bpr, config)[0])


def _node_inputs():
    rng = np.random.default_rng(0)
    ids = [f"T{i}" for i in range(40)]
    group = np.arange(40) % 2  # tag "a" on even tracks; MF vectors and audio both know it
    vectors = pd.DataFrame(
        rng.normal(0, 0.1, size=(40, 4)) + np.outer(group == 0, [1, 0, 0, 0]) + np.outer(group == 1, [0, 1, 0, 0]),
        columns=["f000", "f001", "f002", "f003"],
    )
    vectors.insert(0, "cold", False)
    vectors.insert(0, "track_id", ids)
    audio = pd.DataFrame({"track_id": ids, "a": np.where(group == 0, 0.8, 0.2) + rng.normal(0, 0.05, 40)})
    tracks = pd.DataFrame({"track_id": ids, "split": ["train"] * 30 + ["test"] * 10})
    labels = pd.DataFrame({"track_id": ids, "a": (group == 0).astype(int)})
    params = ListeningParams(use_bias=False, top_n=5, drop_fraction=0.0, calibration="platt", platt_c=1.0)
    return vectors, audio, tracks, labels, params


def test_mf_centroid_node_gives_probabilities_that_rank_the_tag():
    from msd_tagging.scoring.scorers import mf_centroid_scores

    vectors, audio, tracks, labels, params = _node_inputs()
    scores = mf_centroid_scores(vectors, audio, tracks, labels, params).set_index("track_id")["a"]
    test = [f"T{i}" for i in range(30, 40)]
    assert scores[test[0::2]].min() > 0.8 > 0.2 > scores[test[1::2]].max()


def test_mf_centroid_node_names_a_training_track_without_labels():
    from msd_tagging.core.errors import MSDDataError
    from msd_tagging.scoring.scorers import mf_centroid_scores

    vectors, audio, tracks, labels, params = _node_inputs()
    with pytest.raises(MSDDataError, match="T3"):
        mf_centroid_scores(vectors, audio, tracks, labels[labels["track_id"] != "T3"], params)
    with pytest.raises(ValueError, match="parameter listening.calibration: .softmax. is not one of"):
        dataclasses.replace(params, calibration="softmax")


def test_blocked_neighbours_equal_dense_and_stay_within_their_memory():
    """Figure 1's neighbour search at MSD size: a dense 242k × 242k similarity is 218 GiB."""
    import tracemalloc

    from msd_tagging.listening.centroids import nearest_neighbours, unit

    rng = np.random.default_rng(0)
    vectors = unit(rng.standard_normal((300, 8)).astype(np.float32))
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    dense = np.argpartition(-similarity, 5, axis=1)[:, :5]
    blocked = nearest_neighbours(vectors, 5, memory_bytes=12 * 300 * 7)  # blocks of 7 rows
    assert [set(r) for r in blocked] == [set(r) for r in dense]
    some = np.array([3, 50, 299])
    assert [set(r) for r in nearest_neighbours(vectors, 5, some, memory_bytes=1)] == [set(dense[i]) for i in some]

    big = unit(rng.standard_normal((12000, 16)).astype(np.float32))
    tracemalloc.start()
    nearest_neighbours(big, 10, memory_bytes=32 << 20)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 48 << 20  # a dense search would hold 12000² float32 (549 MiB) and int64 indices


def test_bpr_goes_through_implicits_factory_so_the_gpu_class_gets_only_what_it_accepts(monkeypatch):
    """use_gpu used to build implicit's GPU class directly with num_threads, a TypeError on a
    CUDA machine. The factory is called; both classes' signatures accept what it passes."""
    import inspect

    import implicit
    import implicit.bpr
    import implicit.cpu.bpr

    calls = []
    real = implicit.bpr.BayesianPersonalizedRanking

    def spy(**kwargs):
        calls.append(kwargs)
        return real(**{**kwargs, "use_gpu": False})

    monkeypatch.setattr(implicit.bpr, "BayesianPersonalizedRanking", spy)
    monkeypatch.setattr(implicit.gpu, "HAS_CUDA", True)  # as on a CUDA machine
    plays = pd.DataFrame({"user_idx": [0, 0, 1, 1, 2], "track_idx": [0, 1, 1, 2, 0], "play_count": [1, 2, 1, 1, 3]})
    factorise(
        play_matrix(plays, 3, 3), FACTORISERS["bpr"], BPRConfig(factors=4, iterations=2, num_threads=1, use_gpu=True)
    )
    assert calls and calls[0]["use_gpu"] is True and calls[0]["num_threads"] == 1
    factory = set(inspect.signature(real).parameters)
    assert set(calls[0]) <= factory
    cpu = set(inspect.signature(implicit.cpu.bpr.BayesianPersonalizedRanking.__init__).parameters)
    assert {"factors", "learning_rate", "regularization", "iterations", "num_threads", "random_state"} <= cpu
    if implicit.gpu.HAS_CUDA and hasattr(implicit.gpu, "bpr"):  # the GPU class, where implicit was built with it
        gpu = set(inspect.signature(implicit.gpu.bpr.BayesianPersonalizedRanking.__init__).parameters)
        assert "num_threads" not in gpu and {"factors", "iterations", "random_state"} <= gpu


def test_early_stopping_picks_the_iterations_on_held_out_plays():
    """Checkerboard listeners: held-out plays are found again (AUC well above chance), the
    curve is written, and with no learning the run stops after ``patience`` flat checks."""
    from msd_tagging.listening.factorisation import EarlyStopping, factorise_early_stopped

    rows = [(u, t, 1 + (u + t) % 3) for u in range(60) for t in range(40) if (u < 30) == (t < 20) and (u * 7 + t) % 3]
    plays = pd.DataFrame(rows, columns=["user_idx", "track_idx", "play_count"])
    matrix = play_matrix(plays, 60, 40, "log1p")
    stopping = EarlyStopping(enabled=True, check_every=10, patience=2, holdout_users=40, negatives=20, seed=0)
    config = BPRConfig(factors=8, learning_rate=0.05, iterations=80, seed=1, num_threads=1)
    (factors, bias), curve = factorise_early_stopped(matrix, FACTORISERS["bpr"], config, stopping)
    assert factors.shape == (40, 8) and bias.shape == (40,)
    assert list(curve.columns) == ["iteration", "heldout_auc", "seconds"]
    assert curve["iteration"].tolist()[0] == 10 and curve["heldout_auc"].max() > 0.7  # chance: 0.5
    assert curve["heldout_auc"].iloc[0] < curve["heldout_auc"].max()  # training helped before it stopped
    frozen = BPRConfig(factors=8, learning_rate=1e-9, regularization=0.0, iterations=80, seed=1, num_threads=1)
    _, flat = factorise_early_stopped(matrix, FACTORISERS["bpr"], frozen, stopping)
    assert flat["iteration"].tolist() == [10, 20, 30]  # best at the first check, then 2 without a better one


def test_warp_rounds_go_on_from_the_last_one_under_early_stopping():
    """WARP (the warp extra) under listening.early_stopping: each round of check_every
    epochs continues the last one's factors, so the held-out AUC is measured on one fit."""
    from msd_tagging.listening.factorisation import EarlyStopping, factorise_early_stopped
    from msd_tagging.listening.factorisers import WARPConfig

    _needs("warp")
    rows = [(u, t, 1 + (u + t) % 3) for u in range(60) for t in range(40) if (u < 30) == (t < 20) and (u * 7 + t) % 3]
    matrix = play_matrix(pd.DataFrame(rows, columns=["user_idx", "track_idx", "play_count"]), 60, 40, "log1p")
    stopping = EarlyStopping(enabled=True, check_every=5, patience=2, holdout_users=40, negatives=20, seed=0)
    config = WARPConfig(factors=8, iterations=20, seed=1, num_threads=1)
    (factors, bias), curve = factorise_early_stopped(matrix, FACTORISERS["warp"], config, stopping)
    assert factors.shape == (40, 8) and bias.shape == (40,)
    assert curve["iteration"].tolist()[:2] == [5, 10] and curve["heldout_auc"].max() > 0.7  # chance: 0.5
