"""Trading screen: its first render (the whole page: the ticket, the working orders on its
instrument, the fills, both balances) for a desk admin, with the desk's open orders resting
(500 in a full run). Server time in this process through Django's WSGI handler (bench.inprocess),
beside the constant view served the same way."""

from __future__ import annotations

from urllib.parse import urlencode

from accounts.models import DeskRole
from orders.instruments import instrument_find
from orders.screen import SCREEN_ORDERS

from . import fixtures, inprocess
from .report import Figure
from .stats import summary

PATH = "/orders/trade/"
RENDERS = 200
SYMBOL = fixtures.RESTING[0][0]  # a quarter of the resting orders are on it


def run(ctx) -> list[Figure]:
    account = ctx.open_desk()
    admin = fixtures.desk_user(f"bench-screen-{ctx.run}", DeskRole.ADMIN)
    cookie = fixtures.session_cookie(admin, second_factor=True)
    instrument = instrument_find(venue=account.venue, symbol=SYMBOL)
    query = urlencode({"account": account.pk, "instrument": instrument.symbol_id_coinapi})

    def render() -> inprocess.Served:
        served = inprocess.get(PATH, query, cookie=cookie)
        assert served.status == 200, served
        return served

    for _ in range(5):
        render()
    floor = summary([inprocess.get("/bench/constant").ms for _ in range(ctx.n(RENDERS * 10))])
    with inprocess.counting() as asked:
        served = render()
    renders = summary([render().ms for _ in range(ctx.n(RENDERS))])
    ctx.details["screen"] = {
        "open_orders": ctx.open_orders,
        "rows_shown": SCREEN_ORDERS,
        "sql_statements": len(asked.sql),
        "sql": asked.sql,
        "redis_commands": asked.redis,
        "server_ms": renders,
        "body_bytes": served.body_bytes,
        "floor_constant_view_server_ms": floor,
    }
    name = f"first render ({ctx.open_orders:,} open orders on the desk)"
    note = f"{len(asked.sql)} SQL statements, {served.body_bytes // 1024} KiB"
    return [
        Figure(
            bench="screen",
            name=f"{name}: server p50",
            value=renders["p50"],
            unit="ms",
            floor=floor["p50"],
            floor_name="constant view p50",
            note=note,
        ),
        Figure(
            bench="screen",
            name=f"{name}: server p99",
            value=renders["p99"],
            unit="ms",
            floor=floor["p99"],
            floor_name="constant view p99",
            target=("<=", 150),
            note="in process, through every middleware",
        ),
    ]
