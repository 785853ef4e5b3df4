"""Routing overhead: RECEIVED -> ROUTING and RECEIVED -> ROUTED from the orders' own history
rows, at a steady 50 orders/s, beside a bare no-op task's enqueue-to-start time.

The orders are immediate-or-cancel limits that the venue cancels at once (nothing to take at
their price): routed exactly like a resting order, but never left open, so the desk's open set,
which every sync reads, stays what the benchmark chose. Measured at 50/s on a quiet desk (the
target's conditions), then at 20/s, below what this machine can sustain, on a quiet desk and on
a busy one with 1,000 resting orders over 10 accounts that beat syncs every 2 s.
"""

from __future__ import annotations

import time

from orders.models import OrderEvent

from . import fixtures, floor
from .report import Figure
from .stack import CpuMeter
from .stats import summary

RATE = 50.0
ORDERS = 2000
LOW_RATE = 20.0
LOW_ORDERS = 400
WARM_UP = 50
FLOOR_TASKS = 1000
IOC = "IMMEDIATE_OR_CANCEL"
TARGETS = {("ROUTING", "p50"): 3.0, ("ROUTING", "p99"): 15.0, ("ROUTED", "p50"): 10.0}


def submit_steadily(
    account, user, prefix: str, count: int, rate: float
) -> tuple[list[int], list[float]]:
    """Submit `count` orders at `rate` per second, as the API would (in this process). Returns
    their ids and, for each, how long order_submit took (checks, insert, commit, publish), ms."""
    ids, submit_ms = [], []
    began = time.perf_counter()
    for n in range(count):
        pause = began + n / rate - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        before = time.perf_counter()
        ids.append(fixtures.submit(account, f"{prefix}-{n}", n, user, time_in_force=IOC).pk)
        submit_ms.append((time.perf_counter() - before) * 1000)
    return ids, submit_ms


def event_times(order_ids: list[int]) -> dict[int, dict[str, float]]:
    """Each order's first time in each status, as epoch seconds."""
    times: dict[int, dict[str, float]] = {}
    rows = OrderEvent.objects.filter(order_id__in=order_ids).values_list("order_id", "status", "at")
    for order_id, status, at in rows.order_by("at", "id").iterator(chunk_size=5000):
        times.setdefault(order_id, {}).setdefault(status, at.timestamp())
    return times


def spans(times: dict[int, dict[str, float]], start: str, end: str) -> list[float]:
    return [
        (statuses[end] - statuses[start]) * 1000
        for statuses in times.values()
        if start in statuses and end in statuses
    ]


def measure(ctx, name: str, count: int, rate: float) -> dict:
    account = ctx.paper_account(f"{name}-{ctx.run}")
    warm_up = ctx.n(WARM_UP, least=10)
    submit_steadily(account, ctx.trader, f"{ctx.run}-{name}-warm", warm_up, rate)
    fixtures.settled(account, timeout=60)
    with CpuMeter(ctx.stack) as cpu:
        ids, submit_ms = submit_steadily(account, ctx.trader, f"{ctx.run}-{name}", count, rate)
        fixtures.settled(account, timeout=300)
    times = event_times(ids)
    fixtures.retire([account])
    return {
        "orders": len(ids),
        "rate_per_s": rate,
        "received_to_routing_ms": summary(spans(times, "RECEIVED", "ROUTING")),
        "received_to_routed_ms": summary(spans(times, "RECEIVED", "ROUTED")),
        "routing_to_routed_ms": summary(spans(times, "ROUTING", "ROUTED")),
        "order_submit_ms": summary(submit_ms),
        "cores_used": cpu.cores_used(),
        # The harness submits in-process here, so its share is order_submit's.
        "cpu_ms_per_order": cpu.ms_per(len(ids)),
    }


def figures_for(label: str, measured: dict, floor_summary: dict, targets: bool) -> list[Figure]:
    rate = measured["rate_per_s"]
    figures = []
    for status in ("ROUTING", "ROUTED"):
        stats = measured[f"received_to_{status.lower()}_ms"]
        for key in ("p50", "p99", "max"):
            bound = TARGETS.get((status, key)) if targets else None
            figures.append(
                Figure(
                    bench="routing",
                    name=f"{label}RECEIVED→{status} {key}",
                    value=stats[key],
                    unit="ms",
                    floor=floor_summary[key],
                    floor_name=f"no-op task {key}",
                    target=("<=", bound) if bound else None,
                    note=f"{stats['n']} orders at {rate:g}/s",
                )
            )
    return figures


def run(ctx) -> list[Figure]:
    ctx.close_desk()
    floor_summary = summary(floor.latencies(ctx.n(FLOOR_TASKS), RATE))
    quiet = measure(ctx, "ROUTE", ctx.n(ORDERS), RATE)
    low = measure(ctx, "ROUTELOW", ctx.n(LOW_ORDERS), LOW_RATE)
    syncing = len(ctx.busy_desk()) * ctx.busy_orders_each
    busy = measure(ctx, "ROUTEBUSY", ctx.n(LOW_ORDERS), LOW_RATE)
    ctx.details["routing"] = {
        "floor_noop_enqueue_to_start_ms": floor_summary,
        "quiet_desk": quiet,
        "quiet_desk_lower_rate": low,
        "busy_desk": {"open_orders": syncing, **busy},
    }
    return [
        *figures_for("", quiet, floor_summary, targets=True),
        *figures_for(f"at {LOW_RATE:g}/s: ", low, floor_summary, targets=False),
        *figures_for(
            f"at {LOW_RATE:g}/s, {syncing:,} open orders syncing: ",
            busy,
            floor_summary,
            targets=False,
        ),
    ]
