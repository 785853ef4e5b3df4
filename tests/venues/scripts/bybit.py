"""Bybit v5 REST, linear category, unified trading account (bybit-exchange.github.io/docs/v5):
answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, DerivativesScript

ORDER_ID = "1321003749386327552"


def ok(result) -> dict:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": 1795400100123}


def failed(code: int, message: str) -> dict:
    return {
        "retCode": code,
        "retMsg": message,
        "result": {},
        "retExtInfo": {},
        "time": 1795400100123,
    }


def bybit_order(client_id: str, status: str, filled: str, **extra) -> dict:
    """One order of GET /v5/order/realtime and /v5/order/history."""
    executed = D(filled)
    return {
        "orderId": ORDER_ID,
        "orderLinkId": client_id,
        "blockTradeId": "",
        "symbol": "BTCUSDT",
        "price": "50000.00",
        "qty": "0.010",
        "side": "Buy",
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": status,
        "cancelType": "UNKNOWN" if status != "Cancelled" else "CancelByUser",
        "rejectReason": "EC_NoError",
        "avgPrice": "50000" if executed else "",
        "leavesQty": str(D("0.010") - executed) if status in ("New", "PartiallyFilled") else "0",
        "leavesValue": "0",
        "cumExecQty": filled,
        "cumExecValue": str(executed * 50000),
        "cumExecFee": str(executed * 20),
        "timeInForce": "GTC",
        "orderType": "Limit",
        "stopOrderType": "",
        "orderIv": "",
        "triggerPrice": "0.00",
        "takeProfit": "0.00",
        "stopLoss": "0.00",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "",
        "lastPriceOnCreated": "",
        "reduceOnly": False,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "",
        "slLimitPrice": "",
        "placeType": "",
        "createdTime": "1795400000123",
        "updatedTime": "1795400100123",
        **extra,
    }


def bybit_execution(exec_id: str, amount: str, maker: bool) -> dict:
    """One row of GET /v5/execution/list."""
    return {
        "symbol": "BTCUSDT",
        "orderType": "Limit",
        "underlyingPrice": "",
        "orderLinkId": "",
        "side": "Buy",
        "indexPrice": "",
        "orderId": ORDER_ID,
        "stopOrderType": "UNKNOWN",
        "leavesQty": "0",
        "execTime": "1795400050880",
        "feeCurrency": "",
        "isMaker": maker,
        "execFee": "0.08",
        "feeRate": "0.0002",
        "execId": exec_id,
        "tradeIv": "",
        "blockTradeId": "",
        "markPrice": "50010.00",
        "execPrice": "50000.00",
        "markIv": "",
        "orderQty": "0.010",
        "orderPrice": "50000.00",
        "execValue": str(D(amount) * 50000),
        "execType": "Trade",
        "execQty": amount,
        "closedSize": "",
        "seq": 4688002127,
    }


def bybit_instrument(symbol: str, contract_type: str, delivery: str, base: str) -> dict:
    """One instrument of GET /v5/market/instruments-info?category=linear."""
    return {
        "symbol": symbol,
        "contractType": contract_type,
        "status": "Trading",
        "baseCoin": base,
        "quoteCoin": "USDT",
        "launchTime": "1585526400000",
        "deliveryTime": delivery,
        "deliveryFeeRate": "" if delivery == "0" else "0.0005",
        "priceScale": "2",
        "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
        "priceFilter": {"minPrice": "0.10", "maxPrice": "1999999.80", "tickSize": "0.10"},
        "lotSizeFilter": {
            "maxOrderQty": "1190.000",
            "minOrderQty": "0.001",
            "qtyStep": "0.001",
            "postOnlyMaxOrderQty": "1190.000",
            "maxMktOrderQty": "500.000",
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480 if delivery == "0" else 0,
        "settleCoin": "USDT",
        "copyTrading": "both",
        "upperFundingRate": "0.00375",
        "lowerFundingRate": "-0.00375",
        "isPreListing": False,
        "preListingInfo": None,
    }


def bybit_position(symbol: str, side: str, size: str, *, leverage: str, trade_mode: int) -> dict:
    """One row of GET /v5/position/list."""
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": symbol,
        "side": side,
        "size": size,
        "avgPrice": "50000",
        "positionValue": str(D(size) * 50000),
        "tradeMode": trade_mode,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2,
        "leverage": leverage,
        "positionBalance": "50.12",
        "markPrice": "50100.00",
        "liqPrice": "45512.30" if side == "Buy" else "54487.70",
        "bustPrice": "45262.30",
        "positionMM": "2.505",
        "positionMMByMp": "2.505",
        "positionIM": "50.12",
        "positionIMByMp": "50.12",
        "tpslMode": "Full",
        "takeProfit": "0.00",
        "stopLoss": "0.00",
        "trailingStop": "0.00",
        "unrealisedPnl": "1",
        "curRealisedPnl": "-0.1",
        "cumRealisedPnl": "-0.1",
        "seq": 5723621632,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "sessionAvgPrice": "",
        "createdTime": "1795400000123",
        "updatedTime": "1795400100123",
    }


class Bybit(DerivativesScript):
    code = "BYBIT"
    credentials = {
        "PublicApiKey": "XXXXXXXXXXd9Y5WuyS",
        "PrivateApiKey": "XXXXXXXXXXPmN2m0yf0ymXe8n3v9ZVQqaJqC",
    }
    symbol = "BTCUSDT"
    base, quote = "BTC", "USDT"
    tick, lot, min_amount = D("0.1"), D("0.001"), D("0.001")
    create = ("POST", "/v5/order/create")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient margin": (200, failed(110007, "ab not enough for new order")),
        "bad key": (200, failed(10003, "API key is invalid.")),
        "reduce-only would increase": (200, failed(110017, "Reduce-only rule not satisfied")),
        "invalid order": (200, failed(10001, "params error: price invalid")),
    }
    rate_limited = (200, failed(10006, "Too many visits. Exceeded the API Rate Limit."))
    server_error = (502, "<html>502 Bad Gateway</html>")
    time_in_force = {
        "GOOD_TILL_CANCEL": {"orderType": "Limit"},  # GTC when none is sent
        "IMMEDIATE_OR_CANCEL": {"orderType": "Limit", "timeInForce": "IOC"},
        "FILL_OR_KILL": {"orderType": "Limit", "timeInForce": "FOK"},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"orderType": "Limit", "timeInForce": "PostOnly"},
    }
    future_symbol = "BTCUSDT-26DEC26"
    other_asset_symbol = "DOGEUSDT"
    perpetual_coinapi = "BYBIT_PERP_BTC_USDT"
    future_coinapi = "BYBIT_FTS_BTC_USDT_261226"
    contract_size = D(1)
    settlement = "USDT"

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/v5/market/instruments-info",
            ok(
                {
                    "category": "linear",
                    "list": [
                        bybit_instrument("BTCUSDT", "LinearPerpetual", "0", "BTC"),
                        bybit_instrument(
                            "BTCUSDT-26DEC26", "LinearFutures", "1798272000000", "BTC"
                        ),
                        bybit_instrument("DOGEUSDT", "LinearPerpetual", "0", "DOGE"),
                    ],
                    "nextPageCursor": "",
                }
            ),
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.json["orderLinkId"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.json["qty"], request.json["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        return {
            key: request.json[key] for key in ("orderType", "timeInForce") if key in request.json
        }

    def reduce_only_sent(self, request: Sent) -> bool:
        return request.json.get("reduceOnly") is True

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on("POST", "/v5/order/create", ok({"orderId": ORDER_ID, "orderLinkId": client_id}))

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        bybit_status = {"open": "New", "canceled": "Cancelled", "filled": "Filled"}[status]
        order = bybit_order(client_id, bybit_status, filled)
        fake.on(
            "GET",
            "/v5/order/realtime",
            ok({"list": [order], "nextPageCursor": "", "category": "linear"}),
        )
        self._executions(fake, filled)

    def _executions(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        rows = [bybit_execution(f"e0cbe81d-{i}", amount, True) for i, amount in enumerate(amounts)]
        fake.on(
            "GET",
            "/v5/execution/list",
            ok({"list": rows, "nextPageCursor": "", "category": "linear"}),
        )

    def missing(self, fake: FakeExchange) -> None:
        empty = ok({"list": [], "nextPageCursor": "", "category": "linear"})
        fake.on("GET", "/v5/order/realtime", empty)
        fake.on("GET", "/v5/order/history", empty)

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        looked = fake.requests_to("/v5/order/(realtime|history)", "GET")
        assert looked
        for request in looked:
            assert request.query["orderLinkId"] == client_id
            assert request.query["category"] == "linear"
            assert request.query["symbol"] == "BTCUSDT"
            assert "orderId" not in request.query

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on("POST", "/v5/order/cancel", ok({"orderId": ORDER_ID, "orderLinkId": client_id}))
        order = bybit_order(client_id, "Cancelled", filled)
        fake.on(
            "GET",
            "/v5/order/realtime",
            ok({"list": [order], "nextPageCursor": "", "category": "linear"}),
        )
        self._executions(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            "/v5/order/cancel-all",
            ok({"list": [{"orderId": ORDER_ID, "orderLinkId": "desk-order-0001"}], "success": "1"}),
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/v5/order/cancel-all", "POST")
        assert all(request.json["category"] == "linear" for request in sent)
        return sent

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        order = bybit_order(client_id, "PartiallyFilled", "0.004")
        fake.on(
            "GET",
            "/v5/order/realtime",
            ok({"list": [order], "nextPageCursor": "", "category": "linear"}),
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/v5/account/wallet-balance",
            ok(
                {
                    "list": [
                        {
                            "totalEquity": "25436.21",
                            "accountIMRate": "0.0394",
                            "totalMarginBalance": "25436.21",
                            "totalInitialMargin": "1002",
                            "accountType": "UNIFIED",
                            "totalAvailableBalance": "24434.21",
                            "accountMMRate": "0.0008",
                            "totalPerpUPL": "1",
                            "totalWalletBalance": "25435.21",
                            "accountLTV": "0",
                            "totalMaintenanceMargin": "20.04",
                            "coin": [
                                {
                                    "availableToBorrow": "",
                                    "bonus": "0",
                                    "accruedInterest": "0",
                                    "availableToWithdraw": "24434.21",
                                    "totalOrderIM": "501",
                                    "equity": "25436.21",
                                    "totalPositionMM": "20.04",
                                    "usdValue": "25433.67",
                                    "spotHedgingQty": "0",
                                    "unrealisedPnl": "1",
                                    "collateralSwitch": True,
                                    "borrowAmount": "0",
                                    "totalPositionIM": "501",
                                    "walletBalance": "25435.21",
                                    "cumRealisedPnl": "-0.1",
                                    "locked": "0",
                                    "marginCollateral": True,
                                    "coin": "USDT",
                                }
                            ],
                        }
                    ]
                }
            ),
        )
        # ccxt: the wallet balance, what can be withdrawn, and the rest as held.
        return [("USDT", "USDT", D("25435.21"), D("24434.21"), D("1001"), None)]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        rows = [
            bybit_execution("exec-1000", "0.004", True),
            bybit_execution("exec-1001", "0.006", False),
        ]
        fake.on(
            "GET",
            "/v5/execution/list",
            ok({"list": rows, "nextPageCursor": "", "category": "linear"}),
        )
        return [
            ("exec-1000", ORDER_ID, D("50000"), D("0.004"), D("0.08"), "MAKER"),
            ("exec-1001", ORDER_ID, D("50000"), D("0.006"), D("0.08"), "TAKER"),
        ]

    def positions(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/v5/position/list",
            ok(
                {
                    "list": [
                        bybit_position("BTCUSDT", "Buy", "0.010", leverage="10", trade_mode=1),
                        bybit_position(
                            "BTCUSDT-26DEC26", "Sell", "0.020", leverage="5", trade_mode=0
                        ),
                    ],
                    "nextPageCursor": "",
                    "category": "linear",
                }
            ),
        )
        # The unified account's margin mode is every position's.
        fake.on(
            "GET",
            "/v5/account/info",
            ok(
                {
                    "marginMode": "REGULAR_MARGIN",
                    "updatedTime": "1795400000000",
                    "unifiedMarginStatus": 5,
                    "dcpStatus": "OFF",
                    "timeWindow": 10,
                    "smpGroup": 0,
                    "isMasterTrader": False,
                    "spotHedgingStatus": "OFF",
                }
            ),
        )
        return [
            ("BTCUSDT", D("0.01"), D(50000), D(50100), D(10), True, D("45512.3")),
            ("BTCUSDT-26DEC26", D("-0.02"), D(50000), D(50100), D(5), True, D("54487.7")),
        ]

    def positions_requests(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/v5/position/list", "GET")
        assert all(request.query["settleCoin"] == "USDT" for request in sent)
        return sent

    def leverage_set(self, fake: FakeExchange) -> None:
        fake.on("POST", "/v5/account/set-margin-mode", ok({"reasons": []}))
        fake.on("POST", "/v5/position/set-leverage", ok({}))

    def leverage_sent(self, fake: FakeExchange) -> dict:
        [mode] = fake.requests_to("/v5/account/set-margin-mode", "POST")
        [leverage] = fake.requests_to("/v5/position/set-leverage", "POST")
        assert leverage.json["symbol"] == "BTCUSDT" and leverage.json["category"] == "linear"
        assert leverage.json["buyLeverage"] == leverage.json["sellLeverage"]
        return {"leverage": str(leverage.json["buyLeverage"]), "cross": mode.json["setMarginMode"]}

    leverage_expected = {"leverage": "20", "cross": "REGULAR_MARGIN"}
