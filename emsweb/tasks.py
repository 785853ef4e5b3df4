"""The heartbeat behind /readyz: beat publishes it on each queue, and the worker that takes it
off records when, for that queue (beat's own tick is recorded by its publish hook in
emsweb/celery.py).

Loaded by every Celery process through CELERY_IMPORTS (emsweb is not an installed app, so
autodiscovery would miss it).
"""

from __future__ import annotations

from celery import shared_task

from emsweb.heartbeats import HEARTBEAT_TASK, WORKER_KEYS, heartbeat_record
from emsweb.redis import redis_client


@shared_task(name=HEARTBEAT_TASK, ignore_result=True)
def heartbeat(queue: str = "default") -> None:
    heartbeat_record(redis_client(), WORKER_KEYS[queue], hostname=heartbeat.request.hostname)
