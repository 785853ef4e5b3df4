"""The Celery floor: what a bare no-op task costs on the same broker, queue and worker."""

from __future__ import annotations

import time

from emsweb.redis import redis_client

from .stack import wait_until
from .tasks import STARTED_KEY, noop


def _collect(count: int, timeout: float) -> list[tuple[float, float]]:
    client = redis_client()
    wait_until(
        f"{count} no-op tasks to start",
        lambda: client.llen(STARTED_KEY) >= count,
        timeout=timeout,
        every=0.05,
    )
    raw = client.lrange(STARTED_KEY, 0, -1)
    client.delete(STARTED_KEY)
    return [tuple(float(part) for part in item.split()) for item in raw]


def latencies(count: int, rate: float) -> list[float]:
    """Enqueue-to-start of `count` no-op tasks sent at a steady `rate` per second, in ms."""
    redis_client().delete(STARTED_KEY)
    for _ in range(20):  # warm: the first publish opens the connection
        noop.delay(time.time())
    _collect(20, timeout=30)
    began = time.perf_counter()
    for n in range(count):
        pause = began + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        noop.delay(time.time())
    return [(started - sent) * 1000 for sent, started in _collect(count, timeout=60)]


def start_times(count: int) -> tuple[list[float], float]:
    """Start times of `count` no-op tasks sent as fast as one process can send them, and when
    the sending ended."""
    redis_client().delete(STARTED_KEY)
    for _ in range(count):
        noop.delay(time.time())
    sent = time.time()
    return [started for _, started in _collect(count, timeout=120)], sent
