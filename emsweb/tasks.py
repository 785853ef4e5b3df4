"""The heartbeat behind /readyz: beat publishes it on each queue, the worker that takes it off
records when, for that queue, and beat records its own tick, all in Redis.

Loaded by every Celery process through CELERY_IMPORTS (emsweb is not an installed app, so
autodiscovery would miss it), which also connects the publish hook in beat.
"""

from __future__ import annotations

from celery import shared_task
from celery.signals import before_task_publish

from emsweb.health import BEAT_KEY, WORKER_KEYS, heartbeat_record
from emsweb.redis import redis_client

HEARTBEAT = "emsweb.tasks.heartbeat"


@shared_task(name=HEARTBEAT, ignore_result=True)
def heartbeat(queue: str = "default") -> None:
    heartbeat_record(redis_client(), WORKER_KEYS[queue], hostname=heartbeat.request.hostname)


@before_task_publish.connect
def beat_ticked(sender: str | None = None, **kwargs) -> None:
    """Beat is the only sender of the heartbeat: its publishing it is beat's tick."""
    if sender == HEARTBEAT:
        heartbeat_record(redis_client(), BEAT_KEY)
