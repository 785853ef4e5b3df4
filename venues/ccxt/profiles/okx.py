"""OKX v5, perpetual swaps (USDT-margined linear and coin-margined inverse), cross margin.

Our client order id is clOrdId (letters and digits only, up to 32: ours with a dash is sent as a
derived hex UUID); a lookup by it is GET /api/v5/trade/order?instId&clOrdId. Each order names its
margin mode (tdMode): emsweb trades OKX in cross margin, so leverage is set for cross
(POST /api/v5/account/set-leverage) and isolated is refused. Positions from
GET /api/v5/account/positions; the account must be in net (one-way) position mode.
"""

from __future__ import annotations

import re

from ccxt.base.exchange import Exchange

from venues.errors import Rejected

from .base import Profile, fetch_or_none

MARGIN_MODE = "cross"


class OkxSwap(Profile):
    ccxt_id = "okx"
    name = "OKX"
    options = {
        "defaultType": "swap",
        "fetchMarkets": {"types": ["swap"]},
        "defaultMarginMode": MARGIN_MODE,
        "createOrder": "privatePostTradeOrder",  # POST /api/v5/trade/order, not a batch of one
    }
    load_currencies = False  # the currency list is a private call: not needed to trade
    derivatives = True
    features_key = ("swap", "linear")
    reduce_only_params = {"reduceOnly": True}
    client_id_pattern = re.compile(r"^[A-Za-z0-9]{1,32}$")
    fetch_order_needs_symbol = True  # GET /api/v5/trade/order takes instId and ordId

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        return fetch_or_none(exchange, symbol, {"clOrdId": client_id})

    def positions(self, exchange: Exchange) -> list[dict]:
        return list(exchange.fetch_positions(None, {"instType": "SWAP"}) or [])

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        # GET /api/v5/account/config: perm is "read_only", "trade" and "withdraw", comma-separated.
        config = ((exchange.privateGetAccountConfig() or {}).get("data") or [{}])[0]
        allowed = {part.strip() for part in str(config.get("perm") or "").split(",")}
        return "trade" in allowed, "withdraw" in allowed

    def leverage_set(self, exchange: Exchange, symbol: str, leverage: int, cross: bool) -> None:
        if not cross:
            raise Rejected(
                "OKX: emsweb trades OKX swaps in cross margin (each order names its margin "
                "mode); isolated is not offered."
            )
        exchange.set_leverage(leverage, symbol, {"marginMode": MARGIN_MODE})
