"""Kraken Futures REST v3 (docs.kraken.com/api-reference, futures): answers of the documented
shapes. Numbers are JSON numbers, as Kraken Futures writes them."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, DerivativesScript

API = "/derivatives/api/v3"
ORDER_ID = "179f9af8-e45e-469d-b3e9-2fd4675cb7d0"
PLACED = "2026-11-23T02:13:20.123Z"
FILLED = "2026-11-23T02:14:10.880Z"
SERVER_TIME = "2026-11-23T02:15:00.000Z"


def instrument(symbol: str, kind: str, *, expiry: str | None = None, cvtp: int = 4) -> dict:
    """One row of GET /instruments: PF_/FF_ are "flexible_futures" (multi-collateral, linear),
    PI_/FI_ "futures_inverse"."""
    row = {
        "symbol": symbol,
        "type": kind,
        "tradeable": True,
        "tickSize": 1,
        "contractSize": 1,
        "impactMidSize": 1,
        "maxPositionSize": 1000000,
        "openingDate": "2022-01-01T00:00:00.000Z",
        "marginLevels": [
            {"numNonContractUnits": 0, "initialMargin": 0.02, "maintenanceMargin": 0.01}
        ],
        "fundingRateCoefficient": 8,
        "maxRelativeFundingRate": 0.001,
        "isin": "GB00J62YGL67",
        "contractValueTradePrecision": cvtp,
        "postOnly": False,
        "feeScheduleUid": "eef90775-995b-4596-9257-0917f6134766",
        "retailMarginLevels": [
            {"numNonContractUnits": 0, "initialMargin": 0.5, "maintenanceMargin": 0.25}
        ],
        "category": "Layer 1",
        "tags": [],
    }
    if expiry:
        row["lastTradingTime"] = expiry
    return row


def order(client_id: str | None, filled: str, quantity: str = "0.01") -> dict:
    """The order inside an order event or a status row."""
    return {
        "orderId": ORDER_ID,
        "cliOrdId": client_id or None,
        "type": "lmt",
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "quantity": float(quantity),
        "filled": float(filled),
        "limitPrice": 50000.0,
        "reduceOnly": False,
        "timestamp": PLACED,
        "lastUpdateTimestamp": PLACED,
    }


def fill(fill_id: str, size: str, maker: bool, client_id: str | None = None) -> dict:
    """One row of GET /fills."""
    return {
        "fill_id": fill_id,
        "symbol": "PF_XBTUSD",
        "side": "buy",
        "order_id": ORDER_ID,
        "cliOrdId": client_id,
        "size": float(size),
        "price": 50000.0,
        "fillTime": FILLED,
        "fillType": "maker" if maker else "taker",
    }


def position(symbol: str, side: str, size: str, **extra) -> dict:
    """One row of GET /openpositions; an isolated one carries its maxFixedLeverage."""
    return {
        "side": side,
        "symbol": symbol,
        "price": 50000.0,
        "fillTime": FILLED,
        "size": float(size),
        "unrealizedFunding": -0.0001,
        "pnlCurrency": "USD",
        **extra,
    }


def error(name: str) -> dict:
    return {"result": "error", "serverTime": SERVER_TIME, "error": name}


def send_status(status: str, events: list) -> dict:
    """POST /sendorder's answer; a refusal is a status other than "placed", with no events."""
    return {
        "result": "success",
        "sendStatus": {
            "order_id": ORDER_ID,
            "status": status,
            "receivedTime": PLACED,
            "orderEvents": events,
        },
        "serverTime": SERVER_TIME,
    }


class KrakenFts(DerivativesScript):
    code = "KRAKENFTS"
    credentials = {
        "PublicApiKey": "kfDeskPublicKey0123456789abcdefghijklmnopqrstuvwx",
        "PrivateApiKey": "ZGVzay1rcmFrZW4tZnV0dXJlcy1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==",
    }
    symbol = "PF_XBTUSD"
    base, quote = "BTC", "USD"
    tick, lot, min_amount = D(1), D("0.0001"), D("0.0001")
    create = ("POST", f"{API}/sendorder")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient margin": (200, send_status("insufficientAvailableFunds", [])),
        "bad key": (200, error("authenticationError")),
        "reduce-only would increase": (200, send_status("wouldNotReducePosition", [])),
        "invalid order": (200, send_status("invalidPrice", [])),
    }
    rate_limited = (429, error("apiLimitExceeded"))
    server_error = (502, "<html>502 Bad Gateway</html>")
    time_in_force = {
        "GOOD_TILL_CANCEL": {"orderType": "lmt"},
        "IMMEDIATE_OR_CANCEL": {"orderType": "ioc"},
        "FILL_OR_KILL": "IMMEDIATE_OR_CANCEL",
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"orderType": "post"},
    }
    future_symbol = "FF_XBTUSD_261225"
    other_asset_symbol = "PF_DOGEUSD"
    perpetual_coinapi = "KRAKENFTS_PERP_BTC_USD"
    future_coinapi = "KRAKENFTS_FTS_BTC_USD_261225"
    contract_size = D(1)
    settlement = "USD"
    # The inverse contracts of the same pairs: listed by the exchange, never loaded.
    inverse_symbols = ("PI_XBTUSD", "FI_XBTUSD_261225")

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            f"{API}/instruments",
            {
                "result": "success",
                "instruments": [
                    instrument("PF_XBTUSD", "flexible_futures"),
                    instrument(
                        "FF_XBTUSD_261225", "flexible_futures", expiry="2026-12-25T16:00:00.000Z"
                    ),
                    instrument("PI_XBTUSD", "futures_inverse", cvtp=0),
                    instrument(
                        "FI_XBTUSD_261225",
                        "futures_inverse",
                        expiry="2026-12-25T16:00:00.000Z",
                        cvtp=0,
                    ),
                    instrument("PF_DOGEUSD", "flexible_futures", cvtp=0),
                ],
                "serverTime": SERVER_TIME,
            },
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.params["cliOrdId"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.params["size"], request.params["limitPrice"]

    def time_in_force_sent(self, request: Sent) -> dict:
        return {"orderType": request.params["orderType"]}

    def reduce_only_sent(self, request: Sent) -> bool:
        return request.params.get("reduceOnly") == "true"

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        event = {"order": order(client_id, "0"), "reducedQuantity": None, "type": "PLACE"}
        fake.on("POST", f"{API}/sendorder", send_status("placed", [event]))

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        kraken_status = {
            "open": "ENTERED_BOOK",
            "canceled": "CANCELLED",
            "filled": "FULLY_EXECUTED",
        }
        row = {
            "order": {"type": "ORDER", **order(client_id, filled)},
            "status": kraken_status[status],
            "updateReason": None,
            "error": None,
        }
        fake.on(
            "POST",
            f"{API}/orders/status",
            {"result": "success", "serverTime": SERVER_TIME, "orders": [row]},
        )
        self._fills(fake, filled)

    def _fills(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        rows = [
            fill(f"3d4b1d2c-0000-4000-8000-00000000000{i}", a, True) for i, a in enumerate(amounts)
        ]
        fake.on(
            "GET", f"{API}/fills", {"result": "success", "serverTime": SERVER_TIME, "fills": rows}
        )

    def missing(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            f"{API}/orders/status",
            {"result": "success", "serverTime": SERVER_TIME, "orders": []},
        )
        # Nor in the fills, which the lookup reads next: those there are another order's.
        other = {**fill("3d4b1d2c-0000-4000-8000-0000000000f1", "0.02", False), "order_id": "x"}
        fake.on(
            "GET",
            f"{API}/fills",
            {"result": "success", "serverTime": SERVER_TIME, "fills": [other]},
        )

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to(f"{API}/orders/status", "POST")
        assert looked.params["cliOrdIds"] == client_id
        assert "orderIds" not in looked.params

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on(
            "POST",
            f"{API}/cancelorder",
            {
                "result": "success",
                "cancelStatus": {
                    "status": "cancelled",
                    "order_id": ORDER_ID,
                    "receivedTime": SERVER_TIME,
                    "orderEvents": [
                        {"uid": ORDER_ID, "order": order(client_id, filled), "type": "CANCEL"}
                    ],
                },
                "serverTime": SERVER_TIME,
            },
        )
        self._fills(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            f"{API}/cancelallorders",
            {
                "result": "success",
                "cancelStatus": {
                    "receivedTime": SERVER_TIME,
                    "cancelOnly": "all",
                    "status": "cancelled",
                    "cancelledOrders": [{"order_id": ORDER_ID}],
                    "orderEvents": [
                        {"uid": ORDER_ID, "order": order("desk-order-0001", "0"), "type": "CANCEL"}
                    ],
                },
                "serverTime": SERVER_TIME,
            },
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to(f"{API}/cancelallorders", "POST")

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "GET",
            f"{API}/openorders",
            {
                "result": "success",
                "openOrders": [
                    {
                        "order_id": ORDER_ID,
                        "cliOrdId": client_id,
                        "symbol": "PF_XBTUSD",
                        "side": "buy",
                        "orderType": "lmt",
                        "limitPrice": 50000.0,
                        "unfilledSize": 0.006,
                        "receivedTime": PLACED,
                        "status": "partiallyFilled",
                        "filledSize": 0.004,
                        "reduceOnly": False,
                        "lastUpdateTime": FILLED,
                    }
                ],
                "serverTime": SERVER_TIME,
            },
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        # GET /accounts: the flex (multi-collateral) account is the margin of PF_/FF_ contracts.
        fake.on(
            "GET",
            f"{API}/accounts",
            {
                "result": "success",
                "accounts": {
                    "cash": {"balances": {"xbt": "0.0", "usd": "0.0"}, "type": "cashAccount"},
                    "fi_xbtusd": {
                        "auxiliary": {"usd": 0, "pv": 0.0, "pnl": 0.0, "af": 0.0, "funding": 0.0},
                        "marginRequirements": {"im": 0.0, "mm": 0.0, "lt": 0.0, "tt": 0.0},
                        "triggerEstimates": {"im": 0, "mm": 0, "lt": 0, "tt": 0},
                        "balances": {"xbt": 0.0},
                        "currency": "xbt",
                        "type": "marginAccount",
                    },
                    "flex": {
                        "currencies": {
                            "USD": {
                                "quantity": "25435.21",
                                "value": "25435.21",
                                "collateral": "25435.21",
                                "available": "24434.21",
                            },
                            "XBT": {
                                "quantity": "0.5",
                                "value": "25000.0",
                                "collateral": "23750.0",
                                "available": "0.5",
                            },
                        },
                        "initialMargin": "1001.0",
                        "initialMarginWithOrders": "1001.0",
                        "maintenanceMargin": "500.5",
                        "balanceValue": "50435.21",
                        "portfolioValue": "50436.21",
                        "collateralValue": "49185.21",
                        "pnl": "1.0",
                        "unrealizedFunding": "0.0",
                        "totalUnrealized": "1.0",
                        "totalUnrealizedAsMargin": "1.0",
                        "availableMargin": "48184.21",
                        "marginEquity": "49186.21",
                        "type": "multiCollateralMarginAccount",
                    },
                },
                "serverTime": SERVER_TIME,
            },
        )
        return [
            ("XBT", "BTC", D("0.5"), D("0.5"), D(0), None),
            ("usd", "USD", D("25435.21"), D("24434.21"), D("1001.00"), D(1)),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        ids = ["3d4b1d2c-0000-4000-8000-000000000010", "3d4b1d2c-0000-4000-8000-000000000011"]
        rows = [fill(ids[0], "0.004", True), fill(ids[1], "0.006", False)]
        fake.on(
            "GET", f"{API}/fills", {"result": "success", "serverTime": SERVER_TIME, "fills": rows}
        )
        # GET /fills carries no fee: none is made up.
        return [
            (ids[0], ORDER_ID, D("50000"), D("0.004"), D(0), "MAKER"),
            (ids[1], ORDER_ID, D("50000"), D("0.006"), D(0), "TAKER"),
        ]

    def positions(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            f"{API}/openpositions",
            {
                "result": "success",
                "openPositions": [
                    position("PF_XBTUSD", "long", "0.01", maxFixedLeverage=10.0),
                    position("FF_XBTUSD_261225", "short", "0.02"),
                    position("PI_XBTUSD", "long", "100", pnlCurrency="BTC"),  # not traded here
                ],
                "serverTime": SERVER_TIME,
            },
        )
        # (symbol, size, entry, mark, leverage, cross, liquidation): openpositions gives no mark
        # or liquidation price; a cross position has no leverage of its own.
        return [
            ("PF_XBTUSD", D("0.01"), D(50000), D(0), D(10), False, None),
            ("FF_XBTUSD_261225", D("-0.02"), D(50000), D(0), D(1), True, None),
        ]

    def positions_requests(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to(f"{API}/openpositions", "GET")

    def leverage_set(self, fake: FakeExchange) -> None:
        fake.on(
            "PUT", f"{API}/leveragepreferences", {"result": "success", "serverTime": SERVER_TIME}
        )

    def leverage_sent(self, fake: FakeExchange) -> dict:
        [preference] = fake.requests_to(f"{API}/leveragepreferences", "PUT")
        return {
            "symbol": preference.params["symbol"],
            "maxLeverage": preference.params.get("maxLeverage"),
        }

    # Cross: the preference without a maxLeverage (a maxLeverage would make it isolated).
    leverage_expected = {"symbol": "PF_XBTUSD", "maxLeverage": None}
