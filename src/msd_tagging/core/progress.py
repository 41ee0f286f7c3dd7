"""Progress of long steps: a tqdm bar in a terminal, a log line every so often elsewhere.

Outside a terminal (CI, ``kedro run > run.log``, a scheduler) tqdm shows nothing, so a
step of an hour would print nothing for an hour. :class:`Progress` then logs a heartbeat
every ``every`` seconds: items done of the total, the rate, the time left, and any
running figures the step adds (hours of audio, say).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable

HEARTBEAT_SECONDS = 30.0  # MSD_TAGGING_HEARTBEAT_SECONDS overrides it (a node's own heartbeat: 1.5 times that)


def heartbeat_seconds() -> float:
    """Seconds between heartbeat lines: ``MSD_TAGGING_HEARTBEAT_SECONDS``, else 30."""
    return float(os.environ.get("MSD_TAGGING_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))


class Progress:
    """Count work done; show it as a bar in a terminal, as heartbeat log lines elsewhere.

    Args:
        total: items expected (``None`` when unknown).
        desc: what is being done ("log-mel", "tag_audio").
        unit: what an item is ("track", "file").
        every: seconds between heartbeat lines outside a terminal.
        logger: where heartbeats go (default: this module's logger).
        terminal: force the bar (True) or the heartbeat (False); default: whether
            stderr is a terminal.
        extra: a function giving more to say in each heartbeat ("2.5 h of audio").
        enabled: False shows nothing (a caller's ``progress=False``).
        leave: keep the terminal bar when done (tqdm's ``leave``).
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str = "item",
        *,
        every: float | None = None,
        logger: logging.Logger | None = None,
        terminal: bool | None = None,
        extra: Callable[[], str] | None = None,
        enabled: bool = True,
        leave: bool = True,
    ):
        self.total, self.desc, self.unit = total, desc, unit
        self.every = heartbeat_seconds() if every is None else every
        self.done = 0
        self.logger = logger or logging.getLogger(__name__)
        self.extra = extra
        self.terminal = sys.stderr.isatty() if terminal is None else terminal
        self.enabled = enabled
        self._started = self._last = time.monotonic()
        self._bar = None
        if self.terminal and enabled:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=unit, leave=leave)

    def update(self, n: int = 1) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        now = time.monotonic()
        if self.enabled and self.every > 0 and now - self._last >= self.every:
            self._last = now
            self.logger.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        """The heartbeat: ``log-mel: 1200 of 4000 tracks (30%), 12.3 tracks/s, about 4 min left``."""
        elapsed = max((now or time.monotonic()) - self._started, 1e-9)
        rate = self.done / elapsed
        parts = [
            f"{self.desc}: {self.done} of {self.total} {_plural(self.unit)}"
            if self.total
            else f"{self.desc}: {self.done}"
        ]
        if self.total:
            parts[0] += f" ({self.done / self.total:.0%})"
        parts.append(f"{rate:.3g} {_plural(self.unit)}/s")
        if self.total and rate > 0:
            parts.append(f"about {_duration((self.total - self.done) / rate)} left")
        if self.extra is not None:
            parts.append(self.extra())
        return ", ".join(parts)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self.enabled and self.every > 0 and self.done and time.monotonic() - self._started >= self.every:
            self.logger.info("%s (done)", self.line())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _plural(unit: str) -> str:
    return unit + ("es" if unit.endswith(("s", "sh", "ch", "x")) else "s")


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
