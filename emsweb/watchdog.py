"""Celery's hard time limit for a worker on the threads pool, which enforces none.

Prefork kills a pool process whose task runs past CELERY_TASK_TIME_LIMIT; the order path counts
on it: no worker can still be sending an order once the sync may declare it never placed
(tests/test_celery_config.py). A thread cannot be killed, so on the threads pool this watchdog
ends the whole worker process instead (os._exit) when any task runs past the limit. The launcher
or the container's restart policy starts it again, and the orders of the tasks it took along
are settled as any killed worker's are (tests/reliability/test_threads_pool.py).
"""

from __future__ import annotations

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)

CHECK_EVERY = 0.5
EXIT_CODE = 70

_started: dict[str, float] = {}  # task id -> time.monotonic() at its start
_started_lock = threading.Lock()


def task_started(task_id: str) -> None:
    with _started_lock:
        _started[task_id] = time.monotonic()


def task_ended(task_id: str) -> None:
    with _started_lock:
        _started.pop(task_id, None)


def tasks_overdue(limit: float, now: float) -> list[str]:
    with _started_lock:
        return [task_id for task_id, started in _started.items() if now - started > limit]


def watch(limit: float) -> threading.Thread:
    """Check the running tasks every CHECK_EVERY seconds on a daemon thread; end the process
    when one has run for longer than `limit` seconds."""

    def run() -> None:
        while True:
            time.sleep(CHECK_EVERY)
            if overdue := tasks_overdue(limit, time.monotonic()):
                logger.critical(
                    "tasks %s ran past the %s s time limit: ending the worker process",
                    overdue,
                    limit,
                )
                for handler in logging.getLogger().handlers:
                    handler.flush()
                os._exit(EXIT_CODE)

    thread = threading.Thread(target=run, name="time-limit-watchdog", daemon=True)
    thread.start()
    return thread
