"""Binance USDⓈ-M futures REST (developers.binance.com, derivatives/usds-margined-futures):
answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, DerivativesScript

ORDER_ID = 8389765519


def fapi_order(client_id: str, status: str, filled: str, **extra) -> dict:
    """GET/POST/DELETE /fapi/v1/order: the order, as each of them answers it."""
    executed = D(filled)
    return {
        "avgPrice": "50000.00" if executed else "0.00",
        "clientOrderId": client_id,
        "cumQuote": str(executed * 50000),
        "executedQty": filled,
        "orderId": ORDER_ID,
        "origQty": "0.010",
        "origType": "LIMIT",
        "price": "50000.00",
        "reduceOnly": False,
        "side": "BUY",
        "positionSide": "BOTH",
        "status": status,
        "stopPrice": "0.00",
        "closePosition": False,
        "symbol": "BTCUSDT",
        "time": 1795400000123,
        "timeInForce": "GTC",
        "type": "LIMIT",
        "activatePrice": "0.00",
        "priceRate": "0.0",
        "updateTime": 1795400100123,
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "priceMatch": "NONE",
        "selfTradePreventionMode": "EXPIRE_MAKER",
        "goodTillDate": 0,
        **extra,
    }


def fapi_trade(trade_id: int, amount: str, maker: bool) -> dict:
    """GET /fapi/v1/userTrades."""
    return {
        "buyer": True,
        "commission": "0.08000000",
        "commissionAsset": "USDT",
        "id": trade_id,
        "maker": maker,
        "orderId": ORDER_ID,
        "price": "50000.00",
        "qty": amount,
        "quoteQty": str(D(amount) * 50000),
        "realizedPnl": "0",
        "side": "BUY",
        "positionSide": "BOTH",
        "symbol": "BTCUSDT",
        "time": 1795400050880 + trade_id,
    }


def fapi_symbol(symbol: str, contract_type: str, delivery: int) -> dict:
    """One symbol of GET /fapi/v1/exchangeInfo."""
    base = symbol.removesuffix("USDT").split("USDT_")[0]
    return {
        "symbol": symbol,
        "pair": f"{base}USDT",
        "contractType": contract_type,
        "deliveryDate": delivery,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": base,
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": 2,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": ["PoW"],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": "556.80",
                "maxPrice": "4529764",
                "tickSize": "0.10",
            },
            {"filterType": "LOT_SIZE", "minQty": "0.001", "maxQty": "1000", "stepSize": "0.001"},
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.001",
                "maxQty": "120",
                "stepSize": "0.001",
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def position_risk(symbol: str, amount: str, *, leverage: str, margin_type: str) -> dict:
    """One row of GET /fapi/v2/positionRisk (one-way mode: positionSide BOTH)."""
    isolated = margin_type == "isolated"
    return {
        "entryPrice": "50000.0",
        "breakEvenPrice": "50020.0",
        "marginType": margin_type,
        "isAutoAddMargin": "false",
        "isolatedMargin": "50.12000000" if isolated else "0.00000000",
        "leverage": leverage,
        "liquidationPrice": "45512.30" if D(amount) > 0 else "54487.70",
        "markPrice": "50100.00000000",
        "maxNotionalValue": "80000000",
        "positionAmt": amount,
        "notional": str(D(amount) * 50100),
        "isolatedWallet": "50.00000000" if isolated else "0",
        "symbol": symbol,
        "unRealizedProfit": str(D(amount) * 100),
        "positionSide": "BOTH",
        "updateTime": 1795400100123,
    }


class BinanceFts(DerivativesScript):
    code = "BINANCEFTS"
    credentials = {
        "PublicApiKey": "dbefbc809e3e83c283a984c3a1459732ea7db1360ca80c5c2c8867408d28cc83",
        "PrivateApiKey": "2b5eb11e18796d12d88f13dc27dbbd02c2cc51ff7059765ed9821957d82bb4d9",
    }
    symbol = "BTCUSDT"
    base, quote = "BTC", "USDT"
    tick, lot, min_amount = D("0.1"), D("0.001"), D("0.001")
    create = ("POST", "/fapi/v1/order")
    exchange_order_id = str(ORDER_ID)
    refusals = {
        "insufficient margin": (400, {"code": -2019, "msg": "Margin is insufficient."}),
        "bad key": (401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}),
        "reduce-only would increase": (
            400,
            {"code": -2022, "msg": "ReduceOnly Order is rejected."},
        ),
        "invalid order": (400, {"code": -4014, "msg": "Price not increased by tick size."}),
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
    }
    rate_limited = (429, {"code": -1003, "msg": "Too many requests; current limit is 2400."})
    server_error = (502, "<html>502 Bad Gateway</html>")
    time_in_force = {
        "GOOD_TILL_CANCEL": {"type": "LIMIT", "timeInForce": "GTC"},
        "IMMEDIATE_OR_CANCEL": {"type": "LIMIT", "timeInForce": "IOC"},
        "FILL_OR_KILL": {"type": "LIMIT", "timeInForce": "FOK"},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"type": "LIMIT", "timeInForce": "GTX"},
    }
    # Derivatives
    future_symbol = "BTCUSDT_261225"
    other_asset_symbol = "DOGEUSDT"
    perpetual_coinapi = "BINANCEFTS_PERP_BTC_USDT"
    future_coinapi = "BINANCEFTS_FTS_BTC_USDT_261225"
    contract_size = D(1)
    settlement = "USDT"
    leverage_paths = (("POST", "/fapi/v1/marginType"), ("POST", "/fapi/v1/leverage"))

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/fapi/v1/exchangeInfo",
            {
                "exchangeFilters": [],
                "rateLimits": [],
                "serverTime": 1795400000000,
                "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "0"}],
                "symbols": [
                    fapi_symbol("BTCUSDT", "PERPETUAL", 4133404800000),
                    fapi_symbol("BTCUSDT_261225", "CURRENT_QUARTER", 1798185600000),
                    fapi_symbol("DOGEUSDT", "PERPETUAL", 4133404800000),
                ],
                "timezone": "UTC",
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

    def reduce_only_sent(self, request: Sent) -> bool:
        return request.params.get("reduceOnly") == "true"

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on("POST", "/fapi/v1/order", fapi_order(client_id, "NEW", "0.000"))

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        fapi_status = {"open": "NEW", "canceled": "CANCELED", "filled": "FILLED"}[status]
        fake.on("GET", "/fapi/v1/order", fapi_order(client_id, fapi_status, filled))
        self._trades(fake, filled)

    def _trades(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        trades = [fapi_trade(1000 + i, amount, True) for i, amount in enumerate(amounts)]
        fake.on("GET", "/fapi/v1/userTrades", trades)

    def missing(self, fake: FakeExchange) -> None:
        fake.on(
            "GET", "/fapi/v1/order", {"code": -2013, "msg": "Order does not exist."}, status=400
        )

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to("/fapi/v1/order", "GET")
        assert looked.query["origClientOrderId"] == client_id
        assert looked.query["symbol"] == "BTCUSDT"
        assert "orderId" not in looked.query

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on("DELETE", "/fapi/v1/order", fapi_order(client_id, "CANCELED", filled))
        self._trades(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on("GET", "/fapi/v1/openOrders", [fapi_order("desk-order-0001", "NEW", "0")])
        fake.on(
            "DELETE",
            "/fapi/v1/allOpenOrders",
            {"code": 200, "msg": "The operation of cancel all open order is done."},
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/fapi/v1/allOpenOrders", "DELETE")
        assert all(request.query["symbol"] == "BTCUSDT" for request in sent)
        return sent

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "GET",
            "/fapi/v1/openOrders",
            [fapi_order(client_id, "PARTIALLY_FILLED", "0.004")],
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        # GET /fapi/v3/account: the margin wallet per asset.
        fake.on(
            "GET",
            "/fapi/v3/account",
            {
                "totalInitialMargin": "1002.00000000",
                "totalMaintMargin": "20.04000000",
                "totalWalletBalance": "25435.21000000",
                "totalUnrealizedProfit": "1.00000000",
                "totalMarginBalance": "25436.21000000",
                "totalPositionInitialMargin": "501.00000000",
                "totalOpenOrderInitialMargin": "501.00000000",
                "totalCrossWalletBalance": "25435.21000000",
                "totalCrossUnPnl": "1.00000000",
                "availableBalance": "24434.21000000",
                "maxWithdrawAmount": "24434.21000000",
                "assets": [
                    {
                        "asset": "USDT",
                        "walletBalance": "25435.21000000",
                        "unrealizedProfit": "1.00000000",
                        "marginBalance": "25436.21000000",
                        "maintMargin": "20.04000000",
                        "initialMargin": "1002.00000000",
                        "positionInitialMargin": "501.00000000",
                        "openOrderInitialMargin": "501.00000000",
                        "crossWalletBalance": "25435.21000000",
                        "crossUnPnl": "1.00000000",
                        "availableBalance": "24434.21000000",
                        "maxWithdrawAmount": "24434.21000000",
                        "updateTime": 1795400100123,
                    },
                    {
                        "asset": "BNB",
                        "walletBalance": "0.00000000",
                        "unrealizedProfit": "0.00000000",
                        "marginBalance": "0.00000000",
                        "maintMargin": "0.00000000",
                        "initialMargin": "0.00000000",
                        "positionInitialMargin": "0.00000000",
                        "openOrderInitialMargin": "0.00000000",
                        "crossWalletBalance": "0.00000000",
                        "crossUnPnl": "0.00000000",
                        "availableBalance": "0.00000000",
                        "maxWithdrawAmount": "0.00000000",
                        "updateTime": 0,
                    },
                ],
                "positions": [],
            },
        )
        # ccxt: the margin balance (wallet and unrealized PnL), what is available, the initial
        # margin held by positions and orders.
        return [("USDT", "USDT", D("25436.21"), D("24434.21"), D("1002"), None)]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/fapi/v1/userTrades",
            [fapi_trade(1000, "0.004", True), fapi_trade(1001, "0.006", False)],
        )
        return [
            ("1000", str(ORDER_ID), D("50000"), D("0.004"), D("0.08"), "MAKER"),
            ("1001", str(ORDER_ID), D("50000"), D("0.006"), D("0.08"), "TAKER"),
        ]

    def positions(self, fake: FakeExchange) -> list[tuple]:
        # ccxt reads the leverage brackets once, for the maintenance margin of each position.
        fake.on(
            "GET",
            "/fapi/v1/leverageBracket",
            [
                {
                    "symbol": symbol,
                    "notionalCoef": 1.0,
                    "brackets": [
                        {
                            "bracket": 1,
                            "initialLeverage": 125,
                            "notionalCap": 50000,
                            "notionalFloor": 0,
                            "maintMarginRatio": 0.004,
                            "cum": 0.0,
                        }
                    ],
                }
                for symbol in ("BTCUSDT", "BTCUSDT_261225", "DOGEUSDT")
            ],
        )
        fake.on(
            "GET",
            "/fapi/v2/positionRisk",
            [
                position_risk("BTCUSDT", "0.010", leverage="10", margin_type="isolated"),
                position_risk("BTCUSDT_261225", "-0.020", leverage="5", margin_type="cross"),
            ],
        )
        # (symbol, size, entry, mark, leverage, cross, liquidation)
        return [
            ("BTCUSDT", D("0.01"), D(50000), D(50100), D(10), False, D("45512.3")),
            ("BTCUSDT_261225", D("-0.02"), D(50000), D(50100), D(5), True, D("54487.7")),
        ]

    def positions_requests(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to("/fapi/v2/positionRisk", "GET")

    def leverage_set(self, fake: FakeExchange) -> None:
        fake.on("POST", "/fapi/v1/marginType", {"code": 200, "msg": "success"})
        fake.on(
            "POST",
            "/fapi/v1/leverage",
            {"leverage": 20, "maxNotionalValue": "1000000", "symbol": "BTCUSDT"},
        )

    def leverage_sent(self, fake: FakeExchange) -> dict:
        [mode] = fake.requests_to("/fapi/v1/marginType", "POST")
        [leverage] = fake.requests_to("/fapi/v1/leverage", "POST")
        assert mode.params["symbol"] == leverage.params["symbol"] == "BTCUSDT"
        return {"leverage": leverage.params["leverage"], "cross": mode.params["marginType"]}

    leverage_expected = {"leverage": "20", "cross": "CROSSED"}
