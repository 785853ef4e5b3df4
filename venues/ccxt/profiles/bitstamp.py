"""Bitstamp."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from ccxt.base.exchange import Exchange

from .base import TIF, Profile, fetch_or_none


class Bitstamp(Profile):
    ccxt_id = "bitstamp"
    name = "Bitstamp"
    client_id_param = "client_order_id"
    client_id_pattern = re.compile(r"^[A-Za-z0-9_.:-]{1,36}$")

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE and expire is not None:
            return {"gtd_order": True, "expire_time": int(expire.timestamp())}
        return {
            TIF.IMMEDIATE_OR_CANCEL: {"ioc_order": True},
            TIF.FILL_OR_KILL: {"fok_order": True},
        }.get(tif, {})

    def post_only(self, exchange: Exchange) -> dict:
        return {"moc_order": True}

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        found = fetch_or_none(exchange, symbol, {"clientOrderId": client_id})  # order_status
        if found is not None and not found.get("clientOrderId"):
            found = {**found, "clientOrderId": client_id}  # order_status does not echo it
        return found

    def repair(self, order: dict) -> dict:
        info = order.get("info") or {}
        if "amount_at_create" in info:
            # An open order: "amount" is what is left, "amount_at_create" what was ordered.
            return {
                **order,
                "amount": info["amount_at_create"],
                "remaining": info.get("amount"),
                "filled": None,
            }
        if "amount_remaining" in info:
            return _bitstamp_status(order, info)
        return order

    def order_trades(self, exchange: Exchange, order: dict, symbol: str) -> list[dict]:
        return list(order.get("trades") or [])


def _bitstamp_status(order: dict, info: dict) -> dict:
    """order_status gives what is left and the transactions: the amount is their sum."""
    trades = [
        {**trade, "order": str(order["id"])}  # its transactions do not name the order
        for trade in order.get("trades") or []
        if trade.get("amount") is not None
    ]
    filled = sum((Decimal(str(trade["amount"])) for trade in trades), Decimal(0))
    remaining = Decimal(str(info["amount_remaining"]))
    return {
        **order,
        "trades": trades,
        "filled": filled,
        "remaining": remaining,
        "amount": filled + remaining,
    }
