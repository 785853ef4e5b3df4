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
open or finished within the last 5 seconds. An order it does not know is looked for in the
account's fills (GET /fills, which name each fill's order and its cliOrdId): one that traded is
found there, finished, with its trades (`finished_from_fills`); one with no fills either is not
found, as one that finished without trading did nothing.
DO_NOT_INCREASE is reduceOnly=true; IMMEDIATE_OR_CANCEL is orderType=ioc, post-only
orderType=post; Kraken Futures has no fill-or-kill. Positions from GET /openpositions; leverage
through PUT /leveragepreferences, where a maxLeverage makes the contract isolated and none makes
it cross (cross margin takes no leverage there).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from ccxt.base.exchange import Exchange

from .base import TIF, NotOffered, Profile, matching

MULTI_COLLATERAL = "flexible_futures"  # the instrument's type; the inverse ones: futures_inverse
STATUS_CALL = ("orders/status", ["private"], "POST")
# GET /fills answers the account's last 100 fills, newest first, or the 100 before lastFillTime.
FILL_PAGE = 100
FILL_PAGES = 10


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
        """The order with this cliOrdId: from the status call while it is open or just
        finished, else from its fills. None when neither knows it: an order that finished with
        nothing filled (or never reached Kraken) did nothing, so declaring it never placed, as
        the reconciler does after enough of these, sends nothing twice."""
        found = matching(self._status(exchange, {"cliOrdIds": client_id}), client_id)
        if found is not None:
            return found
        return finished_from_fills(exchange, lambda fill: fill.get("cliOrdId") == client_id)

    def lookup_by_id(self, exchange: Exchange, order_id: str, symbol: str | None) -> dict | None:
        """The order with Kraken's id, from the status call or else its fills, as `lookup`."""
        found = self._status(exchange, {"orderIds": order_id})
        order = next((order for order in found if str(order.get("id")) == order_id), None)
        if order is not None:
            return order
        return finished_from_fills(exchange, lambda fill: str(fill.get("order_id")) == order_id)

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


def finished_from_fills(exchange: Exchange, belongs: Callable[[dict], bool]) -> dict | None:
    """The order whose fills `belongs` picks out of the account's recent fills, as finished
    with what they add up to; None when it has none.

    Asked only once the status call does not know the order, so it is not open: it finished.
    Its fills do not carry its quantity, so it is reported canceled with what filled, its amount
    what traded: a finished order with part of its amount filled had the rest canceled (an IOC's
    remainder, or a cancel), and the lifecycle makes one whose whole amount filled FILLED. The
    trades are ccxt's own reading of the fills, with the fill ids the fills feed gives, so a
    fill seen both ways is recorded once."""
    fills, cut = recent_fills(exchange)
    rows = [row for row in fills if belongs(row)]
    if not rows:
        return None
    order_id = str(rows[0].get("order_id"))  # newest first; a cliOrdId names one order
    rows = [row for row in rows if str(row.get("order_id")) == order_id]
    if cut & {row["fill_id"] for row in rows}:
        # Its fills may go on further back than was read: a sum now could understate them.
        raise ValueError(f"the fills of order {order_id} go back beyond the last ones read")
    trades = exchange.parse_trades(rows)
    filled = sum((_number(trade, "amount") for trade in trades), Decimal(0))
    value = sum((_number(t, "amount") * _number(t, "price") for t in trades), Decimal(0))
    return {
        "info": {"fills": rows},
        "id": order_id,
        "clientOrderId": rows[0].get("cliOrdId"),
        "symbol": trades[0].get("symbol"),
        "side": trades[0].get("side"),
        "timestamp": trades[0].get("timestamp"),
        "status": "canceled",
        "amount": filled,
        "filled": filled,
        "remaining": Decimal(0),
        # Its limit price is not in its fills either: an order adopted from them alone shows
        # their average price.
        "price": value / filled,
        "average": value / filled,
        "trades": trades,
    }


def recent_fills(exchange: Exchange) -> tuple[list[dict], set[str]]:
    """The account's fills, newest first, from FILL_PAGES pages of GET /fills at most; and
    the fill ids of the last page read if older ones were left unread. Each page goes back from
    1 ms after the oldest fill of the one before, so that fills of one instant split across two
    pages are all read (each once: by fill_id)."""
    fills: dict[str, dict] = {}
    params: dict = {}
    for _ in range(FILL_PAGES):
        page = (exchange.privateGetFills(params) or {}).get("fills") or []
        fresh = [row for row in page if row.get("fill_id") and row["fill_id"] not in fills]
        fills.update((row["fill_id"], row) for row in fresh)
        if len(page) < FILL_PAGE:
            return list(fills.values()), set()
        oldest = exchange.parse8601(page[-1].get("fillTime"))
        if not fresh or oldest is None:
            break  # no way further back
        params = {"lastFillTime": exchange.iso8601(oldest + 1)}
    return list(fills.values()), {row["fill_id"] for row in page}


def _number(trade: dict, field: str) -> Decimal:
    value = trade.get(field)
    if value is None:
        raise ValueError(f"fill {trade.get('id')} has no {field}")  # never summed as nothing
    return Decimal(str(value))
