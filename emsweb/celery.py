"""The Celery app, and every Celery signal handler of the project.

A handler is registered here and its body calls the module that does the work, as a task body
calls its service; nothing depends on a module being imported for its side effect.
"""

import os
import time
import weakref

from celery import Celery
from celery.signals import (
    before_task_publish,
    task_postrun,
    task_prerun,
    worker_init,
    worker_ready,
)

from emsweb import watchdog
from emsweb.heartbeats import HEARTBEAT_TASK

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")

app = Celery("emsweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# A connection that served a task without error a moment ago is sound enough for the next task
# without CONN_HEALTH_CHECKS' SELECT 1 first: a round trip per order at any rate where orders
# queue. One idle for longer is checked as Django checks it. Per connection, so per thread.
SOUND_FOR_SECONDS = 1.0
_sound_at: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@task_postrun.connect
def keep_the_database_connection_while_it_is_sound(state=None, **_) -> None:
    """A worker keeps its database connection from task to task as a web process does from
    request to request (CONN_MAX_AGE, CONN_HEALTH_CHECKS), instead of opening one per task
    (CELERY_DB_REUSE_MAX). After a task that did not succeed it is closed: an exception, a soft
    time limit say, may have interrupted a query and left it unusable in a way Django cannot
    see."""
    from django.db import close_old_connections, connections

    if state == "SUCCESS":
        close_old_connections()
        now = time.monotonic()
        for connection in connections.all(initialized_only=True):
            if connection.connection is not None:
                _sound_at[connection] = now
    else:
        connections.close_all()


@task_prerun.connect
def skip_the_health_check_of_a_connection_used_a_moment_ago(**_) -> None:
    from django.db import connections

    now = time.monotonic()
    for connection in connections.all(initialized_only=True):
        sound_at = _sound_at.pop(connection, None)
        if connection.connection is not None and sound_at and now - sound_at < SOUND_FOR_SECONDS:
            connection.health_check_done = True


@before_task_publish.connect
def beat_ticked(sender: str | None = None, **_) -> None:
    """Beat is the only sender of the heartbeat: its publishing it is beat's tick."""
    if sender == HEARTBEAT_TASK:
        from emsweb.heartbeats import BEAT_KEY, heartbeat_record
        from emsweb.redis import redis_client

        heartbeat_record(redis_client(), BEAT_KEY)


@worker_ready.connect
def close_the_trading_gates(**_) -> None:
    """emsweb may have been down: orders may have filled or been canceled, or placed by hand.
    Every account waits for a full sync before it trades again."""
    from orders.gate import reconciliations_forget

    reconciliations_forget()


@worker_init.connect
def enforce_the_time_limit_on_threads(sender=None, **_) -> None:
    """The threads pool enforces no time limit: emsweb.watchdog does (prefork enforces its own)."""
    pool = getattr(sender, "pool_cls", None)
    pool_name = pool if isinstance(pool, str) else getattr(pool, "__module__", "")
    if pool_name in ("threads", "celery.concurrency.thread"):
        watchdog.watch(app.conf.task_time_limit)


@task_prerun.connect
def task_started(task_id=None, **_) -> None:
    watchdog.task_started(task_id)


@task_postrun.connect
def task_ended(task_id=None, **_) -> None:
    watchdog.task_ended(task_id)
