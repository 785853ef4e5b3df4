"""Binance spot REST (developers.binance.com): answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, Script

ORDER_ID = 28


def binance_order(client_id: str, status: str, filled: str, **extra) -> dict:
    return {
        "symbol": "BTCUSDT",
        "orderId": ORDER_ID,
        "orderListId": -1,
        "clientOrderId": client_id,
        "price": "50000.00000000",
        "origQty": "0.01000000",
        "executedQty": filled,
        "cummulativeQuoteQty": str(D(filled) * 50000),
        "status": status,
        "timeInForce": "GTC",
        "type": "LIMIT",
        "side": "BUY",
        "stopPrice": "0.00000000",
        "icebergQty": "0.00000000",
        "time": 1795400000123,
        "updateTime": 1795400100123,
        "isWorking": True,
        "workingTime": 1795400000123,
        "origQuoteOrderQty": "0.00000000",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        **extra,
    }


def binance_trade(trade_id: int, amount: str, maker: bool) -> dict:
    return {
        "symbol": "BTCUSDT",
        "id": trade_id,
        "orderId": ORDER_ID,
        "orderListId": -1,
        "price": "50000.00000000",
        "qty": amount,
        "quoteQty": str(D(amount) * 50000),
        "commission": "0.32000000",
        "commissionAsset": "USDT",
        "time": 1795400050880 + trade_id,
        "isBuyer": True,
        "isMaker": maker,
        "isBestMatch": True,
    }


class Binance(Script):
    code = "BINANCE"
    credentials = {
        "PublicApiKey": "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
        "PrivateApiKey": "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j",
    }
    symbol = "BTCUSDT"
    base, quote = "BTC", "USDT"
    tick, lot, min_amount = D("0.01"), D("0.00001"), D("0.00001")
    create = ("POST", "/api/v3/order")
    exchange_order_id = str(ORDER_ID)
    refusals = {
        "insufficient funds": (
            400,
            {"code": -2010, "msg": "Account has insufficient balance for requested action."},
        ),
        "bad key": (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}),
        "invalid order": (400, {"code": -1013, "msg": "Filter failure: PRICE_FILTER"}),
        "outside the receive window": (
            400,
            {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."},
        ),
        "an error ccxt does not know": (400, {"code": -1199, "msg": "Something new."}),
    }
    unknowns = {
        "send status unknown": (
            503,
            {
                "code": -1007,
                "msg": "Timeout waiting for response from backend server. "
                "Send status unknown; execution status unknown.",
            },
        ),
        "duplicate order": (400, {"code": -2010, "msg": "Duplicate order sent."}),
    }
    rate_limited = (429, {"code": -1003, "msg": "Too much request weight used."})
    time_in_force = {
        "GOOD_TILL_CANCEL": {"type": "LIMIT", "timeInForce": "GTC"},
        "IMMEDIATE_OR_CANCEL": {"type": "LIMIT", "timeInForce": "IOC"},
        "FILL_OR_KILL": {"type": "LIMIT", "timeInForce": "FOK"},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"type": "LIMIT_MAKER"},
    }

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/api/v3/exchangeInfo",
            {
                "timezone": "UTC",
                "serverTime": 1795400000000,
                "rateLimits": [],
                "exchangeFilters": [],
                "symbols": [
                    {
                        "symbol": "BTCUSDT",
                        "status": "TRADING",
                        "baseAsset": "BTC",
                        "baseAssetPrecision": 8,
                        "quoteAsset": "USDT",
                        "quotePrecision": 8,
                        "quoteAssetPrecision": 8,
                        "baseCommissionPrecision": 8,
                        "quoteCommissionPrecision": 8,
                        "orderTypes": [
                            "LIMIT",
                            "LIMIT_MAKER",
                            "MARKET",
                            "STOP_LOSS_LIMIT",
                            "TAKE_PROFIT_LIMIT",
                        ],
                        "icebergAllowed": True,
                        "ocoAllowed": True,
                        "otoAllowed": True,
                        "quoteOrderQtyMarketAllowed": True,
                        "allowTrailingStop": True,
                        "cancelReplaceAllowed": True,
                        "isSpotTradingAllowed": True,
                        "isMarginTradingAllowed": False,
                        "filters": [
                            {
                                "filterType": "PRICE_FILTER",
                                "minPrice": "0.01000000",
                                "maxPrice": "1000000.00000000",
                                "tickSize": "0.01000000",
                            },
                            {
                                "filterType": "LOT_SIZE",
                                "minQty": "0.00001000",
                                "maxQty": "9000.00000000",
                                "stepSize": "0.00001000",
                            },
                            {
                                "filterType": "NOTIONAL",
                                "minNotional": "5.00000000",
                                "applyMinToMarket": True,
                                "maxNotional": "9000000.00000000",
                                "applyMaxToMarket": False,
                                "avgPriceMins": 5,
                            },
                        ],
                        "permissions": [],
                        "permissionSets": [["SPOT"]],
                        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
                        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER"],
                    }
                ],
            },
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.params["newClientOrderId"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.params["quantity"], request.params["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        return {
            key: request.params[key] for key in ("type", "timeInForce") if key in request.params
        }

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST",
            "/api/v3/order",
            binance_order(client_id, "NEW", "0.00000000", transactTime=1795400000123, fills=[]),
        )

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        binance_status = {"open": "NEW", "canceled": "CANCELED", "filled": "FILLED"}[status]
        fake.on("GET", "/api/v3/order", binance_order(client_id, binance_status, filled))
        self._trades(fake, filled)

    def _trades(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        trades = [binance_trade(1000 + i, amount, True) for i, amount in enumerate(amounts)]
        fake.on("GET", "/api/v3/myTrades", trades)

    def missing(self, fake: FakeExchange) -> None:
        fake.on("GET", "/api/v3/order", {"code": -2013, "msg": "Order does not exist."}, status=400)

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to("/api/v3/order", "GET")
        assert looked.query["origClientOrderId"] == client_id
        assert looked.query["symbol"] == "BTCUSDT"
        assert "orderId" not in looked.query

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on(
            "DELETE",
            "/api/v3/order",
            binance_order(
                "cancel-by-someone",
                "CANCELED",
                filled,
                origClientOrderId=client_id,
                transactTime=1795400100123,
            ),
        )
        self._trades(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on("GET", "/api/v3/openOrders", [binance_order("desk-order-0001", "NEW", "0")])
        fake.on(
            "DELETE",
            "/api/v3/openOrders",
            [
                binance_order(
                    "cancel-all",
                    "CANCELED",
                    "0.00000000",
                    origClientOrderId="desk-order-0001",
                )
            ],
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/api/v3/openOrders", "DELETE")
        assert all(request.query["symbol"] == "BTCUSDT" for request in sent)
        return sent

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "GET",
            "/api/v3/openOrders",
            [binance_order(client_id, "PARTIALLY_FILLED", "0.00400000")],
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/api/v3/account",
            {
                "makerCommission": 15,
                "takerCommission": 15,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "canTrade": True,
                "canWithdraw": False,
                "canDeposit": True,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": 1795400000000,
                "accountType": "SPOT",
                "balances": [
                    {"asset": "BTC", "free": "0.40120000", "locked": "0.84230000"},
                    {"asset": "USDT", "free": "17185.45000000", "locked": "8249.76000000"},
                    {"asset": "ETH", "free": "0.00000000", "locked": "0.00000000"},
                ],
                "permissions": ["SPOT"],
                "uid": 354937868,
            },
        )
        # No BTC/USD or USDT/USD market here: no USD route, so no rate.
        return [
            ("BTC", "BTC", D("1.2435"), D("0.4012"), D("0.8423"), None),
            ("USDT", "USDT", D("25435.21"), D("17185.45"), D("8249.76"), None),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/api/v3/myTrades",
            [binance_trade(1000, "0.004", True), binance_trade(1001, "0.006", False)],
        )
        return [
            ("1000", str(ORDER_ID), D("50000"), D("0.004"), D("0.32"), "MAKER"),
            ("1001", str(ORDER_ID), D("50000"), D("0.006"), D("0.32"), "TAKER"),
        ]
