"""The hosted EMS as a venue, against a local HTTP server answering with the contract's shapes
(shared/contract/EMS-API.md): reports map straight through, 490 is unreachable, 504 and
silence are unknown outcomes resolved by /v1/orders/status, never by a second POST."""

from __future__ import annotations

import json
import threading
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import pytest

from venues.base import OrderIntent, OrderRef, OrdSide, OrdStatus, TimeInForce
from venues.ccxt import connection
from venues.errors import KeyRefused, OutcomeUnknown, Rejected, Unreachable
from venues.registry import adapter_class

D = Decimal
S = OrdStatus
KEY = "hosted-ems-key-5f2c9e"


def report(status: str = "ROUTED", **fields) -> dict:
    """An OrderExecutionReport in the key order of the real wire (EMS-API.md §2.3)."""
    values = {
        "type": "ORDER_EXEC_REPORT_UPDATE",
        "id": "desk-9",
        "client_order_id_format_exchange": "74733759",
        "exchange_order_id": None,
        "amount_open": 100,
        "amount_filled": 0,
        "status": status,
        "status_history": [["RECEIVED", "2026-11-23T10:00:00.0000000Z"]],
        "error_message": None,
        "fills": [],
        "exchange_id": "KRAKEN/JOHN",
        "client_order_id": "desk-9",
        "symbol_id_exchange": "OXTUSD",
        "symbol_id_coinapi": "KRAKEN_SPOT_OXT_USD",
        "amount_order": 100,
        "price": 0.11,
        "avg_px": 0.0,
        "side": "BUY",
        "order_type": "LIMIT",
        "time_in_force": "GOOD_TILL_CANCEL",
        "expire_time": None,
        "exec_inst": [],
    }
    return {**values, **fields}


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client that gave up waiting (the timeout test) closed its end


class HostedEms:
    """A local stand-in for the hosted EMS: routes answer what tests set, requests recorded."""

    def __init__(self):
        self.routes: dict[tuple[str, str], tuple[int, object, float]] = {}
        self.requests: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                outer.requests.append(
                    {
                        "method": self.command,
                        "path": parts.path,
                        "query": dict(parse_qsl(parts.query)),
                        "headers": dict(self.headers),
                        "body": body,
                    }
                )
                candidates = [
                    k for k in outer.routes if k[0] == self.command and parts.path.startswith(k[1])
                ]
                key = max(candidates, key=lambda k: len(k[1]), default=None)  # the longest
                status, document, delay = outer.routes.get(key, (404, {"message": "no route"}, 0))
                time.sleep(delay)
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

            def log_message(self, *args):
                pass

        self.server = QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def on(self, method: str, path: str, document, *, status: int = 200, delay: float = 0):
        self.routes[(method, path)] = (status, document, delay)

    def sent(self, method: str, path: str) -> list[dict]:
        """Requests to `path`, or under it when it ends with a slash."""

        def matches(request: dict) -> bool:
            if path.endswith("/"):
                return request["path"].startswith(path)
            return request["path"] == path

        return [r for r in self.requests if r["method"] == method and matches(r)]


@pytest.fixture
def ems(settings):
    server = HostedEms()
    settings.EMSWEB_HOSTED_EMS_URL = server.url
    settings.EMSWEB_HOSTED_EMS_KEY = KEY
    settings.EMSWEB_HOSTED_EMS_TIMEOUT = 0.5
    settings.EMSWEB_HOSTED_EMS_VENUES = {"EMSDESK": "KRAKEN"}
    yield server
    server.server.shutdown()


@pytest.fixture
def venue(ems, monkeypatch):
    # Kraken's markets, as ccxt would give them, without the network.
    markets = connection.Markets(
        time.time(),
        {
            "OXT/USD": {
                "id": "OXTUSD",
                "symbol": "OXT/USD",
                "base": "OXT",
                "quote": "USD",
                "spot": True,
                "active": True,
                "precision": {"price": 1e-05, "amount": 1e-08},
                "limits": {"amount": {"min": 40.0}, "cost": {"min": 0.5}},
            }
        },
        {},
        {},
    )
    monkeypatch.setattr(connection, "markets", lambda *args, **kwargs: markets)
    return adapter_class("EMSDESK")(account_key="EMSDESK/JOHN", credentials=None)


def intent(**fields) -> OrderIntent:
    values = {
        "client_order_id": "desk-9",
        "symbol_id_exchange": "OXTUSD",
        "side": OrdSide.BUY,
        "amount": D("100"),
        "price": D("0.11"),
        "time_in_force": TimeInForce.GOOD_TILL_CANCEL,
        "post_only": True,
    }
    return OrderIntent(**{**values, **fields})


def test_an_order_goes_to_the_hosted_ems_for_the_tagged_account(ems, venue):
    ems.on("POST", "/v1/orders", report())
    answer = venue.submit(intent())
    [sent] = ems.sent("POST", "/v1/orders")
    assert sent["headers"]["X-CoinAPI-Key"] == KEY
    body = json.loads(sent["body"])
    assert body["exchange_id"] == "KRAKEN/JOHN"
    assert body["symbol_id_coinapi"] == "KRAKEN_SPOT_OXT_USD"
    assert '"price": 0.11' in sent["body"] and '"amount_order": 100' in sent["body"]
    assert body["exec_inst"] == ["MAKER_OR_CANCEL"] and body["order_type"] == "LIMIT"
    assert (answer.status, answer.client_order_id) == (S.NEW, "desk-9")
    assert answer.client_order_id_format_exchange == "74733759"


def test_a_rejection_by_the_exchange_comes_back_as_a_rejected_report(ems, venue):
    ems.on(
        "POST", "/v1/orders", report("REJECTED", error_message="EGeneral:Invalid arguments:volume")
    )
    answer = venue.submit(intent())
    assert answer.status == S.REJECTED and answer.message == "EGeneral:Invalid arguments:volume"


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            490,
            {
                "type": "MESSAGE_REJECT",
                "reject_reason": "EXCHANGE_UNREACHABLE",
                "message": "Exchange is unreachable.",
            },
            Unreachable,
        ),
        (
            504,
            {
                "type": "MESSAGE_REJECT",
                "reject_reason": "EXCHANGE_RESPONSE_TIMEOUT",
                "message": "Exchange didn't responded in the defined timeout.",
            },
            OutcomeUnknown,
        ),
        (
            400,
            {
                "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
                "title": "One or more validation errors occurred.",
                "status": 400,
                "errors": {"Price": ["The Price field is required."]},
            },
            Rejected,
        ),
        (502, "<html>bad gateway</html>", OutcomeUnknown),
    ],
    ids=["490", "504", "400", "502"],
)
def test_the_contracts_errors_are_classified(ems, venue, status, body, error):
    ems.on("POST", "/v1/orders", body, status=status)
    with pytest.raises(error):
        venue.submit(intent())


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_raises_the_accounts_alert(ems, venue, status, db):
    from accounts.models import AlertKind
    from accounts.services import account_link, venue_error_record

    account, _ = account_link(exchange_id="EMSDESK/JOHN", parameters={})
    ems.on("POST", "/v1/orders", {"message": "Invalid API key."}, status=status)
    with pytest.raises(KeyRefused) as refused:
        venue.submit(intent())
    assert refused.value.account_key == "EMSDESK/JOHN"

    # What the order path does with it.
    venue_error_record(venue="EMSDESK", operation="submit", error=refused.value)
    account.refresh_from_db()
    assert account.alert_kind == AlertKind.AUTH and "Invalid API key." in account.alert


def test_silence_is_an_unknown_outcome_resolved_by_status_never_by_a_second_post(ems, venue):
    ems.on("POST", "/v1/orders", report(), delay=1.0)
    with pytest.raises(OutcomeUnknown):
        venue.submit(intent())
    ems.on("GET", "/v1/orders/status/", report("NEW", exchange_order_id="OJCPEO-PO7WD-VTPUF2"))
    found = venue.lookup("desk-9", "OXTUSD")
    assert found.status == S.NEW and found.exchange_order_id == "OJCPEO-PO7WD-VTPUF2"
    assert [r["path"] for r in ems.sent("GET", "/v1/orders/status/")] == [
        "/v1/orders/status/desk-9"
    ]
    assert len(ems.sent("POST", "/v1/orders")) == 1


def test_a_hosted_ems_that_cannot_be_reached_is_unreachable(ems, venue, settings):
    settings.EMSWEB_HOSTED_EMS_URL = "http://127.0.0.1:1"
    with pytest.raises(Unreachable):
        venue.submit(intent())


def test_an_order_it_does_not_know_is_none(ems, venue):
    ems.on(
        "GET",
        "/v1/orders/status/",
        {
            "type": "MESSAGE_REJECT",
            "reject_reason": "ORDER_ID_NOT_FOUND",
            "message": "The requested order was not found.",
        },
        status=404,
    )
    assert venue.lookup("desk-9", "OXTUSD") is None


def test_cancel_and_cancel_all_name_the_account_and_the_order(ems, venue):
    ems.on("POST", "/v1/orders/cancel/all", {"type": "MESSAGE_REJECT", "message": "Ok"})
    ems.on("POST", "/v1/orders/cancel", report("PENDING_CANCEL", exchange_order_id="OJC-1"))
    answer = venue.cancel(OrderRef("OXTUSD", "desk-9", "OJC-1"))
    assert answer.status == S.NEW  # still working until the exchange says canceled
    assert venue.cancel_all() == []
    [cancel] = ems.sent("POST", "/v1/orders/cancel")
    assert json.loads(cancel["body"]) == {
        "exchange_id": "KRAKEN/JOHN",
        "client_order_id": "desk-9",
        "exchange_order_id": "OJC-1",
    }
    [cancel_all] = ems.sent("POST", "/v1/orders/cancel/all")
    assert json.loads(cancel_all["body"]) == {"exchange_id": "KRAKEN/JOHN"}


def test_open_orders_carry_their_fills_with_stable_trade_ids(ems, venue):
    fills = [
        {"time": "2026-11-23T10:00:05.1677709Z", "price": 0.11, "amount": 30},
        {"time": "2026-11-23T10:00:05.1677709Z", "price": 0.11, "amount": 30},
    ]
    ems.on(
        "GET",
        "/v1/orders",
        [report("PARTIALLY_FILLED", amount_filled=60, fills=fills, exchange_order_id="OJC-1")],
    )
    [first] = venue.open_orders()
    [again] = venue.open_orders()
    assert first.status == S.PARTIALLY_FILLED and first.amount_filled == 60
    ids = [fill.trade_id for fill in first.fills]
    assert len(set(ids)) == 2 and ids == [fill.trade_id for fill in again.fills]
    assert ems.sent("GET", "/v1/orders")[0]["query"] == {"exchange_id": "KRAKEN/JOHN"}


def test_balances_keep_the_exchanges_and_the_common_asset_ids(ems, venue):
    ems.on(
        "GET",
        "/v1/balances",
        [
            {
                "type": "BALANCE_SNAPSHOT",
                "exchange_id": "KRAKEN/JOHN",
                "data": [
                    {
                        "id": "XXBT",
                        "asset_id_exchange": "XXBT",
                        "asset_id_coinapi": "BTC",
                        "balance": 0.02164794,
                        "available": 0.02164794,
                        "locked": 0.0,
                        "traded": 0.0,
                        "last_updated_by": "EXCHANGE",
                        "rate_usd": 52357.18111158658,
                    },
                    {
                        "id": "ZUSD",
                        "asset_id_exchange": "ZUSD",
                        "balance": 100,
                        "available": 90,
                        "locked": 10,
                        "last_updated_by": "EXCHANGE",
                        "rate_usd": None,
                    },
                ],
            }
        ],
    )
    btc, usd = venue.balances()
    assert (btc.asset, btc.asset_common, btc.balance) == ("XXBT", "BTC", D("0.02164794"))
    assert btc.rate_usd == D("52357.18111158658")
    assert (usd.asset, usd.asset_common, usd.locked, usd.rate_usd) == ("ZUSD", "", 10, None)


def test_instruments_come_from_the_exchanges_markets(venue):
    [spec] = venue.instruments()
    assert (spec.symbol_id_exchange, spec.tick_size, spec.min_amount) == (
        "OXTUSD",
        D("0.00001"),
        40,
    )
