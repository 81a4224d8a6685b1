"""The service's log: one line per event to stderr, and to a file when asked (reopened if
rotated); APScheduler's own lines kept to warnings, its "still running" said plainly."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

SERVICE_LOGGER = "veille.service"


class _StillRunning(logging.Filter):
    """APScheduler's 'maximum number of running instances reached', said plainly."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "maximum number of running instances" in record.getMessage():
            job = str(record.args[0]) if record.args else "a job"
            record.msg, record.args = (
                "%s: poll skipped, its previous crawl is still running",
                (job.split(":", 1)[0],),
            )
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def setup_logging(log_file: str | None, verbose: bool = False) -> None:
    """One line per event to stderr, and to `log_file` too when given (reopened if rotated)."""
    from logging.handlers import WatchedFileHandler

    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file:
        Path(log_file).expanduser().parent.mkdir(parents=True, exist_ok=True)
        handlers.append(WatchedFileHandler(Path(log_file).expanduser(), encoding="utf-8"))
    for name, level in ((SERVICE_LOGGER, logging.DEBUG if verbose else logging.INFO),):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        logger.propagate = False
        for handler in handlers:
            handler.setFormatter(formatter)
            logger.addHandler(handler)
    aps = logging.getLogger("apscheduler")
    aps.setLevel(logging.WARNING)
    aps.propagate = False
    for handler in handlers:
        aps.addHandler(handler)
    logging.getLogger("apscheduler.scheduler").addFilter(_StillRunning())
