"""Coinbase: Advanced Trade (ccxt `coinbase`) and Coinbase Exchange (`coinbaseexchange`)."""

from __future__ import annotations

import re
from datetime import datetime

from ccxt.base.exchange import Exchange

from .base import TIF, NotOffered, Profile, fetch_or_none, iso, matching


class CoinbaseAdvanced(Profile):
    ccxt_id = "coinbase"
    name = "Coinbase Advanced Trade"
    options = {"fetchBalance": "v3PrivateGetBrokerageAccounts"}  # available and hold, not v2
    load_currencies = False  # v2 currency lists: not needed to trade
    # ccxt drops the unified clientOrderId and sends ccxt-<uuid4>: the raw field overrides it.
    client_id_param = "client_order_id"
    client_id_pattern = re.compile(r"^[A-Za-z0-9_.:-]{1,36}$")
    client_id_dashed = True

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE and expire is not None:
            return {"timeInForce": "GTD", "end_time": iso(expire)}
        return {
            TIF.IMMEDIATE_OR_CANCEL: {"timeInForce": "IOC"},
            TIF.FILL_OR_KILL: {"timeInForce": "FOK"},
        }.get(tif, {})

    def post_only(self, exchange: Exchange) -> dict:
        return {"postOnly": True}

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        # No lookup by client id: recent orders of the product, open first, matched here.
        found = matching(exchange.fetch_open_orders(symbol), client_id)
        return found or matching(exchange.fetch_orders(symbol, None, 250), client_id)

    def order_trades(self, exchange: Exchange, order: dict, symbol: str) -> list[dict]:
        return exchange.fetch_my_trades(symbol, None, None, {"order_ids": [order["id"]]})

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        answer = exchange.v3PrivateGetBrokerageKeyPermissions()
        return bool(answer.get("can_trade")), bool(answer.get("can_transfer"))

    def repair(self, order: dict) -> dict:
        # ccxt reads amount and price for GTC, GTD and IOC limits, not for FOK ones.
        config = ((order.get("info") or {}).get("order_configuration") or {}).get("limit_limit_fok")
        if config and order.get("amount") is None:
            return {**order, "amount": config.get("base_size"), "price": config.get("limit_price")}
        return order


class CoinbaseExchange(Profile):
    ccxt_id = "coinbaseexchange"
    name = "Coinbase Exchange"
    load_currencies = False
    # client_oid must be a UUID.
    client_id_param = "client_oid"
    client_id_pattern = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")
    client_id_dashed = True
    trades_need_symbol = True  # /fills needs product_id or order_id
    canceled_unfilled_vanish = True

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE:
            # GTT takes cancel_after = min, hour or day, not a time.
            raise NotOffered(self._no_expiry())
        return {
            TIF.IMMEDIATE_OR_CANCEL: {"timeInForce": "IOC"},
            TIF.FILL_OR_KILL: {"timeInForce": "FOK"},
        }.get(tif, {})

    def post_only(self, exchange: Exchange) -> dict:
        return {"postOnly": True}

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        return fetch_or_none(exchange, symbol, {"clientOrderId": client_id})  # orders/client:<id>
