"""The run-cost hook logs every node's time and memory, then a summary."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace

from msd_tagging.hooks import RunCostHooks


def test_run_cost_hook_logs_nodes_and_summary(caplog):
    hooks = RunCostHooks()
    with caplog.at_level(logging.INFO, logger="msd_tagging.hooks"):
        for name in ("extract_features", "train_vgg"):
            node = SimpleNamespace(name=name, outputs=[f"{name}_out"])
            hooks.before_node_run(node)
            _ = [i * i for i in range(10000)]
            hooks.after_node_run(node)
            hooks.before_dataset_saved(f"{name}_out")
            time.sleep(0.05 if name == "extract_features" else 0)
            hooks.after_dataset_saved(f"{name}_out")
        hooks.after_pipeline_run()
    text = caplog.text
    assert "node extract_features:" in text and "node train_vgg:" in text
    assert "Run cost by node" in text and "total" in text
    line = next(
        r.getMessage() for r in caplog.records if "extract_features " in r.getMessage() and "+" in r.getMessage()
    )
    assert float(line.split("+")[1].split(")")[0]) >= 0.05  # the lazy save is added to its node
