"""The API on gunicorn as production runs it (deploy/gunicorn.conf.py): POST /v1/orders end to
end (it answers once routing has an outcome) with 1 and 16 concurrent clients, GET
/v1/orders/status/{id} and GET /v1/orders on a desk with 500 open orders; the floor is a view
that returns a constant JSON body (bench/urls.py), on the same server, through the same
middleware. Latencies are the client's: request sent to response read, over keep-alive."""

from __future__ import annotations

import json

from accounts.models import DeskRole

from . import fixtures
from .client import timed
from .report import Figure
from .stats import summary

SINGLE = 300
CONCURRENT = 16
EACH = 40


def order_body(exchange_id: str, client_order_id: str, n: int) -> bytes:
    symbol, side, price, amount = fixtures.RESTING[n % len(fixtures.RESTING)]
    return json.dumps(
        {
            "exchange_id": exchange_id,
            "client_order_id": client_order_id,
            "symbol_id_exchange": symbol,
            "amount_order": float(amount),
            "price": float(price),
            "side": side,
            "order_type": "LIMIT",
            "time_in_force": "GOOD_TILL_CANCEL",
        }
    ).encode()


def run(ctx) -> list[Figure]:
    user = ctx.trading_user(f"bench-admin-{ctx.run}", DeskRole.ADMIN)
    headers = {"X-CoinAPI-Key": fixtures.api_key(user)}
    port = ctx.port
    desk = ctx.open_desk()
    ids = list(desk.orders.values_list("client_order_id", flat=True))
    listing = f"GET /v1/orders ({len(ids):,} open), 1 client"

    def constant(k, n):
        return "GET", "/bench/constant", None

    def status(k, n):
        return "GET", f"/v1/orders/status/{ids[(k * 31 + n) % len(ids)]}", None

    def open_list(k, n):
        return "GET", "/v1/orders", None

    results = {
        "floor, 1 client": timed(port, headers, 1, ctx.n(1000), constant),
        "floor, 16 clients": timed(port, headers, CONCURRENT, ctx.n(100), constant),
        "GET status, 1 client": timed(port, headers, 1, ctx.n(1000), status),
        "GET status, 16 clients": timed(port, headers, CONCURRENT, ctx.n(100), status),
        listing: timed(port, headers, 1, ctx.n(50), open_list, warm_up=2),
    }
    account = ctx.paper_account(f"API-{ctx.run}")

    def post(k, n):
        client_order_id = f"{ctx.run}-{account.tag}-{k}-{n}"
        return "POST", "/v1/orders", order_body(account.exchange_id, client_order_id, n)

    results["POST, 1 client"] = timed(port, headers, 1, ctx.n(SINGLE), post)
    fixtures.retire([account])
    account = ctx.paper_account(f"API16-{ctx.run}")
    results["POST, 16 clients"] = timed(port, headers, CONCURRENT, ctx.n(EACH, least=5), post)
    fixtures.retire([account])

    stats = {name: summary(values) for name, values in results.items()}
    ctx.details["api"] = {
        "server": "gunicorn, deploy/gunicorn.conf.py (2 uvicorn workers, WSGI app in 8 threads each)",
        "open_orders": len(ids),
        "latency_ms": stats,
    }
    floors = {1: stats["floor, 1 client"], CONCURRENT: stats["floor, 16 clients"]}
    figures = []
    for name, targets in (
        ("POST, 1 client", {"p50": 15.0}),
        ("POST, 16 clients", {}),
        ("GET status, 1 client", {"p50": 3.0}),
        ("GET status, 16 clients", {}),
        (listing, {}),
    ):
        clients = CONCURRENT if "16" in name else 1
        for key in ("p50", "p99"):
            bound = targets.get(key)
            figures.append(
                Figure(
                    bench="api",
                    name=f"{name} {key}",
                    value=stats[name][key],
                    unit="ms",
                    floor=floors[clients][key],
                    floor_name=f"constant view {key}",
                    target=("<=", bound) if bound else None,
                    note=f"{stats[name]['n']} requests",
                )
            )
    return figures
