"""Slice timing: with 20 TWAP parents running at once, how late each slice goes out (its child
placed, minus the time the schedule gave it), beside a bare no-op task's enqueue-to-start time
on the same broker and worker; and what a running parent costs in CPU.

The parents are driven as production drives them: beat's tick every second and the timed step
each step queues for the next slice. Each buys a little BTC on a paper account of its own with
immediate-or-cancel children, so nothing rests and no parent waits on another's book.
"""

from __future__ import annotations

import time
from decimal import Decimal

from algos.models import FINISHED, ParentOrder, ParentSlice, SliceState
from algos.services import ParentTicket, parent_start

from . import fixtures, floor
from .report import Figure
from .stack import CpuMeter, wait_until
from .stats import summary

PARENTS = 20
SLICES = 12
INTERVAL = 5  # seconds
FLOOR_TASKS = 200
FLOOR_RATE = 20.0


def start_parents(ctx, accounts) -> list[int]:
    ids = []
    for account in accounts:
        ticket = ParentTicket(
            algorithm="TWAP",
            side="BUY",
            symbol="BTCUSD",
            amount=Decimal("0.0012") * ctx.n(SLICES, least=4),
            accounts=(account,),
            duration_seconds=ctx.n(SLICES, least=4) * INTERVAL,
            interval_seconds=INTERVAL,
        )
        ids.append(parent_start(ticket=ticket, user=ctx.trader).pk)
    return ids


def lateness_ms(parent_ids: list[int]) -> list[float]:
    rows = ParentSlice.objects.filter(parent_id__in=parent_ids, state=SliceState.SENT)
    return [
        (sent - scheduled).total_seconds() * 1000
        for scheduled, sent in rows.values_list("scheduled_at", "sent_at")
    ]


def run(ctx) -> list[Figure]:
    ctx.close_desk()
    floor_summary = summary(floor.latencies(ctx.n(FLOOR_TASKS), FLOOR_RATE))
    accounts = ctx.paper_accounts([f"ALGO-{ctx.run}-{k:02d}" for k in range(PARENTS)])
    slices = ctx.n(SLICES, least=4)
    with CpuMeter(ctx.stack) as cpu:
        began = time.monotonic()
        ids = start_parents(ctx, accounts)
        wait_until(
            f"{PARENTS} parents to finish",
            lambda: ParentOrder.objects.filter(pk__in=ids, status__in=FINISHED).count() == len(ids),
            timeout=slices * INTERVAL + 120,
            every=0.5,
        )
        running_s = time.monotonic() - began
    late = summary(lateness_ms(ids))
    missed = ParentSlice.objects.filter(parent_id__in=ids, state=SliceState.MISSED).count()
    fixtures.retire(accounts)
    used = cpu.cores_used()
    service_cores = sum(
        value for name, value in used.items() if name not in ("harness", "machine", "other")
    )
    per_parent = service_cores / PARENTS * 100
    ctx.details["algos"] = {
        "parents": PARENTS,
        "slices_each": slices,
        "interval_s": INTERVAL,
        "running_s": round(running_s, 1),
        "sent_minus_scheduled_ms": late,
        "missed_slices": missed,
        "cores_used": used,
        "floor_noop_enqueue_to_start_ms": floor_summary,
    }
    note = f"{late['n']} slices of {PARENTS} parents at once, {missed} missed"
    return [
        *(
            Figure(
                bench="algos",
                name=f"slice sent − scheduled {key}",
                value=late[key],
                unit="ms",
                floor=floor_summary[key],
                floor_name=f"no-op task {key}",
                note=note,
            )
            for key in ("p50", "p99")
        ),
        Figure(
            bench="algos",
            name=f"CPU per running parent ({PARENTS} at once)",
            value=round(per_parent, 2),
            unit="% of a core",
            note="workers, beat, web, PostgreSQL and Redis together, over the run",
        ),
    ]
