"""The floor of the order path: a Celery task that does nothing but note when it started.

Same options and queue as route_order (acknowledged late, no result), so the difference between
the two is what emsweb adds.
"""

import time

from celery import shared_task

from emsweb.redis import redis_client

STARTED_KEY = "bench:noop:started"


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def noop(sent_at: float) -> None:
    started = time.time()
    redis_client().rpush(STARTED_KEY, f"{sent_at!r} {started!r}")
