"""Bybit v5, linear contracts (USDT and USDC perpetuals and futures), unified trading account.

Our client order id is orderLinkId. A lookup by it asks GET /v5/order/realtime (open orders and
the recent closed ones), then GET /v5/order/history: ccxt's fetch_order takes only Bybit's id.
Positions from GET /v5/position/list, once per settlement coin, their margin mode the account's
(GET /v5/account/info). Margin mode is the unified
account's, for every contract at once (POST /v5/account/set-margin-mode); leverage is per
contract (POST /v5/position/set-leverage), "not modified" being no error.
"""

from __future__ import annotations

import contextlib
import re

import ccxt
from ccxt.base.exchange import Exchange

from .base import Profile, matching

CATEGORY = "linear"
NOT_MODIFIED = "110043"  # Set leverage not modified
ISOLATED = "ISOLATED_MARGIN"  # the unified account's mode; else REGULAR_ or PORTFOLIO_MARGIN


class BybitLinear(Profile):
    ccxt_id = "bybit"
    name = "Bybit"
    options = {
        "defaultType": "swap",
        "defaultSubType": CATEGORY,
        "fetchMarkets": {"types": [CATEGORY]},
        # A unified trading account (every account opened since 2023): without these, ccxt asks
        # GET /v5/user/query-api and /v5/account/info before the first private call.
        "enableUnifiedAccount": True,
        "enableUnifiedMargin": False,
        "fetchOrder": {"acknowledged": True},  # by Bybit's id, within its last 500 orders
    }
    load_currencies = False  # the coin list is a private call: not needed to trade
    derivatives = True
    features_key = ("swap", "linear")
    reduce_only_params = {"reduceOnly": True}
    # orderLinkId: up to 36 letters, digits, "-" and "_".
    client_id_pattern = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
    fetch_order_needs_symbol = True  # GET /v5/order/realtime needs the symbol (or a coin)

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        market = exchange.market(symbol)
        request = {"category": CATEGORY, "symbol": market["id"], "orderLinkId": client_id}
        for query in (exchange.privateGetV5OrderRealtime, exchange.privateGetV5OrderHistory):
            rows = ((query(request) or {}).get("result") or {}).get("list") or []
            found = matching([exchange.parse_order(row, market) for row in rows], client_id)
            if found is not None:
                return found
        return None

    def order_trades(self, exchange: Exchange, order: dict, symbol: str) -> list[dict]:
        return exchange.fetch_my_trades(symbol, None, None, {"orderId": order["id"]})

    def positions(self, exchange: Exchange) -> list[dict]:
        settles = sorted(
            {
                str(market["settle"])
                for market in (exchange.markets or {}).values()
                if market.get("linear") and market.get("settle")
            }
        )
        positions: list[dict] = []
        for settle in settles:
            positions += exchange.fetch_positions(None, {"settleCoin": settle}) or []
        if not positions:
            return positions
        # A position's own tradeMode is deprecated: the unified account's margin mode is every
        # contract's (GET /v5/account/info).
        info = (exchange.privateGetV5AccountInfo() or {}).get("result") or {}
        mode = "isolated" if info.get("marginMode") == ISOLATED else "cross"
        return [{**position, "marginMode": mode} for position in positions]

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        # GET /v5/user/query-api: a read-only key, and the key's permissions by product.
        key = (exchange.privateGetV5UserQueryApi() or {}).get("result") or {}
        allowed = key.get("permissions") or {}
        can_trade = not key.get("readOnly") and "Order" in (allowed.get("ContractTrade") or [])
        return can_trade, "Withdraw" in (allowed.get("Wallet") or [])

    def leverage_set(self, exchange: Exchange, symbol: str, leverage: int, cross: bool) -> None:
        with contextlib.suppress(ccxt.MarginModeAlreadySet):
            exchange.set_margin_mode("cross" if cross else "isolated")
        try:
            exchange.set_leverage(leverage, symbol)
        except ccxt.BadRequest as error:
            if NOT_MODIFIED not in str(error):
                raise
