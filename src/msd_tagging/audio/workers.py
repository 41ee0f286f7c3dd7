"""What every worker process of the project does: die with its parent, and keep C
libraries' stderr out of progress bars and logs."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent ``parent`` dies (Linux).

    A ``kill -9`` of ``kedro run`` must not leave extraction workers running for minutes and
    committing shards for a run that is gone. Call first thing in a pool's initializer.
    """
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before we could ask
        os._exit(1)


@contextlib.contextmanager
def c_stderr_captured() -> Iterator[list[str]]:
    """Collect what is written to file descriptor 2 meanwhile (by C code such as libmpg123
    inside libsndfile, which Python's ``sys.stderr`` never sees); yields a list that holds
    the text once the block ends."""
    captured: list[str] = []
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            captured.append(sink.read().decode("utf-8", "replace"))
