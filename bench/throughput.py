"""Throughput: resting orders per second sustained from submit to NEW for 30 s, with the worker
production runs, beside the rate at which the same worker starts bare no-op tasks.

Two submitter processes (bench.submitter, standing in for web processes) submit as fast as they
can on four accounts, holding back only while more than QUEUE_LIMIT routing tasks wait in the
broker, so the worker always has work and the submitters take no more of the machine than they
must. The orders rest (they are NEW when routed) and beat syncs their accounts as production
does, so the later part of the window also pays for syncing thousands of open orders.
"""

from __future__ import annotations

import multiprocessing
import time
from datetime import UTC, datetime

from emsweb.redis import redis_client
from orders.models import OrderEvent

from . import fixtures, floor
from .report import Figure
from .stack import CpuMeter, order_worker_pool
from .stats import rate
from .submitter import QUEUE_LIMIT, submit_until

SUBMITTERS = 2
ACCOUNTS = 4
WARM_UP = 5.0
WINDOW = 30.0
SHORTEST_WINDOW = 3.0  # a scaled-down run's: the queue depth is sampled every 0.5 s
FLOOR_TASKS = 10000


def floor_rate(count: int) -> tuple[float, dict]:
    """No-op tasks started per second once a backlog is queued (after the sending ended)."""
    started, sent_at = floor.start_times(count)
    after = [moment for moment in started if moment >= sent_at]
    return rate(after if len(after) >= count // 4 else started, trim=0.05), {
        "tasks": count,
        "started_after_sending_ended": len(after),
    }


def run(ctx) -> list[Figure]:
    ctx.close_desk()
    no_op_rate, floor_details = floor_rate(ctx.n(FLOOR_TASKS, least=1000))
    accounts = ctx.paper_accounts([f"TPUT-{ctx.run}-{k}" for k in range(1, ACCOUNTS + 1)])
    window = max(SHORTEST_WINDOW, WINDOW * min(1.0, ctx.scale))
    warm_up = min(WARM_UP, window)
    start_at = time.time() + 3  # the submitters' Django starts meanwhile
    measure_from, measure_to = start_at + warm_up, start_at + warm_up + window
    account_ids = [account.pk for account in accounts]
    spawn = multiprocessing.get_context("spawn")
    processes = [
        spawn.Process(
            target=submit_until,
            args=(account_ids, ctx.trader.pk, f"{ctx.run}-tput{k}", start_at, measure_to),
            daemon=True,
        )
        for k in range(SUBMITTERS)
    ]
    depths = []
    try:
        for process in processes:
            process.start()
        time.sleep(max(0.0, measure_from - time.time()))
        # The meter stops a little before the submitters do: a submitter that has exited but is
        # not yet joined is no longer anyone's child, and its CPU would fall out of the count.
        with CpuMeter(ctx.stack) as cpu:
            while time.time() < measure_to - 1:
                depths.append(redis_client().llen("orders"))
                time.sleep(0.5)
        for process in processes:
            process.join(timeout=30)
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
    for account in accounts:
        fixtures.settled(account, timeout=300)

    def in_window(status: str) -> int:
        return OrderEvent.objects.filter(
            order__account__in=accounts,
            status=status,
            at__gte=datetime.fromtimestamp(measure_from, UTC),
            at__lt=datetime.fromtimestamp(measure_to, UTC),
        ).count()

    new_rate = in_window("NEW") / window
    submitted_rate = in_window("RECEIVED") / window
    fixtures.retire(accounts)
    ctx.details["throughput"] = {
        "window_s": window,
        "submitters": SUBMITTERS,
        "worker_pool": order_worker_pool()["CELERY_POOL"],
        "worker_concurrency": int(order_worker_pool()["CELERY_CONCURRENCY"]),
        "accounts": ACCOUNTS,
        "submitter_queue_limit": QUEUE_LIMIT,
        "orders_new_per_s": new_rate,
        "orders_submitted_per_s": submitted_rate,
        "orders_queue_depth": {"max": max(depths), "mean": sum(depths) / len(depths)},
        "floor": {"noop_tasks_per_s": no_op_rate, **floor_details},
        "cores_used": cpu.cores_used(),
        # What one order costs each part (the harness is the submitters, standing in for web).
        "cpu_ms_per_order": {
            name: round(cores / new_rate * 1000, 2) if new_rate else None
            for name, cores in cpu.cores_used().items()
        },
    }
    return [
        Figure(
            bench="throughput",
            name="orders submit→NEW, sustained",
            value=new_rate,
            unit="orders/s",
            floor=no_op_rate,
            floor_name="no-op tasks/s",
            target=(">=", 300),
            target_ratio=(">=", 0.4),
            note=f"submitted {submitted_rate:.0f}/s; queue depth max {max(depths)}",
        )
    ]
