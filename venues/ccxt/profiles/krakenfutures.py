"""Kraken Futures: the multi-collateral linear contracts, PF_ perpetuals and FF_ futures.

Kraken Futures lists most pairs twice: a multi-collateral linear contract (PF_XBTUSD,
FF_XBTUSD_261225), margined from the flex account in any of its collateral currencies, and an
inverse one (PI_XBTUSD, FI_XBTUSD_261225), margined from its own single-currency account. Both
are BTC/USD perpetuals (or futures of one expiry), so both would be KRAKENFTS_PERP_BTC_USD: only
the multi-collateral ones are loaded. They are the contracts Kraken lists new pairs as, they share
the one margin account whose balances emsweb reports (GET /accounts, "flex"), and their fills
carry an amount ccxt reads (an inverse fill's it leaves out).

Our client order id is cliOrdId (up to 100 characters). A lookup by it is Kraken's own order
status call, POST /derivatives/api/v3/orders/status with cliOrdIds: it answers an order that is
open or finished within the last 5 seconds; an older finished one is not found there (evidence,
not proof: the reconciler asks again, and the fills feed carries the order's trades).
DO_NOT_INCREASE is reduceOnly=true; IMMEDIATE_OR_CANCEL is orderType=ioc, post-only
orderType=post; Kraken Futures has no fill-or-kill. Positions from GET /openpositions; leverage
through PUT /leveragepreferences, where a maxLeverage makes the contract isolated and none makes
it cross (cross margin takes no leverage there).
"""

from __future__ import annotations

import re
from datetime import datetime

from ccxt.base.exchange import Exchange

from .base import TIF, NotOffered, Profile, matching

MULTI_COLLATERAL = "flexible_futures"  # the instrument's type; the inverse ones: futures_inverse
STATUS_CALL = ("orders/status", ["private"], "POST")


class KrakenFutures(Profile):
    ccxt_id = "krakenfutures"
    name = "Kraken Futures"
    load_currencies = False  # ccxt lists the flex collateral currencies with the markets
    derivatives = True
    features_key = ("swap", "linear")
    reduce_only_params = {"reduceOnly": True}
    client_id_param = "cliOrdId"
    client_id_pattern = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
    client_id_dashed = True

    def repair_markets(self, markets: dict[str, dict]) -> dict[str, dict]:
        return {
            symbol: market
            for symbol, market in markets.items()
            if (market.get("info") or {}).get("type") == MULTI_COLLATERAL
        }

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.IMMEDIATE_OR_CANCEL:
            return {"orderType": "ioc"}
        if tif == TIF.FILL_OR_KILL:
            raise NotOffered("Kraken Futures does not offer FILL_OR_KILL: use IMMEDIATE_OR_CANCEL.")
        return super().time_in_force(exchange, tif, expire)

    def post_only(self, exchange: Exchange) -> dict:
        return {"postOnly": True}  # orderType=post

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        return matching(self._status(exchange, {"cliOrdIds": client_id}), client_id)

    def lookup_by_id(self, exchange: Exchange, order_id: str, symbol: str | None) -> dict | None:
        found = self._status(exchange, {"orderIds": order_id})
        return next((order for order in found if str(order.get("id")) == order_id), None)

    def _status(self, exchange: Exchange, request: dict) -> list[dict]:
        # ccxt's fetch_order asks GET orders/status with orderIds only; the documented call is
        # a POST, which takes cliOrdIds too.
        answer = exchange.request(*STATUS_CALL, request) or {}
        return [exchange.parse_order(row) for row in answer.get("orders") or []]

    def leverage_set(self, exchange: Exchange, symbol: str, leverage: int, cross: bool) -> None:
        request: dict = {"symbol": exchange.market_id(symbol)}
        if not cross:
            request["maxLeverage"] = leverage
        exchange.privatePutLeveragepreferences(request)

    def repair(self, order: dict) -> dict:
        # ccxt leaves the price out of most of Kraken Futures' order shapes: the limit price as
        # the answer gives it, in whichever of them it came.
        if order.get("price") is not None:
            return order
        price = limit_price(order.get("info") or {})
        return {**order, "price": price} if price is not None else order

    def repair_trade(self, trade: dict) -> dict:
        # GET /fills carries no fee: ccxt's is an estimate from the lowest fee tier, not what
        # was charged.
        return {**trade, "fee": None, "fees": []}


def limit_price(info: dict) -> str | None:
    """The limitPrice of an order answer: an open order's own, or the order in a status row or
    in the answer's first event (placed, edited, executed or canceled)."""
    events = info.get("orderEvents") or [{}]
    event = events[0] if isinstance(events[0], dict) else {}
    for shape in (
        info,
        info.get("order"),
        event.get("new"),
        event.get("order"),
        event.get("orderPriorExecution"),
    ):
        if isinstance(shape, dict) and shape.get("limitPrice") is not None:
            return str(shape["limitPrice"])
    return None
