"""The kedro-mlflow path (the ``mlflow`` extra): a run of the tiny world tracked in a
SQLite store, read back through MLflow's client."""

from __future__ import annotations

import json

import pytest

from tests.test_run import _conf, _run, _tiny_env

pytestmark = pytest.mark.e2e


def test_scorer_metrics_become_flat_mlflow_metrics():
    from msd_tagging.framework.tracking import scorer_metrics

    metrics = {"roc_auc_macro": 0.8, "pr_auc_macro": 0.3, "interval": {"roc_auc": [0.7, 0.9]}, "n_tags_scored": 50}
    assert scorer_metrics("hybrid_metrics", metrics) == {
        "hybrid.roc_auc": 0.8, "hybrid.pr_auc": 0.3, "hybrid.roc_auc_low": 0.7, "hybrid.roc_auc_high": 0.9,
        "hybrid.n_tags_scored": 50.0,
    }  # fmt: skip


def test_a_tracked_run_has_flat_parameters_every_scorers_metrics_and_its_artifacts(tmp_path, monkeypatch):
    pytest.importorskip("kedro_mlflow")
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MSD_TAGGING_MLFLOW", "1")
    conf = _conf(tmp_path, {"tiny": _tiny_env(tmp_path)})
    _run(conf, "tiny", tmp_path, monkeypatch, params={"db_password": "hunter2"})
    store = tmp_path / "data/09_runs/mlflow.db"
    assert store.is_file()
    client = MlflowClient(tracking_uri=f"sqlite:///{store}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "msd_tagging"]
    (run,) = client.search_runs([experiment.experiment_id])
    params, metrics = run.data.params, run.data.metrics
    assert params["listening.bpr.factors"] == "200" and params["audio.train.max_epochs"] == "2"
    assert not [k for k in params if k in ("ingestion", "audio", "listening", "params:ingestion")]  # no blobs
    reporting = tmp_path / "data/08_reporting/tiny"
    for scorer in ("audio", "mf", "hybrid", "fusion_classifier", "mf_classifier"):
        saved = json.loads((reporting / f"{scorer}_metrics.json").read_text())
        assert metrics[f"{scorer}.roc_auc"] == pytest.approx(saved["roc_auc_macro"])
        assert metrics[f"{scorer}.pr_auc"] == pytest.approx(saved["pr_auc_macro"])
        assert metrics[f"{scorer}.roc_auc_low"] <= metrics[f"{scorer}.roc_auc"] <= metrics[f"{scorer}.roc_auc_high"]
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "reporting")}
    assert {"reporting/table_1.md", "reporting/figure_1_tsne.png", "reporting/run_record.json"} <= artifacts
    assert run.data.tags["git_dirty"] in ("True", "False") and run.data.tags["git_commit"]
    # Issue 29: artifacts beside the store, under data/; nothing else written outside data/; secrets masked.
    assert experiment.artifact_location == (tmp_path / "data/09_runs/mlartifacts").as_uri()
    assert list((tmp_path / "data/09_runs/mlartifacts").rglob("run_record.json"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conf", "data"]
    assert params["db_password"] == "***"
    for path in [store, *(tmp_path / "data").rglob("run_record.json")]:
        if path.is_file():
            assert b"hunter2" not in path.read_bytes(), path
