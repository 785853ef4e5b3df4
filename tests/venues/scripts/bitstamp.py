"""Bitstamp REST v2 (www.bitstamp.net/api): answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, Script

ORDER_ID = "1740318423957504"


def transaction(tid: int, amount: str) -> dict:
    return {
        "tid": tid,
        "price": "50000",
        "btc": amount,
        "usd": str(D(amount) * 50000),
        "fee": "0.32",
        "datetime": "2026-11-23 10:00:50.880000",
        "type": 2,
    }


def order_status(client_id: str, status: str, filled: str) -> dict:
    amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else ([filled] if D(filled) else [])
    return {
        "id": int(ORDER_ID),
        "datetime": "2026-11-23 10:00:00",
        "type": "0",
        "status": status,
        "market": "BTC/USD",
        "transactions": [transaction(900 + i, a) for i, a in enumerate(amounts)],
        "amount_remaining": str(D("0.01") - D(filled)),
        "client_order_id": client_id,
    }


def user_transaction(tid: int, amount: str) -> dict:
    return {
        "id": tid,
        "datetime": "2026-11-23 10:00:50.880000",
        "type": "2",
        "fee": "0.32",
        "btc": amount,
        "usd": str(-D(amount) * 50000),
        "btc_usd": "50000.00",
        "eur": 0,
        "order_id": int(ORDER_ID),
    }


def error(*messages: str) -> dict:
    return {"status": "error", "reason": {"__all__": list(messages)}}


class Bitstamp(Script):
    code = "BITSTAMP"
    credentials = {
        "PublicApiKey": "bitstampPublicKey8d7f6e5a4b3c",
        "PrivateApiKey": "bitstampSecretValue1a2b3c4d5e6f7a8b9c",
    }
    symbol = "btcusd"
    tick, lot, min_amount = D("1"), D("0.00000001"), D("0.00000001")
    create = ("POST", "/api/v2/(buy|sell)/btcusd/")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient funds": (
            200,
            error("You have only 100.00 USD available. Check your account balance for details."),
        ),
        "bad key": (403, {"status": "error", "reason": "API key not found", "code": "API0001"}),
        "invalid order": (200, error("Minimum order size is 10.0 USD.")),
        "invalid nonce": (200, {"status": "error", "reason": "Invalid nonce", "code": "API0004"}),
        "an error ccxt does not know": (200, error("Something new.")),
    }
    unknowns = {"could not be placed": (200, error("Order could not be placed."))}
    rate_limited = (429, {"status": "error", "reason": "Rate limit exceeded", "code": "API0002"})
    time_in_force = {
        "GOOD_TILL_CANCEL": {},
        "IMMEDIATE_OR_CANCEL": {"ioc_order": "true"},
        "FILL_OR_KILL": {"fok_order": "true"},
        "GOOD_TILL_TIME_EXCHANGE": {"gtd_order": "true", "expire_time": "1800000000"},
        "post_only": {"moc_order": "true"},
    }

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/api/v2/markets/",
            [
                {
                    "name": "BTC/USD",
                    "market_symbol": "btcusd",
                    "base_currency": "BTC",
                    "base_decimals": 8,
                    "counter_currency": "USD",
                    "counter_decimals": 0,
                    "minimum_order_value": "10",
                    "maximum_order_value": "5000000",
                    "minimum_order_amount": "0.00000001",
                    "maximum_order_amount": "1000",
                    "trading": "Enabled",
                    "instant_order_counter_decimals": 2,
                    "instant_and_market_orders": "Enabled",
                    "description": "Bitcoin / U.S. dollar",
                    "market_type": "SPOT",
                }
            ],
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.form["client_order_id"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.form["amount"], request.form["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        keys = ("ioc_order", "fok_order", "moc_order", "gtd_order", "expire_time")
        return {key: request.form[key] for key in keys if key in request.form}

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        for side in ("buy", "sell"):
            fake.on(
                "POST",
                f"/api/v2/{side}/btcusd/",
                {
                    "id": ORDER_ID,
                    "market": "BTC/USD",
                    "datetime": "2026-11-23 10:00:00.123456",
                    "type": "0" if side == "buy" else "1",
                    "price": "50000",
                    "amount": "0.01000000",
                    "client_order_id": client_id,
                },
            )

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        bitstamp = {"open": "Open", "canceled": "Canceled", "filled": "Finished"}[status]
        fake.on("POST", "/api/v2/order_status/", order_status(client_id, bitstamp, filled))

    def missing(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            "/api/v2/order_status/",
            {"status": "error", "reason": "Order not found.", "code": "API5002"},
        )

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to("/api/v2/order_status/")
        assert looked.form == {"client_order_id": client_id}

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on(
            "POST",
            "/api/v2/cancel_order/",
            {
                "id": int(ORDER_ID),
                "amount": str(D("0.01") - D(filled)),
                "price": "50000",
                "type": 0,
            },
        )
        fake.on("POST", "/api/v2/order_status/", order_status(client_id, "Canceled", filled))

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            "/api/v2/cancel_all_orders/",
            {
                "success": True,
                "canceled": [
                    {
                        "id": int(ORDER_ID),
                        "amount": "0.01",
                        "price": "50000",
                        "type": 0,
                        "currency_pair": "BTC/USD",
                        "market": "BTC/USD",
                    },
                ],
            },
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to("/api/v2/cancel_all_orders/")

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST",
            "/api/v2/open_orders/all/",
            [
                {
                    "id": ORDER_ID,
                    "datetime": "2026-11-23 10:00:00",
                    "type": "0",
                    "price": "50000",
                    "amount": "0.00600000",
                    "amount_at_create": "0.01000000",
                    "currency_pair": "BTC/USD",
                    "market": "BTC/USD",
                    "client_order_id": client_id,
                }
            ],
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "POST",
            "/api/v2/account_balances/",
            [
                {"currency": "btc", "total": "1.2435", "available": "0.4012", "reserved": "0.8423"},
                {
                    "currency": "usd",
                    "total": "25435.21",
                    "available": "17185.45",
                    "reserved": "8249.76",
                },
                {
                    "currency": "eth",
                    "total": "0.00000000",
                    "available": "0.00000000",
                    "reserved": "0",
                },
            ],
        )
        fake.on(
            "GET",
            "/api/v2/ticker/",
            [
                {
                    "timestamp": "1795400000",
                    "open": "50502",
                    "high": "50999",
                    "low": "50001",
                    "last": "50303",
                    "volume": "100.5",
                    "vwap": "50400",
                    "bid": "50300",
                    "ask": "50304",
                    "side": "0",
                    "open_24": "50500",
                    "percent_change_24": "-0.39",
                    "pair": "BTC/USD",
                    "market_type": "SPOT",
                }
            ],
        )
        return [
            ("BTC", "BTC", D("1.2435"), D("0.4012"), D("0.8423"), D("50303")),
            ("USD", "USD", D("25435.21"), D("17185.45"), D("8249.76"), D("1")),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "POST",
            "/api/v2/user_transactions/",
            [
                user_transaction(800, "0.004"),
                user_transaction(801, "0.006"),
                {
                    "id": 802,
                    "datetime": "2026-11-23 09:00:00",
                    "type": "0",
                    "fee": "0",
                    "usd": "500",
                    "btc": 0,
                    "btc_usd": 0,
                    "eur": 0,
                    "order_id": None,
                },  # a deposit, not a trade
            ],
        )
        return [
            ("800", ORDER_ID, D("50000"), D("0.004"), D("0.32"), ""),
            ("801", ORDER_ID, D("50000"), D("0.006"), D("0.32"), ""),
        ]
