"""Coinbase Exchange REST (docs.cdp.coinbase.com/exchange): answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, Script

ORDER_ID = "d0c5340b-6d6c-49d9-b567-48c4bfca13d2"


def cbx_order(client_id: str, status: str, filled: str, *, done_reason: str | None = None) -> dict:
    order = {
        "id": ORDER_ID,
        "price": "50000.00",
        "size": "0.01000000",
        "product_id": "BTC-USD",
        "profile_id": "8058d771-2d88-4f0f-ab6e-299c153d4308",
        "side": "buy",
        "type": "limit",
        "time_in_force": "GTC",
        "post_only": False,
        "created_at": "2026-11-23T10:00:00.123456Z",
        "fill_fees": "0.32",
        "filled_size": filled,
        "executed_value": str(D(filled) * 50000),
        "status": status,
        "settled": status == "done",
        "client_oid": client_id,
    }
    if done_reason:
        order.update(done_at="2026-11-23T10:01:40.5Z", done_reason=done_reason)
    return order


def cbx_fill(trade_id: int, amount: str, liquidity: str) -> dict:
    return {
        "created_at": "2026-11-23T10:00:50.880Z",
        "trade_id": trade_id,
        "product_id": "BTC-USD",
        "order_id": ORDER_ID,
        "user_id": "5cf6e115aaf44503db300f1e",
        "profile_id": "8058d771-2d88-4f0f-ab6e-299c153d4308",
        "liquidity": liquidity,
        "price": "50000.00",
        "size": amount,
        "fee": "0.32",
        "side": "buy",
        "settled": True,
        "usd_volume": str(D(amount) * 50000),
    }


class CoinbaseExchange(Script):
    code = "COINBASE"
    credentials = {
        "PublicApiKey": "b6e7a5b4c3d2e1f0a9b8c7d6e5f4a3b2",
        "PrivateApiKey": "c2VjcmV0LWtleS1mb3ItY29pbmJhc2UtZXhjaGFuZ2UtMTIzNDU2Nzg5MA==",
        "PassPhrase": "passphrase-9f8e7d",
    }
    symbol = "BTC-USD"
    tick, lot, min_amount = D("0.01"), D("0.00000001"), D("0.00000001")
    create = ("POST", "/orders")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient funds": (400, {"message": "Insufficient funds"}),
        "bad key": (401, {"message": "Invalid API Key"}),
        "bad passphrase": (401, {"message": "Invalid Passphrase"}),
        "invalid order": (400, {"message": "size is too small. Minimum size is 0.00001"}),
        "forbidden": (403, {"message": "Forbidden"}),
        "an error ccxt does not know": (400, {"message": "Something new"}),
    }
    unknowns = {"internal error": (500, {"message": "Internal server error"})}
    rate_limited = (429, {"message": "Private rate limit exceeded"})
    time_in_force = {
        "GOOD_TILL_CANCEL": {},
        "IMMEDIATE_OR_CANCEL": {"time_in_force": "IOC"},
        "FILL_OR_KILL": {"time_in_force": "FOK"},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"post_only": True},
    }

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/products",
            [
                {
                    "id": "BTC-USD",
                    "base_currency": "BTC",
                    "quote_currency": "USD",
                    "quote_increment": "0.01",
                    "base_increment": "0.00000001",
                    "display_name": "BTC/USD",
                    "min_market_funds": "1",
                    "margin_enabled": False,
                    "post_only": False,
                    "limit_only": False,
                    "cancel_only": False,
                    "status": "online",
                    "status_message": "",
                    "auction_mode": False,
                    "trading_disabled": False,
                    "fx_stablecoin": False,
                    "max_slippage_percentage": "0.02000000",
                    "high_bid_limit_percentage": "",
                }
            ],
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.json["client_oid"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.json["size"], request.json["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        keys = ("time_in_force", "post_only", "cancel_after")
        return {key: request.json[key] for key in keys if key in request.json}

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on("POST", "/orders", cbx_order(client_id, "pending", "0"))

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        states = {
            "open": ("open", None),
            "canceled": ("done", "canceled"),
            "filled": ("done", "filled"),
        }
        state, reason = states[status]
        fake.on("GET", "/orders/client:.*", cbx_order(client_id, state, filled, done_reason=reason))
        self._fills(fake, filled)

    def _fills(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        fills = [cbx_fill(74 + i, amount, "M") for i, amount in enumerate(amounts)]
        fake.on("GET", "/fills", fills)

    def missing(self, fake: FakeExchange) -> None:
        fake.on("GET", "/orders/client:.*", {"message": "NotFound"}, status=404)

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        looked = fake.requests_to("/orders/client:.*", "GET")
        assert [request.path for request in looked] == [f"/orders/client:{client_id}"]

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        # Read first: a canceled order that never traded vanishes (see test_coinbase.py).
        fake.on("GET", "/orders/client:.*", cbx_order(client_id, "open", filled))
        fake.on("DELETE", f"/orders/{ORDER_ID}", ORDER_ID)
        fake.on(
            "GET",
            f"/orders/{ORDER_ID}",
            cbx_order(client_id, "done", filled, done_reason="canceled"),
        )
        self._fills(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on("DELETE", "/orders", [ORDER_ID])

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to("/orders", "DELETE")

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on("GET", "/orders", [cbx_order(client_id, "open", "0.00400000")])

    def balance(self, fake: FakeExchange) -> list[tuple]:
        profile = "8058d771-2d88-4f0f-ab6e-299c153d4308"
        fake.on(
            "GET",
            "/accounts",
            [
                {
                    "id": "71452118-efc7-4cc4-8780-a5e22d4baa53",
                    "currency": "BTC",
                    "balance": "1.2435000000000000",
                    "available": "0.4012",
                    "hold": "0.8423",
                    "profile_id": profile,
                    "trading_enabled": True,
                    "pending_deposit": "0",
                },
                {
                    "id": "e316cb9a-0808-4fd7-8914-97829c1925de",
                    "currency": "USD",
                    "balance": "25435.2100000000000000",
                    "available": "17185.45",
                    "hold": "8249.76",
                    "profile_id": profile,
                    "trading_enabled": True,
                    "pending_deposit": "0",
                },
            ],
        )
        # [time, low, high, open, close]
        fake.on(
            "GET",
            "/products/spark-lines",
            {"BTC-USD": [[1795400000, 50001, 50999, 50502.8, 50303.2]]},
        )
        return [
            ("BTC", "BTC", D("1.2435"), D("0.4012"), D("0.8423"), D("50303.2")),
            ("USD", "USD", D("25435.21"), D("17185.45"), D("8249.76"), D("1")),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fake.on("GET", "/fills", [cbx_fill(74, "0.004", "M"), cbx_fill(75, "0.006", "T")])
        return [
            ("74", ORDER_ID, D("50000"), D("0.004"), D("0.32"), "MAKER"),
            ("75", ORDER_ID, D("50000"), D("0.006"), D("0.32"), "TAKER"),
        ]
