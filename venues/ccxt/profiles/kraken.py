"""Kraken spot."""

from __future__ import annotations

import re
from datetime import datetime

import ccxt
from ccxt.base.exchange import Exchange

from .base import TIF, NotOffered, Profile, matching


class Kraken(Profile):
    ccxt_id = "kraken"
    name = "Kraken"
    # cl_ord_id: a UUID (long or short form) or free text of at most 18 characters.
    client_id_pattern = re.compile(
        r"^([A-Za-z0-9_.:/-]{1,18}|[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12})$"
    )
    client_id_dashed = True
    # QueryOrders by txid: an id it does not know is left out of the result (ccxt's
    # OrderNotFound) or answered EOrder:Invalid order (ccxt's InvalidOrder).
    not_found = (ccxt.OrderNotFound, ccxt.InvalidOrder)

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.IMMEDIATE_OR_CANCEL:
            return {"timeInForce": "IOC"}
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE and expire is not None:
            return {"timeInForce": "GTD", "expiretm": str(int(expire.timestamp()))}
        if tif == TIF.FILL_OR_KILL:
            raise NotOffered("Kraken does not offer FILL_OR_KILL on spot: use IMMEDIATE_OR_CANCEL.")
        return {}

    def post_only(self, exchange: Exchange) -> dict:
        return {"postOnly": True}  # oflags=post

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        # OpenOrders / ClosedOrders filtered by cl_ord_id. fetch_order would send it as userref.
        params = {"clientOrderId": client_id}
        for fetch in (exchange.fetch_open_orders, exchange.fetch_closed_orders):
            found = matching([self.repair(o) for o in fetch(None, None, None, params)], client_id)
            if found is not None:
                return found
        return None

    def order_trades(self, exchange: Exchange, order: dict, symbol: str) -> list[dict]:
        ids = [trade["id"] for trade in order.get("trades") or [] if trade.get("id")]
        if not ids:
            return []
        return exchange.fetch_order_trades(order["id"], symbol, None, None, {"trades": ids})

    def repair(self, order: dict) -> dict:
        # ccxt falls back to userref (0 when unset) as the client id: only cl_ord_id is one.
        info = order.get("info") or {}
        return {**order, "clientOrderId": info.get("cl_ord_id") or None}
