"""The run-cost hook logs every node's time and memory, then a summary."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

from msd_tagging.framework.hooks import RunCostHooks


def test_run_cost_hook_logs_nodes_and_summary(caplog):
    hooks = RunCostHooks()
    with caplog.at_level(logging.INFO, logger="msd_tagging.framework.hooks"):
        hooks.record("draw_world", 0.05, 300.0)
        for name in ("extract_features", "train_tagger"):
            node = SimpleNamespace(name=name, outputs=[f"{name}_out"])
            hooks.before_node_run(node)
            _ = [i * i for i in range(10000)]
            time.sleep(0.05 if name == "extract_features" else 0)
            hooks.after_node_run(node)
        hooks.after_pipeline_run()
    text = caplog.text
    assert "node extract_features:" in text and "node train_tagger:" in text and "node draw_world:" in text
    assert "Run cost by node" in text and "total" in text
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("  extract_features "))
    assert float(line.split()[1]) >= 0.05  # the work is in the node: no save to credit back


def test_per_node_peaks_leave_the_process_high_water_mark_alone():
    """Each node's peak is measured without resetting VmHWM (which made /usr/bin/time and
    other outside tools under-report a run's peak)."""
    import numpy as np
    import pytest

    from msd_tagging.framework.hooks import _peak_rss_mb, _rss_mb

    if _peak_rss_mb() is None:
        pytest.skip("needs /proc (Linux)")
    hooks = RunCostHooks()
    start_rss = _rss_mb()
    peaks = {}
    for name, megabytes in (("big", 300), ("small", 0)):
        node = SimpleNamespace(name=name, outputs=[])
        hooks.before_node_run(node)
        if megabytes:
            block = np.ones(megabytes * 2**20 // 8)  # touched pages: resident
            time.sleep(0.3)
            del block
        hooks.after_node_run(node)
        peaks[name] = hooks._costs[-1][2]
    high_water = _peak_rss_mb()
    assert peaks["big"] >= start_rss + 250
    assert peaks["small"] < peaks["big"] - 200
    assert high_water >= peaks["big"]  # the process still remembers its true peak


def test_the_cost_table_a_run_logs_parses_back(caplog):
    """benchmarks/msd_scale.py and docs/readme_results.py read the same table the hook writes."""
    from msd_tagging.framework.hooks import parse_cost_log

    hooks = RunCostHooks()
    with caplog.at_level(logging.INFO, logger="msd_tagging.framework.hooks"):
        for name in ("build_plays", "factorise_plays"):
            node = SimpleNamespace(name=name, outputs=[])
            hooks.before_node_run(node)
            hooks.after_node_run(node)
        hooks.after_pipeline_run()
    text = "\n".join(
        f"2026-11-25 00:00:00 INFO    msd_tagging.framework.hooks: {r.getMessage()}" for r in caplog.records
    )
    costs = parse_cost_log(text)
    assert set(costs["nodes"]) == {"build_plays", "factorise_plays"} and costs["total"]["seconds"] >= 0
    assert parse_cost_log("no table here") is None
