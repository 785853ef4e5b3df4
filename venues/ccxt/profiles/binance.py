"""Binance spot."""

from __future__ import annotations

import re
from datetime import datetime

from ccxt.base.exchange import Exchange

from venues.base import OrderIntent

from .base import TIF, NotOffered, Profile, fetch_or_none


class Binance(Profile):
    ccxt_id = "binance"
    name = "Binance"
    options = {
        "fetchMarkets": {"types": ["spot"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "recvWindow": 5000,  # a request arriving later than this is refused: bounds the unknown
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    }
    client_id_pattern = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")  # newClientOrderId
    trades_need_symbol = True
    open_orders_per_symbol = True  # openOrders without a symbol costs 80 weight
    cancel_all_needs_symbol = True  # DELETE openOrders is per symbol
    fetch_order_needs_symbol = True  # GET /api/v3/order takes symbol and orderId

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE:
            raise NotOffered(self._no_expiry())
        short = {TIF.IMMEDIATE_OR_CANCEL: "IOC", TIF.FILL_OR_KILL: "FOK"}.get(tif, "GTC")
        return {"timeInForce": short}

    def post_only(self, exchange: Exchange) -> dict:
        return {"postOnly": True}  # LIMIT_MAKER

    def order_params(self, exchange: Exchange, intent: OrderIntent) -> dict:
        params = super().order_params(exchange, intent)
        if intent.post_only:
            params.pop("timeInForce", None)  # LIMIT_MAKER takes none
        return params

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        return fetch_or_none(exchange, symbol, {"clientOrderId": client_id})  # origClientOrderId

    def repair(self, order: dict) -> dict:
        # A cancel's answer names the cancel request as clientOrderId; the order's own is
        # origClientOrderId.
        original = (order.get("info") or {}).get("origClientOrderId")
        return {**order, "clientOrderId": original} if original else order

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        answer = exchange.sapiGetAccountApiRestrictions()
        return bool(answer.get("enableSpotAndMarginTrading")), bool(answer.get("enableWithdrawals"))
