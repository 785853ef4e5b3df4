"""OKX v5 REST, perpetual swaps (www.okx.com/docs-v5): answers of the documented shapes."""

from __future__ import annotations

from tests.venues.fake_http import FakeExchange, Sent

from .base import D, DerivativesScript

ORDER_ID = "312269865356374016"


def ok(data: list) -> dict:
    return {"code": "0", "msg": "", "data": data}


def failed(code: str, message: str) -> dict:
    """A refused order: the envelope's code 1, the reason in the item's sCode and sMsg."""
    return {
        "code": "1",
        "msg": "All operations failed",
        "data": [{"clOrdId": "", "ordId": "", "sCode": code, "sMsg": message, "tag": ""}],
    }


def okx_order(client_id: str, state: str, filled: str, **extra) -> dict:
    """One order of GET /api/v5/trade/order and /api/v5/trade/orders-pending."""
    executed = D(filled)
    return {
        "accFillSz": filled,
        "algoClOrdId": "",
        "algoId": "",
        "attachAlgoClOrdId": "",
        "attachAlgoOrds": [],
        "avgPx": "50000" if executed else "",
        "cTime": "1795400000123",
        "cancelSource": "",
        "cancelSourceReason": "",
        "category": "normal",
        "ccy": "",
        "clOrdId": client_id,
        "fee": str(-executed * 20),
        "feeCcy": "USDT",
        "fillPx": "50000" if executed else "",
        "fillSz": filled,
        "fillTime": "1795400050880" if executed else "",
        "instId": "BTC-USDT-SWAP",
        "instType": "SWAP",
        "isTpLimit": "false",
        "lever": "10",
        "linkedAlgoOrd": {"algoId": ""},
        "ordId": ORDER_ID,
        "ordType": "limit",
        "pnl": "0",
        "posSide": "net",
        "px": "50000",
        "pxType": "",
        "pxUsd": "",
        "pxVol": "",
        "quickMgnType": "",
        "rebate": "0",
        "rebateCcy": "USDT",
        "reduceOnly": "false",
        "side": "buy",
        "slOrdPx": "",
        "slTriggerPx": "",
        "slTriggerPxType": "",
        "source": "",
        "state": state,
        "stpId": "",
        "stpMode": "cancel_maker",
        "sz": "0.01",
        "tag": "",
        "tdMode": "cross",
        "tgtCcy": "",
        "tpOrdPx": "",
        "tpTriggerPx": "",
        "tpTriggerPxType": "",
        "tradeId": "",
        "uTime": "1795400100123",
        **extra,
    }


def okx_fill(trade_id: str, amount: str, maker: bool) -> dict:
    """One row of GET /api/v5/trade/fills-history."""
    return {
        "side": "buy",
        "fillSz": amount,
        "fillPx": "50000",
        "fillPxVol": "",
        "fillFwdPx": "",
        "fee": "-0.08",
        "fillPnl": "0",
        "ordId": ORDER_ID,
        "feeRate": "-0.0002",
        "instType": "SWAP",
        "fillPxUsd": "",
        "instId": "BTC-USDT-SWAP",
        "clOrdId": "",
        "posSide": "net",
        "billId": f"bill-{trade_id}",
        "subType": "1",
        "fillMarkVol": "",
        "tag": "",
        "fillTime": "1795400050880",
        "execType": "M" if maker else "T",
        "fillIdxPx": "",
        "tradeId": trade_id,
        "fillMarkPx": "",
        "feeCcy": "USDT",
        "ts": "1795400050880",
    }


def okx_instrument(inst_id: str, base: str, ct_val: str) -> dict:
    """One instrument of GET /api/v5/public/instruments?instType=SWAP."""
    return {
        "alias": "",
        "baseCcy": "",
        "category": "1",
        "ctMult": "1",
        "ctType": "linear",
        "ctVal": ct_val,
        "ctValCcy": base,
        "expTime": "",
        "instFamily": f"{base}-USDT",
        "instId": inst_id,
        "instType": "SWAP",
        "lever": "100",
        "listTime": "1573557408000",
        "lotSz": "0.001",
        "maxIcebergSz": "100000000.0000000000000000",
        "maxLmtAmt": "20000000",
        "maxLmtSz": "100000000",
        "maxMktAmt": "",
        "maxMktSz": "12000",
        "maxStopSz": "12000",
        "maxTriggerSz": "100000000.0000000000000000",
        "maxTwapSz": "100000000.0000000000000000",
        "minSz": "0.001",
        "optType": "",
        "quoteCcy": "",
        "settleCcy": "USDT",
        "state": "live",
        "stk": "",
        "tickSz": "0.1",
        "uly": f"{base}-USDT",
        "ruleType": "normal",
    }


def okx_position(inst_id: str, pos: str, *, lever: str) -> dict:
    """One row of GET /api/v5/account/positions (net mode: pos is signed)."""
    return {
        "adl": "1",
        "availPos": "",
        "avgPx": "50000",
        "cTime": "1795400000123",
        "ccy": "USDT",
        "deltaBS": "",
        "deltaPA": "",
        "gammaBS": "",
        "gammaPA": "",
        "imr": "50.1",
        "instId": inst_id,
        "instType": "SWAP",
        "interest": "",
        "idxPx": "50090",
        "last": "50100",
        "usdPx": "",
        "bePx": "50020",
        "lever": lever,
        "liab": "",
        "liabCcy": "",
        "liqPx": "45512.3" if D(pos) > 0 else "54487.7",
        "markPx": "50100",
        "margin": "",
        "mgnMode": "cross",
        "mgnRatio": "150.2",
        "mmr": "2.505",
        "notionalUsd": "501",
        "optVal": "",
        "pTime": "1795400100123",
        "pendingCloseOrdLiabVal": "",
        "pos": pos,
        "baseBorrowed": "",
        "baseInterest": "",
        "quoteBorrowed": "",
        "quoteInterest": "",
        "posCcy": "",
        "posId": "307173036051017730",
        "posSide": "net",
        "spotInUseAmt": "",
        "clSpotInUseAmt": "",
        "maxSpotInUseAmt": "",
        "bizRefId": "",
        "bizRefType": "",
        "spotInUseCcy": "",
        "thetaBS": "",
        "thetaPA": "",
        "tradeId": "109844",
        "uTime": "1795400100123",
        "upl": "1",
        "uplLastPx": "1",
        "uplRatio": "0.02",
        "uplRatioLastPx": "0.02",
        "vegaBS": "",
        "vegaPA": "",
        "realizedPnl": "-0.1",
        "pnl": "0",
        "fee": "-0.1",
        "fundingFee": "0",
        "liqPenalty": "0",
        "closeOrderAlgo": [],
    }


class Okx(DerivativesScript):
    code = "OKX"
    credentials = {
        "PublicApiKey": "8a6bd0e5-4c4f-44f6-9a9c-2f37e3b8b3a1",
        "PrivateApiKey": "5E8D6A2C0B9F4E1DA7C3B2E1F0D9C8B7",
        "PassPhrase": "desk-pass-phrase-1",
    }
    symbol = "BTC-USDT-SWAP"
    base, quote = "BTC", "USDT"
    # Amounts in contracts (of 0.01 BTC each).
    tick, lot, min_amount = D("0.1"), D("0.001"), D("0.001")
    create = ("POST", "/api/v5/trade/order")
    exchange_order_id = ORDER_ID
    refusals = {
        "insufficient margin": (200, failed("51008", "Order failed. Insufficient USDT margin.")),
        "bad key": (401, {"code": "50113", "msg": "Invalid Sign", "data": []}),
        "reduce-only would increase": (
            200,
            failed("51169", "Order failed because you don't have any positions to reduce."),
        ),
        "invalid order": (
            200,
            failed("51121", "Order quantity must be a multiple of the lot size."),
        ),
    }
    rate_limited = (429, {"code": "50011", "msg": "Too Many Requests", "data": []})
    server_error = (502, "<html>502 Bad Gateway</html>")
    time_in_force = {
        "GOOD_TILL_CANCEL": {"ordType": "limit"},
        "IMMEDIATE_OR_CANCEL": {"ordType": "ioc"},
        "FILL_OR_KILL": {"ordType": "fok"},
        "GOOD_TILL_TIME_EXCHANGE": "GOOD_TILL_TIME_OMS",
        "post_only": {"ordType": "post_only"},
    }
    future_symbol = ""  # swaps only
    other_asset_symbol = "DOGE-USDT-SWAP"
    perpetual_coinapi = "OKX_PERP_BTC_USDT"
    contract_size = D("0.01")
    settlement = "USDT"

    def markets(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/api/v5/public/instruments",
            ok(
                [
                    okx_instrument("BTC-USDT-SWAP", "BTC", "0.01"),
                    okx_instrument("DOGE-USDT-SWAP", "DOGE", "1000"),
                ]
            ),
        )

    def client_id_sent(self, request: Sent) -> str:
        return request.json["clOrdId"]

    def amount_and_price_sent(self, request: Sent) -> tuple[str, str]:
        return request.json["sz"], request.json["px"]

    def time_in_force_sent(self, request: Sent) -> dict:
        return {"ordType": request.json["ordType"]}

    def reduce_only_sent(self, request: Sent) -> bool:
        return request.json.get("reduceOnly") is True

    def created(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "POST",
            "/api/v5/trade/order",
            ok(
                [
                    {
                        "clOrdId": client_id,
                        "ordId": ORDER_ID,
                        "tag": "",
                        "ts": "1795400000123",
                        "sCode": "0",
                        "sMsg": "Order placed",
                    }
                ]
            ),
        )

    def found(self, fake: FakeExchange, *, client_id: str, status: str, filled: str) -> None:
        state = {"open": "live", "canceled": "canceled", "filled": "filled"}[status]
        fake.on("GET", "/api/v5/trade/order", ok([okx_order(client_id, state, filled)]))
        self._fills(fake, filled)

    def _fills(self, fake: FakeExchange, filled: str) -> None:
        amounts = ["0.004", "0.006"] if D(filled) == D("0.01") else [filled]
        rows = [okx_fill(f"7448769{i}", amount, True) for i, amount in enumerate(amounts)]
        fake.on("GET", "/api/v5/trade/fills-history", ok(rows))

    def missing(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/api/v5/trade/order",
            {"code": "51603", "msg": "Order does not exist", "data": []},
        )

    def assert_lookup_requests(self, fake: FakeExchange, client_id: str) -> None:
        [looked] = fake.requests_to("/api/v5/trade/order", "GET")
        assert looked.query["clOrdId"] == client_id
        assert looked.query["instId"] == "BTC-USDT-SWAP"
        assert "ordId" not in looked.query

    def canceled(self, fake: FakeExchange, *, client_id: str, filled: str) -> None:
        fake.on(
            "POST",
            "/api/v5/trade/cancel-order",
            ok([{"clOrdId": client_id, "ordId": ORDER_ID, "sCode": "0", "sMsg": ""}]),
        )
        fake.on("GET", "/api/v5/trade/order", ok([okx_order(client_id, "canceled", filled)]))
        self._fills(fake, filled)

    def canceled_all(self, fake: FakeExchange) -> None:
        fake.on(
            "GET",
            "/api/v5/trade/orders-pending",
            ok([okx_order("desk-order-0001", "live", "0")]),
        )
        fake.on(
            "POST",
            "/api/v5/trade/cancel-batch-orders",
            ok([{"clOrdId": "desk-order-0001", "ordId": ORDER_ID, "sCode": "0", "sMsg": ""}]),
        )

    def cancel_all_sent(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/api/v5/trade/cancel-batch-orders", "POST")
        assert all(item["instId"] == "BTC-USDT-SWAP" for r in sent for item in r.json)
        return sent

    def open_orders(self, fake: FakeExchange, *, client_id: str) -> None:
        fake.on(
            "GET",
            "/api/v5/trade/orders-pending",
            ok([okx_order(client_id, "partially_filled", "0.004")]),
        )

    def balance(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/api/v5/account/balance",
            ok(
                [
                    {
                        "adjEq": "25433.67",
                        "borrowFroz": "",
                        "details": [
                            {
                                "availBal": "24434.21",
                                "availEq": "24434.21",
                                "borrowFroz": "",
                                "cashBal": "25435.21",
                                "ccy": "USDT",
                                "crossLiab": "",
                                "disEq": "25433.67",
                                "eq": "25436.21",
                                "eqUsd": "25433.67",
                                "fixedBal": "0",
                                "frozenBal": "1002",
                                "imr": "1002",
                                "interest": "",
                                "isoEq": "0",
                                "isoLiab": "",
                                "isoUpl": "0",
                                "liab": "",
                                "maxLoan": "",
                                "mgnRatio": "",
                                "mmr": "20.04",
                                "notionalLever": "",
                                "ordFrozen": "501",
                                "rewardBal": "0",
                                "spotInUseAmt": "",
                                "clSpotInUseAmt": "",
                                "maxSpotInUse": "",
                                "spotIsoBal": "0",
                                "stgyEq": "0",
                                "twap": "0",
                                "uTime": "1795400100123",
                                "upl": "1",
                                "uplLiab": "",
                                "spotBal": "",
                                "openAvgPx": "",
                                "accAvgPx": "",
                                "spotUpl": "",
                                "spotUplRatio": "",
                                "totalPnl": "",
                                "totalPnlRatio": "",
                            }
                        ],
                        "imr": "1002",
                        "isoEq": "0",
                        "mgnRatio": "",
                        "mmr": "20.04",
                        "notionalUsd": "",
                        "ordFroz": "501",
                        "totalEq": "25433.67",
                        "uTime": "1795400100123",
                        "upl": "1",
                    }
                ]
            ),
        )
        return [("USDT", "USDT", D("25436.21"), D("24434.21"), D("1002"), None)]

    def trades(self, fake: FakeExchange) -> list[tuple]:
        rows = [okx_fill("744876980", "0.004", True), okx_fill("744876981", "0.006", False)]
        fake.on("GET", "/api/v5/trade/fills-history", ok(rows))
        return [
            ("744876980", ORDER_ID, D("50000"), D("0.004"), D("0.08"), "MAKER"),
            ("744876981", ORDER_ID, D("50000"), D("0.006"), D("0.08"), "TAKER"),
        ]

    def positions(self, fake: FakeExchange) -> list[tuple]:
        fake.on(
            "GET",
            "/api/v5/account/positions",
            ok([okx_position("BTC-USDT-SWAP", "-2", lever="10")]),
        )
        return [("BTC-USDT-SWAP", D("-2"), D(50000), D(50100), D(10), True, D("54487.7"))]

    def positions_requests(self, fake: FakeExchange) -> list[Sent]:
        sent = fake.requests_to("/api/v5/account/positions", "GET")
        assert all(request.query["instType"] == "SWAP" for request in sent)
        return sent

    def leverage_set(self, fake: FakeExchange) -> None:
        fake.on(
            "POST",
            "/api/v5/account/set-leverage",
            ok([{"lever": "20", "mgnMode": "cross", "instId": "BTC-USDT-SWAP", "posSide": ""}]),
        )

    def leverage_sent(self, fake: FakeExchange) -> dict:
        [leverage] = fake.requests_to("/api/v5/account/set-leverage", "POST")
        assert leverage.json["instId"] == "BTC-USDT-SWAP"
        return {"leverage": str(leverage.json["lever"]), "cross": leverage.json["mgnMode"]}

    leverage_expected = {"leverage": "20", "cross": "cross"}
