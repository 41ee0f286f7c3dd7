"""Console logging outside a terminal: one plain, unwrapped line per record.

Rich lays a log out for the terminal's width and, when stdout is not a terminal (CI, a
pipe, ``kedro run > run.log``), for 80 columns: every long line, URL and cost-table row is
split in two. Kedro 1.7 accepts only its own and the standard library's handler classes in
``conf/logging.yml``, so the project keeps Rich there and swaps it, once the run starts,
for a plain :class:`logging.StreamHandler` when its console is not a terminal.
"""

from __future__ import annotations

import logging

PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def plain_logs_outside_terminal(logger: logging.Logger | None = None) -> int:
    """Replace each Rich handler of ``logger`` (the root logger) whose console is not a
    terminal by a plain stream handler on the same stream and level. Returns how many."""
    from rich.logging import RichHandler

    logger = logger or logging.getLogger()
    swapped = 0
    for handler in list(logger.handlers):
        if isinstance(handler, RichHandler) and not handler.console.is_terminal:
            plain = logging.StreamHandler(handler.console.file)
            plain.setLevel(handler.level)
            plain.setFormatter(logging.Formatter(PLAIN_FORMAT, datefmt="%Y-%m-%d %H:%M:%S"))
            for log_filter in handler.filters:
                plain.addFilter(log_filter)
            logger.removeHandler(handler)
            logger.addHandler(plain)
            swapped += 1
    return swapped
