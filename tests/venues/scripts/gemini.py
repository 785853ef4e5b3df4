"""Gemini REST (docs.gemini.com/rest-api): answers of the documented shapes."""

from __future__ import annotations

import base64
import json

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, Script

ORDER_ID = "106817811"


def gemini_order(client_id: str, *, live: bool, cancelled: bool, filled: str) -> dict:
    return {
        "order_id": ORDER_ID,
        "id": ORDER_ID,
        "symbol": "btcusd",
        "exchange": "gemini",
        "avg_execution_price": "50000.00" if D(filled) else "0.00",
        "side": "buy",
        "type": "exchange limit",
        "timestamp": "1795400000",
        "timestampms": 1795400000123,
        "is_live": live,
        "is_cancelled": cancelled,
        "is_hidden": False,
        "was_forced": False,
        "executed_amount": filled,
        "client_order_id": client_id,
        "options": [],
        "price": "50000.00",
        "original_amount": "0.01",
        "remaining_amount": str(D("0.01") - D(filled)),
    }


def gemini_trade(tid: int, amount: str, aggressor: bool) -> dict:
    return {
        "price": "50000.00",
        "amount": amount,
        "timestamp": 1795400050,
        "timestampms": 1795400050880 + tid % 100,
        "type": "Buy",
        "aggressor": aggressor,
        "fee_currency": "USD",
        "fee_amount": "0.32",
        "tid": tid,
        "order_id": ORDER_ID,
        "exchange": "gemini",
        "is_auction_fill": False,
        "is_clearing_fill": False,
        "symbol": "BTCUSD",
    }


def error(reason: str, message: str) -> dict:
    return {"result": "error", "reason": reason, "message": message}


def payload(request: Sent) -> dict:
    """Gemini carries a private request's fields in the X-GEMINI-PAYLOAD header."""
    return json.loads(base64.b64decode(request.headers["X-GEMINI-PAYLOAD"]))


class Gemini(Script):
    code = "GEMINI"
    credentials = {
        "PublicApiKey": "account-q3bKx5Tf8Wm2Zr9Lp4Nv",
        "PrivateApiKey": "4Wq8LmZ2xR7pT3vN9kJ5hG6fD1sA8bCe",
    }
    symbol = "btcusd"
    tick, lot, min_amount = D("0.01"), D("0.00000001"), D("0.00001")
    create = ("POST", "/v1/order/new")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient funds": (
            400,
            error(
                "InsufficientFunds",
                "Failed to place buy order on symbol 'BTCUSD' for price $50,000.00 and "
                "quantity 0.01 BTC due to insufficient funds",
            ),
        ),
        "bad signature": (400, error("InvalidSignature", "InvalidSignature")),
        "invalid order": (400, error("InvalidPrice", "Invalid price for symbol BTCUSD: 50000.001")),
        "invalid nonce": (
            400,
            error(
                "InvalidNonce",
                "Nonce '1795400000000' has not increased since your last call to the Gemini API.",
            ),
        ),
        "missing role": (
            400,
            error(
                "MissingRole",
                "To access this endpoint, you need to log in to the website and go to the "
                "settings page to assign one of these roles [Trader] to API key which "
                "currently has roles [Auditor]",
            ),
        ),
        "an error ccxt does not know": (400, error("SomethingNew", "Something new")),
    }
    unknowns = {"system": (500, error("System", "We are experiencing technical issues"))}
    rate_limited = (429, error("RateLimit", "Requests were made too frequently"))
    time_in_force = {
        "GOOD_TILL_CANCEL": {},
        "IMMEDIATE_OR_CANCEL": {"options": ["immediate-or-cancel"]},
        "FILL_OR_KILL": {"options": ["fill-or-kill"]},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"options": ["maker-or-cancel"]},
    }

    def markets(self, fake: FakeExchange) -> None:
        fake.on("GET", "/v1/symbols", ["btcusd"])
        fake.on(
            "GET",
            "/v1/symbols/details/btcusd",
            {
                "symbol": "BTCUSD",
                "base_currency": "BTC",
                "quote_currency": "USD",
                "tick_size": 1e-8,
                "quote_increment": 0.01,
                "min_order_size": "0.00001",
                "status": "open",
                "wrap_enabled": False,
                "product_type": "spot",
                "contract_type": "vanilla",
                "contract_price_currency": "USD",
            },
        )

    def client_id_sent(self, request: Sent) -> str:
        return payload(request)["client_order_id"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        fields = payload(request)
        return fields["amount"], fields["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        fields = payload(request)
        return {"options": fields["options"]} if fields.get("options") else {}

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST", "/v1/order/new", gemini_order(client_id, live=True, cancelled=False, filled="0")
        )

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        order = gemini_order(
            client_id, live=status == "open", cancelled=status == "canceled", filled=filled
        )
        fake.on("POST", "/v1/order/status", order)
        self._trades(fake, filled)

    def _trades(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        fake.on(
            "POST",
            "/v1/mytrades",
            [gemini_trade(107317526 + i, amount, False) for i, amount in enumerate(amounts)],
        )

    def missing(self, fake: FakeExchange) -> None:
        fake.on("POST", "/v1/order/status", error("OrderNotFound", "Order not found"), status=400)

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to("/v1/order/status")
        fields = payload(looked)
        assert fields["client_order_id"] == client_id
        assert "order_id" not in fields and "clientOrderId" not in fields

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on(
            "POST",
            "/v1/order/cancel",
            gemini_order(client_id, live=False, cancelled=True, filled=filled),
        )
        self._trades(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            "/v1/order/cancel/all",
            {
                "result": "ok",
                "details": {"cancelRejects": [], "cancelledOrders": [106817811]},
            },
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to("/v1/order/cancel/all")

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST",
            "/v1/orders",
            [gemini_order(client_id, live=True, cancelled=False, filled="0.004")],
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "POST",
            "/v1/balances",
            [
                {
                    "type": "exchange",
                    "currency": "BTC",
                    "amount": "1.2435",
                    "available": "0.4012",
                    "availableForWithdrawal": "0.4012",
                },
                {
                    "type": "exchange",
                    "currency": "USD",
                    "amount": "25435.21",
                    "available": "17185.45",
                    "availableForWithdrawal": "17185.45",
                },
            ],
        )
        fake.on(
            "GET",
            "/v1/pricefeed",
            [
                {"pair": "BTCUSD", "price": "50303.2", "percentChange24h": "0.0011"},
            ],
        )
        return [
            ("BTC", "BTC", D("1.2435"), D("0.4012"), D("0.8423"), D("50303.2")),
            ("USD", "USD", D("25435.21"), D("17185.45"), D("8249.76"), D("1")),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "POST",
            "/v1/mytrades",
            [gemini_trade(107317526, "0.004", False), gemini_trade(107317527, "0.006", True)],
        )
        return [
            ("107317526", ORDER_ID, D("50000"), D("0.004"), D("0.32"), "MAKER"),
            ("107317527", ORDER_ID, D("50000"), D("0.006"), D("0.32"), "TAKER"),
        ]
