"""Blotter poll: the live rows a blotter page asks for every few seconds, carrying the change
counter it last saw. Nothing new: 204 after the session and the counter are read from Redis, no
SQL. Something new: the rows again (the desk's 500 open orders). Server time in this process
through Django's WSGI handler (bench.inprocess), and through gunicorn as a browser sees it."""

from __future__ import annotations

from emsweb.redis import redis_client
from orders.changes import KEY as CHANGES_KEY
from orders.changes import changes_version
from orders.pages import BLOTTER_ROWS

from . import fixtures, inprocess
from .client import timed
from .report import Figure
from .stats import summary

PATH = "/orders/blotter/rows/"
POLLS = 2000
CHANGED_POLLS = 30


def run(ctx) -> list[Figure]:
    ctx.open_desk()
    viewer = fixtures.desk_user(f"bench-viewer-{ctx.run}", None)
    cookie = fixtures.session_cookie(viewer)

    def poll(version: int) -> inprocess.Served:
        return inprocess.get(PATH, f"v={version}", cookie=cookie, htmx=True)

    floor = summary([inprocess.get("/bench/constant").ms for _ in range(ctx.n(POLLS))])
    version = changes_version()
    for _ in range(20):
        poll(version)
    current = changes_version()
    with inprocess.counting() as asked:
        served = poll(current)
    assert served.status == 204, served
    unchanged = summary([poll(version).ms for _ in range(ctx.n(POLLS))])

    def changed_polls(query: str) -> tuple[dict, int]:
        times, size = [], 0
        for _ in range(ctx.n(CHANGED_POLLS, least=10)):
            redis_client().incr(CHANGES_KEY)  # what a committed order change does
            served = inprocess.get(PATH, f"v={version}{query}", cookie=cookie, htmx=True)
            assert served.status == 200, served
            times.append(served.ms)
            size = served.body_bytes
        return summary(times), size

    changed, size = changed_polls("")
    # The blotter shows the newest orders (orders.pages.BLOTTER_ROWS) and a link to all of them.
    changed_all, size_all = changed_polls("&all=1")
    with inprocess.counting() as asked_changed:
        poll(version)

    headers = {"Cookie": f"sessionid={cookie}", "HX-Request": "true"}
    current = changes_version()
    over_http = summary(
        timed(
            ctx.port,
            headers,
            1,
            ctx.n(1000),
            lambda k, n: ("GET", f"{PATH}?v={current}", None),
            expect=204,
        )  # fmt: skip
    )
    http_floor = summary(
        timed(ctx.port, {}, 1, ctx.n(1000), lambda k, n: ("GET", "/bench/constant", None))
    )
    ctx.details["blotter"] = {
        "nothing_new": {
            "sql": asked.sql,
            "redis_commands": asked.redis,
            "redis_round_trips": asked.redis_round_trips,
            "server_ms": unchanged,
            "http_ms": over_http,
            "floor_constant_view_server_ms": floor,
            "floor_constant_view_http_ms": http_floor,
        },
        "changed": {
            "open_orders": ctx.open_orders,
            "sql_statements": len(asked_changed.sql),
            "sql": asked_changed.sql,
            "redis_commands": asked_changed.redis,
            "rows_shown": BLOTTER_ROWS,
            "server_ms": changed,
            "body_bytes": size,
            "all_rows_server_ms": changed_all,
            "all_rows_body_bytes": size_all,
        },
    }
    return [
        Figure(
            bench="blotter",
            name="poll, nothing new: SQL statements",
            value=len(asked.sql),
            unit="queries",
            target=("<=", 1),
            note=f"Redis: {', '.join(asked.redis)} ({asked.redis_round_trips} round trips)",
        ),
        Figure(
            bench="blotter",
            name="poll, nothing new: Redis commands",
            value=len(asked.redis),
            unit="commands",
            note=", ".join(asked.redis),
        ),
        Figure(
            bench="blotter",
            name="poll, nothing new: server p50",
            value=unchanged["p50"],
            unit="ms",
            floor=floor["p50"],
            floor_name="constant view p50",
            target=("<=", 2),
            note="in process, through every middleware",
        ),
        Figure(
            bench="blotter",
            name="poll, nothing new: server p99",
            value=unchanged["p99"],
            unit="ms",
            floor=floor["p99"],
            floor_name="constant view p99",
        ),
        Figure(
            bench="blotter",
            name="poll, nothing new: over HTTP p50",
            value=over_http["p50"],
            unit="ms",
            floor=http_floor["p50"],
            floor_name="constant view p50",
            note="gunicorn, keep-alive",
        ),
        Figure(
            bench="blotter",
            name=f"poll, a change ({ctx.open_orders:,} open orders, newest {BLOTTER_ROWS} shown): "
            "server p50",
            value=changed["p50"],
            unit="ms",
            floor=floor["p50"],
            floor_name="constant view p50",
            note=f"{len(asked_changed.sql)} SQL statements, {size // 1024} KiB",
        ),
        Figure(
            bench="blotter",
            name=f"poll, a change ({ctx.open_orders:,} open orders, all shown): server p50",
            value=changed_all["p50"],
            unit="ms",
            floor=floor["p50"],
            floor_name="constant view p50",
            note=f"?all=1, {size_all // 1024} KiB",
        ),
    ]
