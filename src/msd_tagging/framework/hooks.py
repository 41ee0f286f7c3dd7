"""Run hooks: plain log lines outside a terminal, and per-node wall time and peak memory,
logged, so every run says what it cost.

Rich lays a log out for the terminal's width and, when stdout is not a terminal (CI, a
pipe, ``kedro run > run.log``), for 80 columns: every long line, URL and cost-table row is
split in two. Kedro 1.7 accepts only its own and the standard library's handler classes in
``conf/logging.yml``, so the project keeps Rich there and swaps it, as the project's
settings load and again when the run starts, for a plain :class:`logging.StreamHandler`
when its console is not a terminal.
"""

from __future__ import annotations

import logging
import os
import re
import resource
import threading
import time
from pathlib import Path

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def plain_logs_outside_terminal(target: logging.Logger | None = None) -> int:
    """Replace each Rich handler of ``target`` (the root logger) whose console is not a
    terminal by a plain stream handler on the same stream and level. Returns how many."""
    from rich.logging import RichHandler

    target = target or logging.getLogger()
    swapped = 0
    for handler in list(target.handlers):
        if isinstance(handler, RichHandler) and not handler.console.is_terminal:
            plain = logging.StreamHandler(handler.console.file)
            plain.setLevel(handler.level)
            plain.setFormatter(logging.Formatter(PLAIN_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
            for log_filter in handler.filters:
                plain.addFilter(log_filter)
            target.removeHandler(handler)
            target.addHandler(plain)
            swapped += 1
    return swapped


_STATUS = Path("/proc/self/status")
_STATM = Path("/proc/self/statm")
_PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4096 / 2**20


def _peak_rss_mb() -> float | None:
    """This process's resident high-water mark (Linux), else None."""
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _rss_mb() -> float | None:
    """This process's resident memory now (Linux), else None."""
    try:
        return int(_STATM.read_text().split()[1]) * _PAGE_MB
    except (OSError, IndexError, ValueError):
        return None


class _PeakSampler:
    """The peak resident memory of the process while one node runs, measured without
    resetting the process's own high-water mark (``VmHWM``), so ``/usr/bin/time`` and other
    outside tools still see the true peak of the run.

    A node's peak is the process's new high-water mark when the node raised it, else the
    highest resident size sampled every ``interval`` seconds while it ran.
    """

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._hwm_before: float | None = None
        self._sampled = 0.0

    def start(self) -> None:
        self._hwm_before = _peak_rss_mb()
        self._sampled = _rss_mb() or 0.0
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="peak-rss-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sampled = max(self._sampled, _rss_mb() or 0.0)

    def stop(self) -> float | None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sampled = max(self._sampled, _rss_mb() or 0.0)
        after = _peak_rss_mb()
        if after is None:
            return None
        if self._hwm_before is not None and after > self._hwm_before:
            return after  # the node set the process's record
        return self._sampled


class RunStartHooks:
    """Plain log lines outside a terminal (:func:`plain_logs_outside_terminal`).

    Parameters need no hook: every node takes its blocks typed (``msd_tagging.params``),
    and Kedro builds and checks them before the first node runs."""

    @hook_impl
    def after_context_created(self, context) -> None:
        plain_logs_outside_terminal()


_COST_ROW = re.compile(r"msd_tagging\.(?:framework\.)?hooks:\s+(\S+)\s+([\d.]+) s\s+(\d+|\?) MB")
_COST_TOTAL = re.compile(r"msd_tagging\.(?:framework\.)?hooks:\s+total\s+([\d.]+) s\s+largest worker process (\d+) MB")


def parse_cost_log(text: str) -> dict | None:
    """The per-node cost table a run logged (see :class:`RunCostHooks`), as
    ``{"nodes": {name: {"seconds", "peak_rss_mb"}}, "total": {"seconds", "largest_worker_mb"}}``;
    ``None`` when the log holds no complete table."""
    nodes, total = {}, None
    for line in text.splitlines():
        if match := _COST_TOTAL.search(line):
            total = {"seconds": float(match.group(1)), "largest_worker_mb": int(match.group(2))}
        elif match := _COST_ROW.search(line):
            peak = None if match.group(3) == "?" else int(match.group(3))
            nodes[match.group(1)] = {"seconds": float(match.group(2)), "peak_rss_mb": peak}
    return {"nodes": nodes, "total": total} if total is not None else None


class _Heartbeat:
    """Outside a terminal, a log line every ``every`` seconds while a node runs: a step
    with no progress of its own (a factorisation, a fit) still shows it is alive. Steps
    with a :class:`~msd_tagging.core.progress.Progress` say more (items done, rate, time left).
    ``every`` is 1.5 times ``MSD_TAGGING_HEARTBEAT_SECONDS`` (default 45 s; 0: off)."""

    def __init__(self, every: float | None = None):
        from msd_tagging.core.progress import heartbeat_seconds

        if every is None:
            every = 1.5 * heartbeat_seconds()
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, name: str) -> None:
        import sys

        if self.every <= 0 or sys.stderr.isatty():
            return
        self._stop.clear()
        started = time.monotonic()

        def beat() -> None:
            while not self._stop.wait(self.every):
                rss = _rss_mb()
                logger.info(
                    "node %s: still running after %s%s",
                    name,
                    _elapsed(time.monotonic() - started),
                    f", RSS {rss:.0f} MB" if rss else "",
                )

        self._thread = threading.Thread(target=beat, name="node-heartbeat", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _elapsed(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 90 else f"{seconds:.0f} s"


class RunCostHooks:
    """Logs each node's seconds and peak RSS, and a summary table after the run.

    Every heavy step is a node (drawing the demo world too: ``draw_world``), so node time
    is the whole cost."""

    def __init__(self):
        self._sampler = _PeakSampler()
        self._heartbeat = _Heartbeat()
        self._started: dict[str, float] = {}
        self._costs: list[tuple[str, float, float | None, float]] = []

    def record(self, name: str, seconds: float, peak: float | None) -> None:
        """Add one step's cost to the run's table and log it."""
        children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        self._costs.append((name, seconds, peak, children))
        logger.info("node %s: %.1f s, peak RSS %s MB", name, seconds, f"{peak:.0f}" if peak else "?")

    @hook_impl
    def before_node_run(self, node) -> None:
        self._sampler.start()
        self._heartbeat.start(node.name)
        self._started[node.name] = time.perf_counter()

    @hook_impl
    def after_node_run(self, node) -> None:
        self._heartbeat.stop()
        seconds = time.perf_counter() - self._started.pop(node.name, time.perf_counter())
        self.record(node.name, seconds, self._sampler.stop())

    @hook_impl
    def on_node_error(self, node) -> None:
        self._heartbeat.stop()
        self._sampler.stop()

    @hook_impl
    def after_pipeline_run(self, run_params: dict | None = None) -> None:
        if not self._costs:
            if "Parallel" in str((run_params or {}).get("runner", "")):
                logger.info(
                    "No per-node cost table: ParallelRunner runs nodes in worker processes; use the default runner to measure."
                )
            return
        logger.info("Run cost by node (seconds, peak RSS of the main process):")
        total = 0.0
        for name, seconds, peak, _ in self._costs:
            total += seconds
            logger.info("  %-26s %7.1f s  %s MB", name, seconds, "?" if peak is None else f"{peak:.0f}")
        child = max(c for *_, c in self._costs)
        logger.info("  %-26s %7.1f s  largest worker process %.0f MB", "total", total, child)
        self._costs.clear()


def _check_ingestion_head(nodes, catalog) -> None:
    """Stop when the pipeline's ingestion source reads another kind of raw data than the env
    (a plain ``KedroSession`` running ``hybrid``, the MSD source, in ``--env catalogue``)."""
    from msd_tagging.core.errors import ParameterError

    read = {n.namespace.split(".")[0] for n in nodes if "ingestion" in n.tags and n.namespace}
    ingestion = catalog.load("params:ingestion") if "params:ingestion" in catalog else None
    source = getattr(ingestion, "source", None) or (ingestion or {}).get("source", "msd")
    if read and source not in read:
        raise ParameterError(
            "ingestion.source",
            f"the env reads {source!r} raw data, but the pipeline's ingestion source is {', '.join(sorted(read))!r}.",
            fix=f"run pipeline 'hybrid.{source}', or run through the project's session (kedro run, or "
            "settings.SESSION_CLASS), which picks it for 'hybrid'.",
        )


def _check_audio_variant(nodes, catalog) -> None:
    """Stop when the pipeline's audio sub-pipeline makes another kind of model than
    ``audio.model_source`` asks for (a plain ``KedroSession`` running ``hybrid``, which
    trains, with ``audio.model_source: head``)."""
    from msd_tagging.core.errors import ParameterError
    from msd_tagging.pipelines.audio.pipeline import variant_of

    built = {t.split(".", 1)[1] for n in nodes for t in n.tags if t.startswith("audio.")}
    params = catalog.load("params:audio") if "params:audio" in catalog else None
    source = getattr(params, "model_source", None) or (params or {}).get("model_source", "train")
    wanted = variant_of(source)
    if built and wanted not in built:
        raise ParameterError(
            "audio.model_source",
            f"is {source!r}, but the pipeline's audio side is the {', '.join(sorted(built))!r} sub-pipeline.",
            fix="run through the project's session (kedro run, or settings.SESSION_CLASS), which picks the "
            f"'{wanted}' one for 'hybrid', or name it: hybrid.<source>{'' if wanted == 'train' else '.' + wanted}.",
        )


class RawDataHooks:
    """Before a run, check that its ingestion source reads the kind of raw data the env has,
    and that its audio sub-pipeline makes the model ``audio.model_source`` asks for. The raw data itself is drawn, or checked to be in place, by the
    ``draw_world`` node at the head of every ingestion pipeline (``demo_data``), so
    ``kedro run --pipeline=hybrid`` works on a fresh clone and kedro-viz shows the step."""

    @hook_impl
    def before_pipeline_run(self, run_params: dict, pipeline, catalog) -> None:
        nodes = pipeline.nodes
        if any("ingestion" in n.tags for n in nodes):
            _check_ingestion_head(nodes, catalog)
        _check_audio_variant(nodes, catalog)
