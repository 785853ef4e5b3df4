"""Celery tasks: thin, ids in. Beat's tick queues a step for each parent due; each step also
queues the next one for when it is due, so slices go out on time between ticks. A step repeated
(the tick's and the timed one, or a redelivery after a worker died) does nothing the second time:
the guarded cursor in algos.step sees to it."""

from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

STEP_TASK = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(ignore_result=True)
def algo_tick() -> None:
    from algos.step import parents_due

    for parent_id in parents_due():
        step_parent.delay(parent_id)


@shared_task(**STEP_TASK)
def step_parent(parent_id: int) -> None:
    from algos.step import parent_step

    parent_step(parent_id=parent_id)


# A timed step is held by the worker, unacknowledged, until its time: one held past the broker's
# visibility timeout is redelivered in a loop on Redis. So only a step due soon is timed; a later
# one is left to beat's tick, which finds the parent due within a second of its time.
TIMED_STEP_MAX = timedelta(seconds=60)


def step_at(parent_id: int, when: datetime) -> None:
    """Queue the parent's step for `when`, once the current transaction commits, if it is due
    within TIMED_STEP_MAX. A broker that cannot take it is not an error: beat's tick finds the
    parent due all the same."""
    if when - timezone.now() > TIMED_STEP_MAX:
        return

    def queue() -> None:
        step_parent.apply_async((parent_id,), eta=when, expires=when + timedelta(minutes=1))

    transaction.on_commit(queue, robust=True)
