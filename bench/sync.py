"""Sync cycle: 1,000 open orders over 10 paper accounts. Venue calls per account per cycle,
counted by wrapping the adapter, and the time of each account's cycle (account_sync, run here
with beat stopped, so that every cycle measured is one of ours)."""

from __future__ import annotations

import time
from collections import Counter
from contextlib import contextmanager

from django.conf import settings

from orders.sync import account_sync
from venues.paper.adapter import PaperVenue

from . import fixtures
from .report import Figure
from .stats import summary

CYCLES = 6  # the first is a warm-up
VENUE_METHODS = (
    "instruments", "submit", "cancel", "cancel_all", "lookup", "open_orders", "fills_since",
    "balances", "quotes",
)  # fmt: skip


@contextmanager
def counting_venue_calls():
    """Count every call of the paper adapter's venue methods, by method, and the seconds spent
    in them (under the key "seconds")."""
    calls: Counter[str] = Counter()
    originals = {name: getattr(PaperVenue, name) for name in VENUE_METHODS}

    def counted(name, method):
        def wrapper(self, *args, **kwargs):
            calls[name] += 1
            began = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                calls["seconds"] += time.perf_counter() - began

        return wrapper

    for name, method in originals.items():
        setattr(PaperVenue, name, counted(name, method))
    try:
        yield calls
    finally:
        for name, method in originals.items():
            setattr(PaperVenue, name, method)


def long_history_cycles(cycles: int = 5) -> tuple[list[float], int]:
    """Cycles of the generated history's busiest account (a third of the million orders, none
    open), enabled for the while: what every sync of a long-lived account pays for its past."""
    from accounts.models import ExchangeAccount
    from orders.management.commands.bench_history import ACCOUNT_PREFIX

    account = ExchangeAccount.objects.get(exchange_id=f"{ACCOUNT_PREFIX}01")
    ExchangeAccount.objects.filter(pk=account.pk).update(enabled=True)
    try:
        account_sync(account_id=account.pk)  # the paper side is created on first use
        timings = []
        for _ in range(cycles):
            before = time.perf_counter()
            account_sync(account_id=account.pk)
            timings.append((time.perf_counter() - before) * 1000)
        return timings, account.orders.count()
    finally:
        ExchangeAccount.objects.filter(pk=account.pk).update(enabled=False)


def sync_now(account) -> None:
    while not account_sync(account_id=account.pk):
        time.sleep(0.01)  # a sync the worker started before beat stopped


def refresh_cycle_calls(accounts, calls: Counter) -> list[int]:
    """Venue calls of a cycle that reads balances too: the one after a change, or the first
    after EMSWEB_BALANCE_REFRESH seconds (made due here by ageing the last read)."""
    from accounts.models import ExchangeAccount

    counts = []
    for account in accounts:
        ExchangeAccount.objects.filter(pk=account.pk).update(balances_synced_at=None)
        calls.clear()
        sync_now(account)
        calls.pop("seconds", None)
        counts.append(sum(calls.values()))
    return counts


def run(ctx) -> list[Figure]:
    ctx.close_desk()
    accounts = ctx.busy_desk()
    ctx.stack.stop("beat")
    fixtures.broker_idle()
    cycle_ms, account_ms, venue_ms, calls_per_account, by_method = [], [], [], [], Counter()
    balance_reads = []
    try:
        with counting_venue_calls() as calls:
            for cycle in range(CYCLES):
                began = time.perf_counter()
                for account in accounts:
                    calls.clear()
                    before = time.perf_counter()
                    sync_now(account)
                    if cycle:
                        account_ms.append((time.perf_counter() - before) * 1000)
                        venue_ms.append(calls.pop("seconds", 0) * 1000)
                        calls_per_account.append(sum(calls.values()))
                        balance_reads.append(calls["balances"])
                        by_method.update(calls)
                if cycle:
                    cycle_ms.append((time.perf_counter() - began) * 1000)
            refresh_calls = refresh_cycle_calls(accounts, calls)
        history_ms, history_orders = long_history_cycles()
    finally:
        ctx.stack.start("beat")
    open_orders = sum(
        account.orders.exclude(status__in=("FILLED", "CANCELED", "REJECTED")).count()
        for account in accounts
    )
    ctx.close_busy_desk()

    per_account = summary(account_ms)
    in_venue = summary(venue_ms)
    per_cycle = summary(cycle_ms)
    measured = len(calls_per_account)
    # The cycles of the measured ones that read no balances (nothing changed, none due).
    steady = max(
        (n for n, read in zip(calls_per_account, balance_reads, strict=True) if not read),
        default=max(calls_per_account),
    )
    interval = settings.EMSWEB_SYNC_INTERVAL
    ctx.details["sync"] = {
        "accounts": len(accounts),
        "open_orders": open_orders,
        "cycles_measured": CYCLES - 1,
        "account_cycle_ms": per_account,
        "account_cycle_in_venue_calls_ms": in_venue,
        "long_history_account_cycle_ms": summary(history_ms),
        "all_accounts_cycle_ms": per_cycle,
        "venue_calls_by_method_per_account_cycle": {
            name: count / measured for name, count in sorted(by_method.items())
        },
        "venue_calls_per_account_cycle": {
            "steady": steady,
            "max": max(calls_per_account),
            "reading_balances": max(refresh_calls),
            "balance_refresh_s": settings.EMSWEB_BALANCE_REFRESH,
        },
        "sync_interval_s": interval,
        "worker_share_of_one_process": per_cycle["p50"] / 1000 / interval,
    }
    refresh_every = settings.EMSWEB_BALANCE_REFRESH / interval
    return [
        Figure(
            bench="sync",
            name="venue calls per account per cycle, steady",
            value=steady,
            unit="calls",
            target=("<=", 2),
            note=", ".join(f"{k} {v / measured:g}" for k, v in sorted(by_method.items())),
        ),
        Figure(
            bench="sync",
            name="venue calls per account, a cycle that reads balances",
            value=max(refresh_calls),
            unit="calls",
            note=f"after a change, or once per {settings.EMSWEB_BALANCE_REFRESH:g} s (one cycle "
            f"in {refresh_every:g}) when nothing changes",
        ),
        *(
            Figure(
                bench="sync",
                name=f"one account's cycle ({ctx.busy_orders_each} open orders) {key}",
                value=per_account[key],
                unit="ms",
                floor=in_venue[key],
                floor_name=f"its venue calls {key}",
            )
            for key in ("p50", "max")
        ),
        Figure(
            bench="sync",
            name=f"cycle of an account with {history_orders:,} past orders p50",
            value=summary(history_ms)["p50"],
            unit="ms",
            floor=in_venue["p50"],
            floor_name=f"venue calls of a {ctx.busy_orders_each}-order cycle",
            note="the generated history's busiest account, nothing open",
        ),
        Figure(
            bench="sync",
            name=f"all {len(accounts)} accounts, one cycle p50",
            value=per_cycle["p50"],
            unit="ms",
            floor=in_venue["p50"] * len(accounts),
            floor_name="their venue calls",
            note=f"{per_cycle['p50'] / 10 / interval:.0f}% of one worker process at one cycle "
            f"per {interval:g} s",
        ),
    ]
