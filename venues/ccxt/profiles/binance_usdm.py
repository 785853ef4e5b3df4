"""Binance USDⓈ-M futures (fapi): perpetuals and quarterly futures settled in USDT or USDC.

Orders, lookups by origClientOrderId and cancels are spot Binance's, on /fapi/v1; the account
must be in one-way position mode (reduceOnly is refused in hedge mode). Positions from
GET /fapi/v2/positionRisk, which still carries each contract's leverage and margin type (v3
does not); leverage through POST /fapi/v1/leverage, margin mode through POST /fapi/v1/marginType.
"""

from __future__ import annotations

from ccxt.base.exchange import Exchange

from .binance import Binance


class BinanceUsdm(Binance):
    ccxt_id = "binanceusdm"
    name = "Binance USDⓈ-M"
    options = {
        "fetchMarkets": {"types": ["linear"]},
        "fetchCurrencies": False,
        "fetchMargins": False,
        "recvWindow": 5000,
        "warnOnFetchOpenOrdersWithoutSymbol": False,
    }
    derivatives = True
    features_key = ("swap", "linear")
    reduce_only_params = {"reduceOnly": True}  # reduceOnly=true

    def order_trades(self, exchange: Exchange, order: dict, symbol: str) -> list[dict]:
        # GET /fapi/v1/userTrades?symbol&orderId (ccxt's fetch_order_trades is spot only).
        return exchange.fetch_my_trades(symbol, None, None, {"orderId": order["id"]})

    def positions(self, exchange: Exchange) -> list[dict]:
        return list(exchange.fetch_positions(None, {"useV2": True}) or [])

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        answer = exchange.sapiGetAccountApiRestrictions()
        return bool(answer.get("enableFutures")), bool(answer.get("enableWithdrawals"))
