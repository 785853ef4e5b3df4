"""Deribit: perpetuals and futures, inverse (BTC-PERPETUAL, BTC-27DEC26; settled in BTC) and the
USDC linear ones (BTC_USDC-PERPETUAL).

Amounts are Deribit's own: USD for an inverse contract (BTC-PERPETUAL's contract is 10 USD: its
lot), the base coin for a linear one. ccxt sends, reads and reports them so, but names the
contract's size (10) as its contractSize; emsweb's amounts count contracts of `contract_size`, so
a Deribit contract's size is 1 of those units (repair_markets), or every value would be ten times
what it is.

Our client order id is the order's label (up to 64 characters); a lookup by it is
private/get_order_state_by_label in the contract's settlement currency. DO_NOT_INCREASE is
reduce_only=true. Positions from private/get_positions (futures and perpetuals); balances from
private/get_account_summaries (every currency's private/get_account_summary in one call). Open
orders from private/get_open_orders (every currency), trades per contract. Deribit margins
from the account per currency and has no leverage to set per contract: a leverage change is
refused before anything is sent.
"""

from __future__ import annotations

import re
from dataclasses import replace

from ccxt.base.exchange import Exchange

from venues.base import VenuePosition

from .base import Profile, matching

KIND = "future"  # Deribit's kind of its perpetuals and futures


class Deribit(Profile):
    ccxt_id = "deribit"
    name = "Deribit"
    load_currencies = False  # public/get_currencies: not needed to trade
    derivatives = True
    features_key = ("swap", "inverse")
    reduce_only_params = {"reduceOnly": True}  # reduce_only=true
    client_id_param = "label"
    client_id_pattern = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
    client_id_dashed = True
    no_leverage = (
        "Deribit has no leverage to set per contract (its margin is the account's, per "
        "currency): leverage is not offered."
    )
    # Without a market, ccxt reads trades of one currency only (its option `code`, BTC).
    trades_need_symbol = True

    def repair_markets(self, markets: dict[str, dict]) -> dict[str, dict]:
        return {
            symbol: {**market, "contractSize": 1} if market.get("contract") else market
            for symbol, market in markets.items()
        }

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        if symbol is None:
            return None  # the label is looked up per settlement currency
        market = exchange.market(symbol)
        request = {"currency": market["settleId"], "label": client_id}
        answer = exchange.privateGetGetOrderStateByLabel(request) or {}
        rows = answer.get("result") or []
        return matching([self.repair(exchange.parse_order(row, market)) for row in rows], client_id)

    def open_orders(self, exchange: Exchange, symbol: str | None) -> list[dict]:
        if symbol is not None:
            return super().open_orders(exchange, symbol)
        answer = exchange.privateGetGetOpenOrders({"kind": KIND}) or {}
        return exchange.parse_orders(answer.get("result") or [])

    def positions(self, exchange: Exchange) -> list[dict]:
        return list(exchange.fetch_positions(None, {"kind": KIND}) or [])

    def repair_position(self, position: VenuePosition, raw: dict) -> VenuePosition:
        # Deribit margins every position from its currency's account: cross margin.
        return replace(position, cross=True)

    def repair(self, order: dict) -> dict:
        # ccxt leaves the label, our client order id, out.
        return {**order, "clientOrderId": (order.get("info") or {}).get("label") or None}
