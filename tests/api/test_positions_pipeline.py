"""A script's derivatives round trip through /v1 with real parts: a Celery worker routes and
syncs, a real web server streams /v1/ws. On PAPER/DEMO it opens a position on
PAPER_PERP_BTC_USDT, sees it in GET /v1/positions and in POSITION_UPDATE on the socket, sees a
reduce-only order that would flip it refused, and closes it with DO_NOT_INCREASE."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from decimal import Decimal

import pytest
import simplejson
from websockets.sync.client import connect

from accounts.models import Balance
from accounts.services import account_link
from orders.instruments import instruments_refresh
from orders.tasks import sync_account
from tests.conftest import ROOT, wait_for
from tests.stream.live import WebServer
from venues.paper import engine

pytestmark = [pytest.mark.pipeline]
ACCOUNT = "PAPER/DEMO"
SYMBOL = "PAPER_PERP_BTC_USDT"


@pytest.fixture
def account(pipeline):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSDT-PERP", Decimal("50000"))
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    wait_for(lambda: Balance.objects.filter(account=account).exists(), what="first sync")
    return account


@pytest.fixture
def web_server(account):
    server = WebServer("positions")
    yield server
    server.stop()


def order(client_order_id: str, side: str, amount: str, price: str, **fields) -> dict:
    return {
        "exchange_id": ACCOUNT,
        "client_order_id": client_order_id,
        "symbol_id_coinapi": SYMBOL,
        "amount_order": amount,
        "price": price,
        "side": side,
        "order_type": "LIMIT",
        "time_in_force": "IMMEDIATE_OR_CANCEL",
        **fields,
    }


def body(response):
    return simplejson.loads(response.content, use_decimal=True)


def synced(account) -> None:
    """One sync cycle by the worker (the beat's job in production), waited for."""
    before = type(account).objects.get(pk=account.pk).last_sync_at
    sync_account.delay(account.pk)
    wait_for(
        lambda: type(account).objects.get(pk=account.pk).last_sync_at != before,
        what="a sync cycle",
    )


def position_update(ws, quantity: Decimal) -> dict:
    """The next POSITION_UPDATE with this quantity, whatever else comes first."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        message = json.loads(ws.recv(timeout=20), parse_float=Decimal)
        if message["type"] == "POSITION_UPDATE" and message["quantity"] == quantity:
            return message
    raise AssertionError(f"no POSITION_UPDATE with quantity {quantity}")


def test_a_script_opens_sees_and_closes_a_perpetual_position(api, account, web_server):
    headers = {"X-CoinAPI-Key": api.headers["X-CoinAPI-Key"]}
    with connect(f"{web_server.ws_url}/v1/ws", additional_headers=headers) as ws:
        opened = body(api.post("/v1/orders", order("perp-open", "BUY", "0.2", "50100")))
        assert (opened["status"], opened["amount_filled"]) == ("FILLED", Decimal("0.2"))
        synced(account)

        (snapshot,) = body(api.get("/v1/positions", {"exchange_id": ACCOUNT}))
        (item,) = snapshot["data"]
        assert item["symbol_id_coinapi"] == SYMBOL and item["symbol_id_exchange"] == "BTCUSDT-PERP"
        assert (item["quantity"], item["side"]) == (Decimal("0.2"), "BUY")
        assert item["avg_entry_price"] == Decimal("50010")  # the best ask at 50000 + 2 bps
        assert item["cross_margin"] is False and item["leverage"] == 1
        # value 0.2 * 50010 = 10002 at 1x: all of it margin.
        assert item["raw_data"]["margin"] == Decimal("10002")
        assert item["raw_data"]["mark_price"] == Decimal("50000")
        assert item["unrealized_pnl"] == Decimal("-2")  # 0.2 * (50000 - 50010)

        update = position_update(ws, Decimal("0.2"))
        assert update["exchange_id"] == ACCOUNT and update["side"] == "BUY"
        assert update["raw_data"]["margin"] == Decimal("10002")

        flip = api.post(
            "/v1/orders",
            order("perp-flip", "SELL", "0.3", "49900", exec_inst=["DO_NOT_INCREASE"]),
        )
        assert flip.status_code == 400
        assert "would flip the position" in flip.content.decode()

        closed = body(
            api.post(
                "/v1/orders",
                order("perp-close", "SELL", "0.2", "49900", exec_inst=["DO_NOT_INCREASE"]),
            )
        )
        assert (closed["status"], closed["amount_filled"]) == ("FILLED", Decimal("0.2"))
        synced(account)
        assert body(api.get("/v1/positions", {"exchange_id": ACCOUNT}))[0]["data"] == []
        flat = position_update(ws, Decimal(0))
        assert flat["side"] == "BUY"  # the side of the position closed


def test_the_example_script_runs_the_same_round_trip(api, account, web_server):
    """examples/perp_position.py against the real server, the worker syncing as beat would."""
    script = subprocess.Popen(
        [sys.executable, str(ROOT / "examples" / "perp_position.py"),
         "--base-url", web_server.origin, "--key", api.headers["X-CoinAPI-Key"]],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while script.poll() is None and time.monotonic() < deadline:
        sync_account.delay(account.pk)
        time.sleep(0.5)
    if script.poll() is None:
        script.kill()
    output = script.communicate()[0]
    assert script.returncode == 0, output
    assert "POSITION_UPDATE" in output and ": 400 " in output, output
