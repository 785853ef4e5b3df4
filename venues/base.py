"""What crosses the venue boundary: the contract's vocabulary and plain dataclasses.

No Django model crosses it. Every amount and price is a Decimal. An adapter raises the errors in
`venues.errors` when an order-entry call did not produce a report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol

from django.db.models import TextChoices


class OrdStatus(TextChoices):
    RECEIVED = "RECEIVED"
    ROUTING = "ROUTING"
    ROUTED = "ROUTED"
    NEW = "NEW"
    PENDING_CANCEL = "PENDING_CANCEL"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"


class OrdSide(TextChoices):
    BUY = "BUY"
    SELL = "SELL"


class OrdType(TextChoices):
    LIMIT = "LIMIT"


class TimeInForce(TextChoices):
    GOOD_TILL_CANCEL = "GOOD_TILL_CANCEL"
    GOOD_TILL_TIME_EXCHANGE = "GOOD_TILL_TIME_EXCHANGE"
    GOOD_TILL_TIME_OMS = "GOOD_TILL_TIME_OMS"
    FILL_OR_KILL = "FILL_OR_KILL"
    IMMEDIATE_OR_CANCEL = "IMMEDIATE_OR_CANCEL"


class ExecInst(TextChoices):
    MAKER_OR_CANCEL = "MAKER_OR_CANCEL"
    AUCTION_ONLY = "AUCTION_ONLY"
    INDICATION_OF_INTEREST = "INDICATION_OF_INTEREST"
    CANCEL_ON_DISCONNECT = "CANCEL_ON_DISCONNECT"
    DO_NOT_CANCEL_ON_DISCONNECT = "DO_NOT_CANCEL_ON_DISCONNECT"
    DO_NOT_INCREASE = "DO_NOT_INCREASE"


class InstrumentKind(TextChoices):
    SPOT = "SPOT"
    PERPETUAL = "PERPETUAL"
    FUTURE = "FUTURE"


@dataclass(frozen=True)
class InstrumentSpec:
    symbol_id_exchange: str  # the venue's own symbol, e.g. "OXTUSD"
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_amount: Decimal
    min_notional: Decimal = Decimal(0)
    kind: str = InstrumentKind.SPOT
    inverse: bool = False  # amounts in contracts of `contract_size` quote, settled in the base
    contract_size: Decimal = Decimal(1)
    settlement_asset: str = ""
    expiry: date | None = None


@dataclass(frozen=True)
class OrderIntent:
    client_order_id: str
    symbol_id_exchange: str
    side: OrdSide
    amount: Decimal
    price: Decimal
    time_in_force: TimeInForce
    expire_time: datetime | None = None
    post_only: bool = False
    reduce_only: bool = False  # DO_NOT_INCREASE: never grows or flips the position


@dataclass(frozen=True)
class OrderRef:
    symbol_id_exchange: str
    client_order_id: str | None = None
    exchange_order_id: str | None = None


@dataclass(frozen=True)
class VenueFill:
    trade_id: str
    client_order_id: str | None
    exchange_order_id: str
    time: datetime
    price: Decimal
    amount: Decimal
    fee: Decimal = Decimal(0)
    fee_asset: str = ""
    liquidity: str = ""  # "MAKER" or "TAKER" when the venue says
    symbol_id_exchange: str = ""  # the venue's own symbol, where its trades name it


@dataclass(frozen=True)
class VenueOrder:
    """The venue's report of one order: its status, cumulative fill, and fills it knows of."""

    client_order_id: str | None
    exchange_order_id: str
    symbol_id_exchange: str
    status: OrdStatus  # NEW, PARTIALLY_FILLED, FILLED, CANCELED or REJECTED
    side: OrdSide
    amount: Decimal
    price: Decimal
    amount_filled: Decimal
    avg_px: Decimal = Decimal(0)
    client_order_id_format_exchange: str = ""
    time_in_force: TimeInForce = TimeInForce.GOOD_TILL_CANCEL
    message: str = ""
    fills: tuple[VenueFill, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class VenueBalance:
    asset: str  # the venue's own asset id, e.g. "XXBT"
    balance: Decimal
    available: Decimal
    locked: Decimal
    rate_usd: Decimal | None = None
    asset_common: str = ""  # the common id, e.g. "BTC"; empty when it is the venue's own


@dataclass(frozen=True)
class VenuePosition:
    """A derivative position as the venue reports it. `size` is signed: positive long,
    negative short, zero flat (a flat row still carries the leverage and margin mode)."""

    symbol_id_exchange: str
    size: Decimal
    entry_price: Decimal
    mark_price: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    margin: Decimal  # the initial margin the position holds, in the settlement asset
    maintenance_margin: Decimal
    leverage: Decimal
    cross: bool
    liquidation_price: Decimal | None
    settlement_asset: str
    raw: dict = field(default_factory=dict)  # the rest the venue says (fees, funding, ...)


@dataclass(frozen=True)
class KeyCheck:
    """What a test of an account's key found: whether it works, and what it may do.

    `can_trade` and `can_withdraw` are None where the venue does not say.
    """

    ok: bool
    message: str = ""
    can_trade: bool | None = None
    can_withdraw: bool | None = None


@dataclass(frozen=True)
class MarketBook:
    """A venue's order book as read: (price, size) levels, best first on each side."""

    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True)
class Candle:
    """One OHLCV bar: `start` in epoch seconds, the volume in the base asset."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class Venue(Protocol):
    code: str

    def instruments(self) -> list[InstrumentSpec]: ...

    def submit(self, intent: OrderIntent) -> VenueOrder: ...

    def cancel(self, ref: OrderRef) -> VenueOrder: ...

    def cancel_all(self) -> list[VenueOrder]: ...

    def lookup(self, client_order_id: str, symbol_id_exchange: str) -> VenueOrder | None:
        """The order with this client order id, or None: evidence of absence, not proof."""

    def lookup_by_exchange_id(
        self, exchange_order_id: str, symbol_id_exchange: str
    ) -> VenueOrder | None:
        """The order with this exchange order id, with its fills if it finished; None when the
        venue has no such order or cannot look orders up by its own id. `symbol_id_exchange`
        may be empty where the venue's trades do not name it."""

    def open_orders(self) -> list[VenueOrder]: ...

    def fills_since(self, cursor: str | None) -> tuple[list[VenueFill], str | None]: ...

    def balances(self) -> list[VenueBalance]: ...


# Optional capabilities. An adapter may offer these; callers go through the helpers below (and
# venues.registry.client_order_id_format), so an adapter without them (the paper exchange)
# keeps working unchanged:
# - classmethod client_order_id_for(client_order_id) -> str: the id as the venue is sent it;
# - hint_symbols(symbols): the symbols with open or recent orders;
# - key_check() -> KeyCheck: what the account's key works for;
# - quotes() -> {symbol_id_exchange: (bid, ask, last)}: for the ticket (orders.quotes);
# - book(symbol_id_exchange, depth) -> MarketBook and
#   candles(symbol_id_exchange, timeframe, limit) -> list[Candle] (oldest first): public market
#   data for the trading screen (market.feed), read by workers only for instruments on screen;
# - positions() -> list[VenuePosition] and leverage_set(symbol_id_exchange, leverage, cross):
#   derivatives (venue_positions below).


def hint_symbols(venue: Venue, symbols: Iterable[str]) -> None:
    """Tell a venue which symbols have open or recent orders, for venues that charge heavily
    for calls not scoped to a symbol. Its next `open_orders` and `fills_since` may use them."""
    hint = getattr(venue, "hint_symbols", None)
    if hint is not None:
        hint(sorted(set(symbols)))


def key_check(venue: Venue) -> KeyCheck:
    """Test a venue account's key: its own check where it has one, else a balance read."""
    check = getattr(venue, "key_check", None)
    if check is not None:
        return check()
    venue.balances()
    return KeyCheck(ok=True)


def venue_positions(venue: Venue) -> list[VenuePosition] | None:
    """The venue's derivative positions; None for a venue that holds none (spot only)."""
    read = getattr(venue, "positions", None)
    return read() if read is not None else None
