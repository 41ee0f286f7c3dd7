"""The prepared GPU check (benchmarks/gpu_check.py) in its CPU-only mode: every part runs and
the one JSON it writes says so. On a GPU machine the same script measures (docs/scale.md)."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_script

pytestmark = pytest.mark.e2e


def test_the_gpu_check_runs_on_the_cpu_and_writes_one_json(tmp_path):
    module = load_script("benchmarks/gpu_check.py")
    record = module.main(["--cpu-only", "--out", str(tmp_path / "gpu_check.json")])
    saved = json.loads((tmp_path / "gpu_check.json").read_text())
    assert saved["mode"] == "cpu-only" and saved["passed"], saved
    assert set(saved["training"]["train_loss"]) == {"cpu"} and len(saved["training"]["train_loss"]["cpu"]) == 2
    assert saved["bpr"]["cpu_heldout_auc"] > 0.5 and saved["throughput"]["matmul_gflops"] > 0
    assert set(saved["throughput"]["networks"]) == {"msd_musicnn", "msd_vgg"} and record["passed"]
