"""The generic profile: ccxt's unified behaviour, for every exchange without a profile of its own,
and the base of those that have one."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime

import ccxt
from ccxt.base.exchange import Exchange

from venues.base import OrderIntent, TimeInForce, VenuePosition

# Deterministic exchange-format ids: the same order always gets the same one.
NAMESPACE = uuid.UUID("6f0d8f4e-6d1c-4c0e-9a7e-2f6a3c1b5e90")
TIF = TimeInForce


class NotOffered(ValueError):
    """The exchange cannot do what the order asks; refused before sending."""


def derived_uuid(client_order_id: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, client_order_id)


class Profile:
    ccxt_id = ""
    name = ""
    options: dict = {}  # ccxt options merged over the exchange's defaults
    load_currencies = True  # False: skip fetch_currencies when loading markets
    # A derivatives venue trades the exchange's perpetuals and futures (Markets.contracts), takes
    # reduce-only orders, and reports positions; ccxt's `features` for its orders are under
    # `features_key` (spot, or a contract type and subtype).
    derivatives = False
    features_key: tuple[str, ...] = ("spot",)
    # The create_order params of a reduce-only order; None: the exchange has none.
    reduce_only_params: dict | None = None
    # Why a leverage change is refused before sending, where the exchange sets none per contract.
    no_leverage = ""
    # Our client order id: the create_order param that carries it, and what it may look like.
    client_id_param = "clientOrderId"
    client_id_pattern = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
    client_id_dashed = False  # a derived id as a dashed UUID (else 32 hex digits)
    # Calls that cost a lot unscoped (or cannot be): made per hinted symbol.
    trades_need_symbol = False
    open_orders_per_symbol = False
    cancel_all_needs_symbol = False
    # After a cancel, an order with no fills disappears from every query (Coinbase Exchange).
    canceled_unfilled_vanish = False
    # fetch_order by the exchange's id needs the order's market (Binance's GET /api/v3/order).
    fetch_order_needs_symbol = False
    # What fetch_order raises for an id the exchange does not know.
    not_found: tuple[type[Exception], ...] = (ccxt.OrderNotFound,)

    # --- client order id ----------------------------------------------------------------------

    def client_id(self, client_order_id: str) -> str:
        """Ours if the exchange accepts it as is, else a UUID derived from it."""
        if self.client_id_pattern.match(client_order_id):
            return client_order_id
        derived = derived_uuid(client_order_id)
        return str(derived) if self.client_id_dashed else derived.hex

    def client_id_params(self, client_id: str) -> dict:
        return {self.client_id_param: client_id}

    # --- time in force ------------------------------------------------------------------------

    def order_params(self, exchange: Exchange, intent: OrderIntent) -> dict:
        """The create_order params for the intent's time in force and post-only."""
        if intent.time_in_force == TIF.GOOD_TILL_TIME_EXCHANGE and intent.expire_time is None:
            raise NotOffered("GOOD_TILL_TIME_EXCHANGE needs an expire_time.")
        params = self.time_in_force(exchange, intent.time_in_force, intent.expire_time)
        if intent.post_only:
            params.update(self.post_only(exchange))
        if intent.reduce_only:
            params.update(self.reduce_only(exchange))
        return params

    def time_in_force(self, exchange: Exchange, tif: str, expire: datetime | None) -> dict:
        supported = self._features(exchange).get("timeInForce") or {}
        if tif == TIF.GOOD_TILL_CANCEL:
            return {}
        if tif == TIF.GOOD_TILL_TIME_EXCHANGE:
            raise NotOffered(self._no_expiry())
        short = {TIF.IMMEDIATE_OR_CANCEL: "IOC", TIF.FILL_OR_KILL: "FOK"}.get(tif)
        if short and supported.get(short):
            return {"timeInForce": short}
        raise NotOffered(f"{self.title(exchange)} does not offer {tif} through emsweb.")

    def post_only(self, exchange: Exchange) -> dict:
        if (self._features(exchange).get("timeInForce") or {}).get("PO"):
            return {"postOnly": True}
        raise NotOffered(f"{self.title(exchange)} does not offer MAKER_OR_CANCEL through emsweb.")

    def reduce_only(self, exchange: Exchange) -> dict:
        """DO_NOT_INCREASE as the exchange's reduce-only flag; refused where it has none."""
        if self.reduce_only_params is not None:
            return dict(self.reduce_only_params)
        raise NotOffered(
            f"{self.title(exchange)} has no reduce-only orders: DO_NOT_INCREASE is not offered."
        )

    def title(self, exchange: Exchange) -> str:
        return self.name or str(exchange.name or exchange.id)

    def _no_expiry(self) -> str:
        return (
            f"{self.name or 'This exchange'} cannot expire orders itself: use "
            "GOOD_TILL_TIME_OMS, which emsweb cancels at expire_time."
        )

    def _features(self, exchange: Exchange) -> dict:
        features = exchange.features or {}
        for key in self.features_key:
            features = features.get(key) or {}
        return features.get("createOrder") or {}

    # --- lookups by client order id -----------------------------------------------------------

    def lookup(self, exchange: Exchange, client_id: str, symbol: str) -> dict | None:
        """The exchange's order with this client id, or None. Scans open, then recent orders."""
        found = matching(exchange.fetch_open_orders(symbol), client_id)
        if found is not None:
            return found
        for method in ("fetchClosedOrders", "fetchOrders"):
            if exchange.has.get(method):
                fetch = getattr(exchange, snake(method))
                return matching(fetch(symbol), client_id)
        return None

    # --- lookups by the exchange's order id ----------------------------------------------------

    def lookup_by_id(self, exchange: Exchange, order_id: str, symbol: str | None) -> dict | None:
        """The exchange's order with this id (ccxt's fetch_order), or None: not found, or not
        to be asked without the market it is in."""
        if symbol is None and self.fetch_order_needs_symbol:
            return None
        try:
            return exchange.fetch_order(order_id, symbol, self.lookup_by_id_params())
        except self.not_found:
            return None

    def lookup_by_id_params(self) -> dict:
        return {}

    def order_trades(self, exchange: Exchange, order: dict, symbol: str) -> list[dict]:
        """The trades of one order, for a final report whose fills must not be lost."""
        if exchange.has.get("fetchOrderTrades") is True:
            return exchange.fetch_order_trades(order["id"], symbol)
        since = order.get("timestamp")
        trades = exchange.fetch_my_trades(symbol, since)
        return [trade for trade in trades if str(trade.get("order")) == str(order["id"])]

    def open_orders(self, exchange: Exchange, symbol: str | None) -> list[dict]:
        """The open orders of one market, or of every market (ccxt's fetch_open_orders)."""
        return exchange.fetch_open_orders(symbol)

    # --- cancel all ---------------------------------------------------------------------------

    def cancel_all(self, exchange: Exchange) -> list[dict]:
        """Cancel every open order; the exchange's answers (complete or not)."""
        if exchange.has.get("cancelAllOrders") is True and not self.cancel_all_needs_symbol:
            return list(exchange.cancel_all_orders() or [])
        opened = exchange.fetch_open_orders()
        answers: list[dict] = []
        for symbol in sorted({order["symbol"] for order in opened if order.get("symbol")}):
            ids = [order["id"] for order in opened if order.get("symbol") == symbol]
            if exchange.has.get("cancelAllOrders") is True:
                answers += exchange.cancel_all_orders(symbol) or []
            elif exchange.has.get("cancelOrders") is True:
                answers += exchange.cancel_orders(ids, symbol) or []
            else:
                answers += [exchange.cancel_order(order_id, symbol) for order_id in ids]
        return answers

    # --- derivatives --------------------------------------------------------------------------

    def positions(self, exchange: Exchange) -> list[dict]:
        """The account's positions through the exchange's positions call (ccxt's structure)."""
        return list(exchange.fetch_positions() or [])

    def leverage_set(self, exchange: Exchange, symbol: str, leverage: int, cross: bool) -> None:
        """The margin mode, then the leverage, through the exchange's own calls."""
        exchange.set_margin_mode("cross" if cross else "isolated", symbol)
        exchange.set_leverage(leverage, symbol)

    def repair_position(self, position: VenuePosition, raw: dict) -> VenuePosition:
        """Fix what ccxt's position parsing of this exchange leaves out."""
        return position

    # --- keys and repairs ---------------------------------------------------------------------

    def permissions(self, exchange: Exchange) -> tuple[bool | None, bool | None]:
        """(can trade, can withdraw) where the exchange tells; None where it does not."""
        return None, None

    def repair(self, order: dict) -> dict:
        """Fix what ccxt's parsing of this exchange gets wrong or leaves out."""
        return order

    def repair_markets(self, markets: dict[str, dict]) -> dict[str, dict]:
        """Fix what ccxt's market parsing of this exchange gets wrong. Keyed by symbol."""
        return markets

    def repair_trade(self, trade: dict) -> dict:
        """Fix what ccxt's trade parsing of this exchange leaves out."""
        return trade


def matching(orders: list[dict], client_id: str) -> dict | None:
    return next((order for order in orders if order.get("clientOrderId") == client_id), None)


def snake(method: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", method).lower()


def fetch_or_none(exchange: Exchange, symbol: str, params: dict) -> dict | None:
    try:
        return exchange.fetch_order(None, symbol, params)
    except ccxt.OrderNotFound:
        return None  # evidence, not proof: the reconciler asks again


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
