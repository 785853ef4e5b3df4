"""Coinbase Advanced Trade REST v3 (docs.cdp.coinbase.com/advanced-trade): answers of the
documented shapes, signed with a CDP key (an EC key: ccxt makes a JWT per request)."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, Script

ORDER_ID = "0000-000000-000042"
PEM = (
    ec.generate_private_key(ec.SECP256R1())
    .private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    .decode()
)
CONFIGURATIONS = {
    "limit_limit_gtc": {"base_size": "0.01", "limit_price": "50000.00", "post_only": False},
}


def cba_order(client_id: str, status: str, filled: str) -> dict:
    return {
        "order_id": ORDER_ID,
        "product_id": "BTC-USD",
        "user_id": "2222-000000-000000",
        "order_configuration": CONFIGURATIONS,
        "side": "BUY",
        "client_order_id": client_id,
        "status": status,
        "time_in_force": "GOOD_UNTIL_CANCELLED",
        "created_time": "2026-11-23T10:00:00.123Z",
        "completion_percentage": "0",
        "filled_size": filled,
        "average_filled_price": "50000" if D(filled) else "0",
        "fee": "",
        "number_of_fills": "1",
        "filled_value": str(D(filled) * 50000),
        "pending_cancel": False,
        "size_in_quote": False,
        "total_fees": "0.32",
        "size_inclusive_of_fees": False,
        "total_value_after_fees": "0",
        "trigger_status": "INVALID_ORDER_TYPE",
        "order_type": "LIMIT",
        "reject_reason": "",
        "settled": False,
        "product_type": "SPOT",
        "reject_message": "",
        "cancel_message": "",
        "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": "0",
        "is_liquidation": False,
        "last_fill_time": None,
    }


def cba_fill(trade_id: str, amount: str, liquidity: str) -> dict:
    return {
        "entry_id": f"entry-{trade_id}",
        "trade_id": trade_id,
        "order_id": ORDER_ID,
        "trade_time": "2026-11-23T10:00:50.880Z",
        "trade_type": "FILL",
        "price": "50000.00",
        "size": amount,
        "commission": "0.32",
        "product_id": "BTC-USD",
        "sequence_timestamp": "2026-11-23T10:00:50.881Z",
        "liquidity_indicator": liquidity,
        "size_in_quote": False,
        "user_id": "2222-000000-000000",
        "side": "BUY",
        "retail_portfolio_id": "",
    }


def batch(orders: list[dict]) -> dict:
    return {"orders": orders, "sequence": "0", "has_next": False, "cursor": ""}


def failure(error: str, message: str, preview: str = "") -> dict:
    return {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": error,
            "message": message,
            "error_details": "",
            "preview_failure_reason": preview,
        },
    }


class CoinbaseAdvanced(Script):
    code = "COINBASEADV"
    credentials = {
        "PublicApiKey": "organizations/8c1b9d3e-0a7f-4b5e-9c2d-1e3f5a7b9c0d/apiKeys/f0e1d2c3",
        "PrivateApiKey": PEM,
    }
    symbol = "BTC-USD"
    tick, lot, min_amount = D("0.01"), D("0.00000001"), D("0.00000001")
    create = ("POST", "/api/v3/brokerage/orders")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient funds": (
            200,
            failure(
                "INSUFFICIENT_FUND",
                "Insufficient balance in source account",
                "PREVIEW_INSUFFICIENT_FUND",
            ),
        ),
        "bad key": (401, {"error": "unauthorized", "error_details": "", "message": "Unauthorized"}),
        "permission denied": (
            403,
            {
                "error": "PERMISSION_DENIED",
                "error_details": "Missing required scopes",
                "message": "Missing required scopes",
            },
        ),
        "an error ccxt does not know": (
            200,
            failure(
                "INVALID_LIMIT_PRICE_POST_ONLY",
                "Limit price would cross",
                "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
            ),
        ),
    }
    unknowns = {
        "internal error": (500, {"error": "internal_server_error", "message": "Internal error"}),
    }
    rate_limited = (429, {"error": "rate_limit_exceeded", "message": "Too many requests"})
    time_in_force = {
        "GOOD_TILL_CANCEL": {"limit_limit_gtc": {"post_only": False}},
        "IMMEDIATE_OR_CANCEL": {"sor_limit_ioc": {}},
        "FILL_OR_KILL": {"limit_limit_fok": {}},
        "GOOD_TILL_TIME_EXCHANGE": {
            "limit_limit_gtd": {"end_time": "2027-01-15T08:00:00Z", "post_only": False}
        },
        "post_only": {"limit_limit_gtc": {"post_only": True}},
    }

    @property
    def secrets(self) -> list[str]:
        # The PEM's body lines: none of them may appear anywhere.
        lines = [line for line in PEM.splitlines() if len(line) > 20 and "-----" not in line]
        return [self.credentials["PublicApiKey"], *lines]

    def markets(self, fake: FakeExchange) -> None:
        product = {
            "product_id": "BTC-USD",
            "price": "50303.20",
            "price_percentage_change_24h": "-1.2",
            "volume_24h": "1000",
            "volume_percentage_change_24h": "1",
            "base_increment": "0.00000001",
            "quote_increment": "0.01",
            "quote_min_size": "1",
            "quote_max_size": "150000000",
            "base_min_size": "0.00000001",
            "base_max_size": "3400",
            "base_name": "Bitcoin",
            "quote_name": "US Dollar",
            "watched": False,
            "is_disabled": False,
            "new": False,
            "status": "online",
            "cancel_only": False,
            "limit_only": False,
            "post_only": False,
            "trading_disabled": False,
            "auction_mode": False,
            "product_type": "SPOT",
            "quote_currency_id": "USD",
            "base_currency_id": "BTC",
            "fcm_trading_session_details": None,
            "mid_market_price": "",
            "alias": "",
            "alias_to": [],
            "base_display_symbol": "BTC",
            "quote_display_symbol": "USD",
            "view_only": False,
            "price_increment": "0.01",
            "display_name": "BTC-USD",
            "product_venue": "CBE",
        }

        def products(request: Sent) -> dict:
            spot = request.query.get("product_type", "SPOT") == "SPOT"
            return {"products": [product] if spot else [], "num_products": int(spot)}

        fake.on("GET", "/api/v3/brokerage/market/products", answer=products)

    def client_id_sent(self, request: Sent) -> str:
        return request.json["client_order_id"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        [configuration] = request.json["order_configuration"].values()
        return configuration["base_size"], configuration["limit_price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        [(name, configuration)] = request.json["order_configuration"].items()
        keys = ("post_only", "end_time")
        return {name: {key: configuration[key] for key in keys if key in configuration}}

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST",
            "/api/v3/brokerage/orders",
            {
                "success": True,
                "success_response": {
                    "order_id": ORDER_ID,
                    "product_id": "BTC-USD",
                    "side": "BUY",
                    "client_order_id": client_id,
                },
                "order_configuration": CONFIGURATIONS,
            },
        )

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        cb_status = {"open": "OPEN", "canceled": "CANCELLED", "filled": "FILLED"}[status]
        order = cba_order(client_id, cb_status, filled)

        def orders(request: Sent) -> dict:
            wanted = request.query.get("order_status")
            return batch([order] if wanted in (None, cb_status) else [])

        fake.on("GET", "/api/v3/brokerage/orders/historical/batch", answer=orders)
        self._fills(fake, filled)

    def _fills(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        fills = [cba_fill(f"t-{i}", amount, "MAKER") for i, amount in enumerate(amounts)]
        fake.on("GET", "/api/v3/brokerage/orders/historical/fills", {"fills": fills, "cursor": ""})

    def missing(self, fake: FakeExchange) -> None:
        fake.on("GET", "/api/v3/brokerage/orders/historical/batch", batch([]))

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        # No lookup by client id exists: the product's recent orders, matched here.
        looked = fake.requests_to("/api/v3/brokerage/orders/historical/.*", "GET")
        assert looked
        assert all(request.path.endswith("/batch") for request in looked)
        assert all(request.query["product_id"] == "BTC-USD" for request in looked)

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on(
            "POST",
            "/api/v3/brokerage/orders/batch_cancel",
            {
                "results": [
                    {
                        "success": True,
                        "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON",
                        "order_id": ORDER_ID,
                    },
                ]
            },
        )
        fake.on(
            "GET",
            f"/api/v3/brokerage/orders/historical/{ORDER_ID}",
            {"order": cba_order(client_id, "CANCELLED", filled)},
        )
        self._fills(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/api/v3/brokerage/orders/historical/batch",
            batch([cba_order("desk-order-0001", "OPEN", "0")]),
        )
        fake.on(
            "POST",
            "/api/v3/brokerage/orders/batch_cancel",
            {
                "results": [
                    {
                        "success": True,
                        "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON",
                        "order_id": ORDER_ID,
                    },
                ]
            },
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/api/v3/brokerage/orders/batch_cancel", "POST")
        assert all(request.json["order_ids"] == [ORDER_ID] for request in sent)
        return sent

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "GET",
            "/api/v3/brokerage/orders/historical/batch",
            batch([cba_order(client_id, "OPEN", "0.004")]),
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        def account(currency: str, available: str, hold: str, kind: str) -> dict:
            return {
                "uuid": f"uuid-{currency}",
                "name": f"{currency} Wallet",
                "currency": currency,
                "available_balance": {"value": available, "currency": currency},
                "default": True,
                "active": True,
                "created_at": "2026-01-01T00:00:00Z",
                "updated_at": "2026-11-23T00:00:00Z",
                "deleted_at": None,
                "type": kind,
                "ready": True,
                "hold": {"value": hold, "currency": currency},
                "retail_portfolio_id": "portfolio-1",
            }

        fake.on(
            "GET",
            "/api/v3/brokerage/accounts",
            {
                "accounts": [
                    account("BTC", "0.4012", "0.8423", "ACCOUNT_TYPE_CRYPTO"),
                    account("USD", "17185.45", "8249.76", "ACCOUNT_TYPE_FIAT"),
                ],
                "has_next": False,
                "cursor": "",
                "size": 2,
            },
        )
        return [
            ("BTC", "BTC", D("1.2435"), D("0.4012"), D("0.8423"), D("50303.20")),
            ("USD", "USD", D("25435.21"), D("17185.45"), D("8249.76"), D("1")),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fills = [cba_fill("t-1", "0.004", "MAKER"), cba_fill("t-2", "0.006", "TAKER")]
        fake.on("GET", "/api/v3/brokerage/orders/historical/fills", {"fills": fills, "cursor": ""})
        return [
            ("t-1", ORDER_ID, D("50000"), D("0.004"), D("0.32"), "MAKER"),
            ("t-2", ORDER_ID, D("50000"), D("0.006"), D("0.32"), "TAKER"),
        ]
