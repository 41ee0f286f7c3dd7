"""Run hooks: per-node wall time and peak memory, logged, so every run says what it cost."""

from __future__ import annotations

import logging
import resource
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _peak_rss_mb() -> float | None:
    """This process's resident high-water mark (Linux), else None."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _reset_peak() -> None:
    try:
        _CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
    except OSError:
        pass


class RunCostHooks:
    """Logs each node's seconds and peak RSS, and a summary table after the run."""

    def __init__(self):
        self._started: dict[str, float] = {}
        self._costs: list[tuple[str, float, float | None, float]] = []

    @hook_impl
    def before_node_run(self, node) -> None:
        _reset_peak()
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node) -> None:
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        peak = _peak_rss_mb()
        self._costs.append((node.name, seconds, peak, children))
        logger.info("node %s: %.1f s, peak RSS %s MB", node.name, seconds, f"{peak:.0f}" if peak else "?")

    @hook_impl
    def after_pipeline_run(self) -> None:
        if not self._costs:
            return
        width = max(len(name) for name, *_ in self._costs)
        lines = [f"{'node':{width}}  seconds  peak RSS MB"]
        lines += [f"{name:{width}}  {seconds:7.1f}  {peak if peak is None else round(peak):>11}" for name, seconds, peak, _ in self._costs]
        total = sum(seconds for _, seconds, *_ in self._costs)
        child = max(c for *_, c in self._costs)
        lines.append(f"{'total':{width}}  {total:7.1f}  (largest worker process: {child:.0f} MB)")
        logger.info("Run cost by node:\n%s", "\n".join(lines))
        self._costs.clear()
