"""History at scale: the history page over the generated million orders (manage.py
bench_history): the first page, a filtered page (account + status + a month), a page deep in
the set, a search by order id; and the CSV export of 100,000 rows.

Page times are server time: the view served in this process through Django's WSGI handler
(every middleware, the session, the full page rendered), beside the same handler serving a
constant body. Each page's query is run again under EXPLAIN ANALYZE; the plans are in
latest.json. The CSV is read through gunicorn as a browser would, beside PostgreSQL streaming the
same rows with COPY; its memory is measured in this process at 10,000 and 100,000 rows.
"""

from __future__ import annotations

import math
import threading
import time
import tracemalloc
from datetime import timedelta
from urllib.parse import urlencode

import psutil
from django.db import connection
from django.utils import timezone

from accounts.models import ExchangeAccount
from orders.management.commands.bench_history import ACCOUNT_PREFIX
from orders.models import Order

from . import fixtures, inprocess
from .client import Client
from .report import Figure
from .stats import summary

PAGE = "/orders/history/"
CSV = "/orders/history.csv"
REPEAT = 30
CSV_ROWS = 100_000
SMALL_CSV_ROWS = 10_000


def explain(asked: inprocess.Asked) -> list[str]:
    """EXPLAIN ANALYZE of the request's main statement: the first that reads orders with a
    LIMIT (a page) or, failing that, the longest that reads orders."""
    statements = [
        (sql, params)
        for sql, params in zip(asked.sql, asked.params, strict=True)
        if 'FROM "orders_order"' in sql
    ]
    if not statements:
        return []
    paged = [item for item in statements if "LIMIT" in item[0]]
    sql, params = paged[0] if paged else max(statements, key=lambda item: len(item[0]))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def cases(heavy: ExchangeAccount) -> dict[str, str]:
    """The four pages, as query strings."""
    newest = Order.objects.filter(account__exchange_id__startswith=ACCOUNT_PREFIX).latest(
        "created_at"
    )
    month_end = (newest.created_at - timedelta(days=365)).date()
    with connection.cursor() as cursor:
        # Half-way down the newest-first order: where page 10,000 of 50 rows begins.
        cursor.execute(
            "SELECT created_at, id FROM orders_order ORDER BY created_at DESC, id DESC "
            "OFFSET %s LIMIT 1",
            [Order.objects.count() // 2],
        )
        moment, pk = cursor.fetchone()
    # An order well down the busiest account's history: its 12,346th newest, or its middle one
    # in a history smaller than that (a quick run's).
    ids = (
        Order.objects.filter(account=heavy)
        .order_by("-id")
        .values_list("client_order_id", flat=True)
    )
    searched = ids[min(12345, ids.count() // 2)]
    return {
        "first page": "",
        "filtered page (account, status, a month)": urlencode(
            {
                "account": heavy.pk,
                "status": "FILLED",
                "date_from": (month_end - timedelta(days=30)).isoformat(),
                "date_to": month_end.isoformat(),
            }
        ),
        "deep page (half-way, keyset)": urlencode({"after": f"{moment.isoformat()}|{pk}"}),
        "search by order id": urlencode({"q": searched}),
    }


def csv_filter(heavy: ExchangeAccount, rows: int) -> str:
    """A date range on the busiest account that holds about `rows` orders."""
    orders = Order.objects.filter(account=heavy)
    first, last = orders.earliest("created_at").created_at, orders.latest("created_at").created_at
    per_day = orders.count() / max(1, (last - first).days)
    days = math.ceil(rows / per_day)
    end = timezone.now().date()
    return urlencode(
        {
            "account": heavy.pk,
            "date_from": (end - timedelta(days=days)).isoformat(),
            "date_to": end.isoformat(),
        }
    )


def csv_over_http(port: int, cookie: str, query: str) -> tuple[int, float]:
    """Rows and seconds to read the CSV through gunicorn."""
    client = Client(port, {"Cookie": f"sessionid={cookie}"})
    try:
        began = time.perf_counter()
        status, body = client.request("GET", f"{CSV}?{query}")
        elapsed = time.perf_counter() - began
    finally:
        client.close()
    if status != 200:
        raise AssertionError(f"CSV export answered {status}")
    return body.count(b"\n") - 1, elapsed


def copy_floor(cookie: str, query: str) -> tuple[int, float]:
    """Rows and seconds for PostgreSQL to stream the CSV's own query with COPY ... TO STDOUT."""
    with inprocess.counting() as asked:
        inprocess.get(CSV, query, cookie=cookie)
    sql, params = next(
        (sql, params)
        for sql, params in zip(asked.sql, asked.params, strict=True)
        if 'FROM "orders_order"' in sql
    )
    # Django closes its connection at a request's end once it is older than CONN_MAX_AGE:
    # connection.cursor() opens it again, where connection.connection would be None.
    statement = connection.ops.compose_sql(sql, params)
    rows = 0
    began = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY ({statement}) TO STDOUT WITH CSV") as copy,
    ):
        for block in copy:
            rows += bytes(block).count(b"\n")
    return rows, time.perf_counter() - began


def csv_memory(cookie: str, query: str) -> dict:
    """Peak Python allocations (tracemalloc) and resident-set growth while streaming."""
    process = psutil.Process()
    peak_rss = [process.memory_info().rss]
    done = threading.Event()

    def watch():
        while not done.wait(0.02):
            peak_rss.append(process.memory_info().rss)

    watcher = threading.Thread(target=watch)
    base_rss = peak_rss[0]
    tracemalloc.start()
    watcher.start()
    try:
        served = inprocess.get(CSV, query, cookie=cookie)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        done.set()
        watcher.join()
        tracemalloc.stop()
    return {
        "rows": served.lines - 1,
        "python_peak_mib": peak / 2**20,
        "rss_growth_mib": (max(peak_rss) - base_rss) / 2**20,
    }


def run(ctx) -> list[Figure]:
    viewer = fixtures.desk_user(f"bench-viewer-{ctx.run}", None)
    cookie = fixtures.session_cookie(viewer)
    heavy = ExchangeAccount.objects.get(exchange_id=f"{ACCOUNT_PREFIX}01")
    total = Order.objects.count()
    floor = summary([inprocess.get("/bench/constant").ms for _ in range(200)])

    pages, plans, queries = {}, {}, {}
    for name, query in cases(heavy).items():
        for _ in range(3):
            assert inprocess.get(PAGE, query, cookie=cookie).status == 200
        with inprocess.counting() as asked:
            inprocess.get(PAGE, query, cookie=cookie)
        plans[name] = explain(asked)
        queries[name] = len(asked.sql)
        pages[name] = summary(
            [inprocess.get(PAGE, query, cookie=cookie).ms for _ in range(ctx.n(REPEAT, least=10))]
        )

    big, small = csv_filter(heavy, ctx.n(CSV_ROWS)), csv_filter(heavy, ctx.n(SMALL_CSV_ROWS))
    inprocess.get(CSV, small, cookie=cookie)  # warm
    rows, seconds = csv_over_http(ctx.port, cookie, big)
    copy_rows, copy_seconds = copy_floor(cookie, big)
    memory = {"small": csv_memory(cookie, small), "big": csv_memory(cookie, big)}

    ctx.details["history"] = {
        "orders": total,
        "timing": "server time: in process through Django's WSGI handler, full page rendered",
        "pages_ms": pages,
        "sql_statements": queries,
        "explain_analyze": plans,
        "floor_constant_view_ms": floor,
        "csv": {
            "rows": rows,
            "seconds": seconds,
            "copy_rows": copy_rows,
            "copy_seconds": copy_seconds,
            "memory": memory,
        },
    }
    figures = []
    for name, stats in pages.items():
        for key in ("p50", "p95"):
            figures.append(
                Figure(
                    bench="history",
                    name=f"{name} {key}",
                    value=stats[key],
                    unit="ms",
                    floor=floor[key],
                    floor_name=f"constant view {key}",
                    target=("<=", 50) if key == "p95" else None,
                    note=f"{total:,} orders; {queries[name]} SQL statements",
                )
            )
    figures.append(
        Figure(
            bench="history",
            name=f"CSV export, {rows:,} rows, through gunicorn",
            value=rows / seconds,
            unit="rows/s",
            floor=copy_rows / copy_seconds,
            floor_name="PostgreSQL COPY of the same query",
            target=(">=", 20000),
        )
    )
    for size in ("small", "big"):
        figures.append(
            Figure(
                bench="history",
                name=f"CSV export, {memory[size]['rows']:,} rows: peak Python memory",
                value=memory[size]["python_peak_mib"],
                unit="MiB",
                note=f"resident set grew {memory[size]['rss_growth_mib']:.1f} MiB",
            )
        )
    return figures
