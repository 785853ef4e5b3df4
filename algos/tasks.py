"""Celery tasks: thin, ids in. Each step queues the next one for when it is due, so slices go out
on time between ticks; beat's tick stops the parents the desk's controls hit and queues the steps
nothing timed (algos.tick). A step repeated (the tick's and the timed one, or a
redelivery after a worker died) does nothing the second time: the guarded cursor in algos.step
sees to it."""

from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

STEP_TASK = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(ignore_result=True)
def algo_tick() -> None:
    from algos.tick import parents_tick

    parents_tick()


@shared_task(**STEP_TASK)
def step_parent(parent_id: int) -> None:
    from algos.step import parent_step

    parent_step(parent_id=parent_id)


# A timed step is held by the worker, unacknowledged, until its time: one held past the broker's
# visibility timeout is redelivered in a loop on Redis. So only a step due soon is timed; a later
# one is left to beat's tick, which times it in the tick before it is due.
TIMED_STEP_MAX = timedelta(seconds=60)
# A step queued and not started within this is dropped: the tick queues a fresh one.
TIMED_STEP_EXPIRY = timedelta(minutes=1)


def step_at(parent_id: int, when: datetime) -> None:
    """Queue the parent's step for `when`, once the current transaction commits, if it is due
    within TIMED_STEP_MAX. A broker that cannot take it is not an error: beat's tick finds the
    parent due all the same."""
    if when - timezone.now() > TIMED_STEP_MAX:
        return

    def queue() -> None:
        step_parent.apply_async((parent_id,), eta=when, expires=when + TIMED_STEP_EXPIRY)

    transaction.on_commit(queue, robust=True)


def step_soon(parent_id: int, when: datetime) -> None:
    """Queue the parent's step now, for `when` (the tick's: no transaction to wait for)."""
    if when <= timezone.now():
        step_parent.apply_async((parent_id,), expires=TIMED_STEP_EXPIRY.total_seconds())
    else:
        step_parent.apply_async((parent_id,), eta=when, expires=when + TIMED_STEP_EXPIRY)
