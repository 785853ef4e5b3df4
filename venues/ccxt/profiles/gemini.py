"""Gemini."""

from __future__ import annotations

import re
from datetime import datetime

import ccxt
from ccxt.base.exchange import Exchange

from .base import TIF, NotOffered, Profile, matching


class Gemini(Profile):
    ccxt_id = "gemini"
    name = "Gemini"
    # Markets from the API (per-symbol details), not from scraping the web site.
    options = {
        "fetchMarketsFromAPI": {"fetchDetailsForAllSymbols": True},
        "fetchCurrencies": {"webApiEnable": False},
        "fetchMarkets": {"webApiEnable": False},
    }
    load_currencies = False
    # Always our own: with none, ccxt sends str(milliseconds()), which two workers can share.
    client_id_param = "client_order_id"
    client_id_pattern = re.compile(r"^[A-Za-z0-9_.:-]{1,36}$")
    trades_need_symbol = True  # mytrades needs a symbol

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE:
            raise NotOffered(self._no_expiry())
        return {
            TIF.IMMEDIATE_OR_CANCEL: {"timeInForce": "IOC"},
            TIF.FILL_OR_KILL: {"timeInForce": "FOK"},
        }.get(tif, {})

    def post_only(self, exchange: Exchange) -> dict:
        return {"postOnly": True}  # options=["maker-or-cancel"]

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        # /v1/order/status accepts client_order_id; ccxt's fetch_order sends order_id only.
        try:
            answer = exchange.privatePostV1OrderStatus(
                {"client_order_id": client_id, "include_trades": True}
            )
        except ccxt.OrderNotFound:
            return None
        answers = answer if isinstance(answer, list) else [answer]
        orders = [exchange.parse_order(item) for item in answers if isinstance(item, dict)]
        return matching(orders, client_id)

    def lookup_by_id_params(self) -> dict:
        return {"include_trades": True}  # /v1/order/status by order_id, its trades with it

    def repair_markets(self, markets: dict[str, dict]) -> dict[str, dict]:
        # The details of a spot symbol carry contract_price_currency too, which ccxt reads as
        # a settle currency: every spot market would come out as a swap (BTC/USD:USD).
        repaired = {}
        for market in markets.values():
            if (market.get("info") or {}).get("product_type") == "spot" and market.get("swap"):
                market = {
                    **market,
                    "symbol": f"{market['base']}/{market['quote']}",
                    "type": "spot",
                    "spot": True,
                    "swap": False,
                    "contract": False,
                    "settle": None,
                    "settleId": None,
                    "linear": None,
                    "inverse": None,
                    "contractSize": None,
                }
            repaired[market["symbol"]] = market
        return repaired

    def cancel_all(self, exchange: Exchange) -> list[dict]:
        # /v1/order/cancel/all answers with order ids only: the sync looks each one up.
        exchange.privatePostV1OrderCancelAll()
        return []

    def repair_trade(self, trade: dict) -> dict:
        aggressor = (trade.get("info") or {}).get("aggressor")
        if trade.get("takerOrMaker") is None and aggressor is not None:
            return {**trade, "takerOrMaker": "taker" if aggressor else "maker"}
        return trade

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        roles = exchange.privatePostV1Roles()
        return bool(roles.get("isTrader")), bool(roles.get("isFundManager"))
