"""Kraken spot REST (docs.kraken.com/api): answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, Script

ORDER_ID = "OQCLML-BW3P3-BUCMWZ"
TRADE_IDS = ["THVRQM-33VKH-UCI7BS", "TCCCTY-WE2O6-P3NB37"]


def ok(result) -> dict:
    return {"error": [], "result": result}


def kraken_order(client_id: str, status: str, filled: str) -> dict:
    executed = D(filled)
    order = {
        "refid": None,
        "userref": 0,
        "cl_ord_id": client_id,
        "status": status,
        "opentm": 1795400000.1234,
        "starttm": 0,
        "expiretm": 0,
        "descr": {
            "pair": "XBTUSD",
            "type": "buy",
            "ordertype": "limit",
            "price": "50000.0",
            "price2": "0",
            "leverage": "none",
            "order": "buy 0.01000000 XBTUSD @ limit 50000.0",
            "close": "",
        },
        "vol": "0.01000000",
        "vol_exec": filled,
        "cost": str(executed * 50000),
        "fee": "0.00000",
        "price": "50000.0" if executed else "0.00000",
        "stopprice": "0.00000",
        "limitprice": "0.00000",
        "misc": "",
        "oflags": "fciq",
    }
    if executed:
        order["trades"] = TRADE_IDS[:1] if executed < D("0.01") else TRADE_IDS
    if status != "open":
        order.update(closetm=1795400100.5, reason=None)
    return order


def kraken_trade(trade_id: str, amount: str, maker: bool) -> dict:
    return {
        "ordertxid": ORDER_ID,
        "postxid": "TKH2SE-M7IF5-CFI7LT",
        "pair": "XXBTZUSD",
        "time": 1795400050.8802,
        "type": "buy",
        "ordertype": "limit",
        "price": "50000.00000",
        "cost": str(D(amount) * 50000),
        "fee": "0.32000",
        "vol": amount,
        "margin": "0.00000",
        "maker": maker,
        "misc": "",
    }


class Kraken(Script):
    code = "KRAKEN"
    credentials = {
        "PublicApiKey": "kraken-public-key-7d3f9a",
        "PrivateApiKey": "a3Jha2VuLXByaXZhdGUtc2VjcmV0LXZhbHVlLTEyMzQ1Njc4OTA=",
    }
    symbol = "XXBTZUSD"
    tick, lot, min_amount = D("0.1"), D("0.00000001"), D("0.0001")
    create = ("POST", "/0/private/AddOrder")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient funds": (200, {"error": ["EOrder:Insufficient funds"]}),
        "bad key": (200, {"error": ["EAPI:Invalid key"]}),
        "invalid order": (200, {"error": ["EGeneral:Invalid arguments:volume"]}),
        "invalid nonce": (200, {"error": ["EAPI:Invalid nonce"]}),
        "permission denied": (200, {"error": ["EGeneral:Permission denied"]}),
        "an error ccxt does not know": (200, {"error": ["EOrder:Something new"]}),
    }
    unknowns = {"internal error": (200, {"error": ["EGeneral:Internal error"]})}
    rate_limited = (200, {"error": ["EAPI:Rate limit exceeded"]})
    time_in_force = {
        "GOOD_TILL_CANCEL": {},
        "IMMEDIATE_OR_CANCEL": {"timeinforce": "IOC"},
        "GOOD_TILL_TIME_EXCHANGE": {"timeinforce": "GTD", "expiretm": "1800000000"},
        "FILL_OR_KILL": "FILL_OR_KILL",
        "post_only": {"oflags": "post"},
    }

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/0/public/Assets",
            ok(
                {
                    "XXBT": {
                        "aclass": "currency",
                        "altname": "XBT",
                        "decimals": 10,
                        "display_decimals": 5,
                        "status": "enabled",
                    },
                    "ZUSD": {
                        "aclass": "currency",
                        "altname": "USD",
                        "decimals": 4,
                        "display_decimals": 2,
                        "status": "enabled",
                    },
                }
            ),
        )
        fake.on(
            "GET",
            "/0/public/AssetPairs",
            ok(
                {
                    "XXBTZUSD": {
                        "altname": "XBTUSD",
                        "wsname": "XBT/USD",
                        "aclass_base": "currency",
                        "base": "XXBT",
                        "aclass_quote": "currency",
                        "quote": "ZUSD",
                        "lot": "unit",
                        "cost_decimals": 5,
                        "pair_decimals": 1,
                        "lot_decimals": 8,
                        "lot_multiplier": 1,
                        "leverage_buy": [],
                        "leverage_sell": [],
                        "fees": [[0, 0.26]],
                        "fees_maker": [[0, 0.16]],
                        "fee_volume_currency": "ZUSD",
                        "margin_call": 80,
                        "margin_stop": 40,
                        "ordermin": "0.0001",
                        "costmin": "0.5",
                        "tick_size": "0.1",
                        "status": "online",
                    },
                }
            ),
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.form["cl_ord_id"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.form["volume"], request.form["price"]

    def time_in_force_sent(self, request: Sent) -> dict:
        keys = ("timeinforce", "expiretm", "oflags")
        return {key: request.form[key] for key in keys if key in request.form}

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST",
            "/0/private/AddOrder",
            ok(
                {
                    "descr": {"order": "buy 0.01000000 XBTUSD @ limit 50000.0"},
                    "txid": [ORDER_ID],
                }
            ),
        )

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        kraken_status = {"open": "open", "canceled": "canceled", "filled": "closed"}[status]
        order = kraken_order(client_id, kraken_status, filled)
        if status == "open":
            fake.on("POST", "/0/private/OpenOrders", ok({"open": {ORDER_ID: order}}))
        else:
            fake.on("POST", "/0/private/OpenOrders", ok({"open": {}}))
            fake.on(
                "POST", "/0/private/ClosedOrders", ok({"closed": {ORDER_ID: order}, "count": 1})
            )
        self._query_trades(fake, filled)

    def _query_trades(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        trades = {
            tid: kraken_trade(tid, amount, True)
            for tid, amount in zip(TRADE_IDS, amounts, strict=False)
        }
        fake.on("POST", "/0/private/QueryTrades", ok(trades))

    def missing(self, fake: FakeExchange) -> None:
        fake.on("POST", "/0/private/OpenOrders", ok({"open": {}}))
        fake.on("POST", "/0/private/ClosedOrders", ok({"closed": {}, "count": 0}))

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        # OpenOrders / ClosedOrders filtered by cl_ord_id; never QueryOrders with userref.
        assert fake.requests_to("/0/private/QueryOrders") == []
        looked = fake.requests_to("/0/private/(Open|Closed)Orders")
        assert looked and all(request.form["cl_ord_id"] == client_id for request in looked)
        assert all("userref" not in request.form for request in looked)

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on("POST", "/0/private/CancelOrder", ok({"count": 1}))
        order = kraken_order(client_id, "canceled", filled)
        fake.on("POST", "/0/private/QueryOrders", ok({ORDER_ID: order}))
        self._query_trades(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on("POST", "/0/private/CancelAll", ok({"count": 2}))

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        return fake.requests_to("/0/private/CancelAll")

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        order = kraken_order(client_id, "open", "0.00400000")
        fake.on("POST", "/0/private/OpenOrders", ok({"open": {ORDER_ID: order}}))

    def balance(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "POST",
            "/0/private/BalanceEx",
            ok(
                {
                    "ZUSD": {"balance": "25435.21", "hold_trade": "8249.76"},
                    "XXBT": {"balance": "1.2435", "hold_trade": "0.8423"},
                }
            ),
        )
        fake.on(
            "GET",
            "/0/public/Ticker",
            ok(
                {
                    "XXBTZUSD": {
                        "a": ["50300.1", "1", "1.000"],
                        "b": ["50300.0", "1", "1.000"],
                        "c": ["50303.2", "0.00067643"],
                        "v": ["1", "2"],
                        "p": ["1", "2"],
                        "t": [1, 2],
                        "l": ["1", "2"],
                        "h": ["1", "2"],
                        "o": "50502.8",
                    },
                }
            ),
        )
        return [
            ("XXBT", "BTC", D("1.2435"), D("0.4012"), D("0.8423"), D("50303.2")),
            ("ZUSD", "USD", D("25435.21"), D("17185.45"), D("8249.76"), D("1")),
        ]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "POST",
            "/0/private/TradesHistory",
            ok(
                {
                    "trades": {
                        TRADE_IDS[0]: kraken_trade(TRADE_IDS[0], "0.004", True),
                        TRADE_IDS[1]: {
                            **kraken_trade(TRADE_IDS[1], "0.006", False),
                            "time": 1795400060.1,
                        },
                    },
                    "count": 2,
                }
            ),
        )
        return [
            (TRADE_IDS[0], ORDER_ID, D("50000"), D("0.004"), D("0.32"), "MAKER"),
            (TRADE_IDS[1], ORDER_ID, D("50000"), D("0.006"), D("0.32"), "TAKER"),
        ]
