"""Beat's tick: stop the parents the desk's controls hit, and queue the steps nothing timed.

Each step times the next one itself (tasks.step_at), so the tick leaves a parent due just now to
that timed step: twenty parents due at the same instant are twenty steps, not forty.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from .models import Algorithm, ParentOrder, ParentStatus
from .services import parents_stop_pending
from .tasks import TIMED_STEP_MAX, step_soon


def parents_tick(*, now: datetime | None = None) -> None:
    """Beat's tick: stop the parents the desk's controls hit, and queue the steps that would
    not come otherwise."""
    now = now or timezone.now()
    parents_stop_pending(now=now)
    for parent_id, due in parents_due(now=now):
        step_soon(parent_id, due)


def parents_due(*, now: datetime | None = None) -> list[tuple[int, datetime]]:
    """(parent, when) for each step the tick must queue: one overdue by more than a tick (its
    timed step lost, or late behind others: a second one costs a read), and one due before the
    next tick that no step timed, its time having been too far off then (TIMED_STEP_MAX). A
    parent due just now is left to its timed step: a burst of them is not doubled."""
    now = now or timezone.now()
    tick = timedelta(seconds=settings.EMSWEB_ALGO_TICK_SECONDS)
    rows = (
        ParentOrder.objects.filter(status=ParentStatus.RUNNING, next_due_at__lte=now + tick)
        .order_by("next_due_at")
        .values_list("pk", "next_due_at", "algorithm", "interval_seconds", "jitter")
    )
    due = []
    for pk, next_due, algorithm, interval, jitter in rows:
        if next_due <= now - tick:
            due.append((pk, now))
        elif next_due > now and _untimed(algorithm, interval, jitter):
            due.append((pk, next_due))
    return due


def _untimed(algorithm: str, interval: int, jitter: Decimal) -> bool:
    """Whether a slice's step may be due more than TIMED_STEP_MAX after the step before it:
    then nothing timed it (tasks.step_at)."""
    if algorithm == Algorithm.ICEBERG:
        return False
    longest = interval * (1 + float(jitter) / 2)
    return timedelta(seconds=longest) > TIMED_STEP_MAX
