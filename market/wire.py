"""What the trading screen is sent over /stream/market, and the Redis names both sides share.

Every message is JSON text with a "type"; prices and sizes are decimal strings (never floats):
- {"type": "book", "bids": [[price, size], ...], "asks": [...], "read_at": <epoch s>}: best first;
- {"type": "candles", "timeframe": "1m", "candles": [[t, o, h, l, c, v], ...], "read_at": ...}:
  the whole history, oldest first (t: the bar's start, epoch s);
- {"type": "candle", "timeframe": "1m", "candle": [t, o, h, l, c, v], "read_at": ...}: the last
  bar changed, or a new one began;
- {"type": "status", "state": <STATE>, "message": <words for a trader>, "read_at": ... | null}:
  read_at is the book's when the status is about its age (stale, unreachable).
Workers publish the first three as they read them, ready to send; the web process adds status.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from emsweb.api.wire import wire_decimal
from emsweb.redis import pubsub_channel
from venues.base import Candle, MarketBook

PREFIX = "emsweb:market"
TIMEFRAME = "1m"
BOOK_LEVELS = 10  # a side, as the screen is sent them
CANDLES_KEPT = 300
KEEP_SECONDS = 120  # what workers store expires unless read again


class State:
    """A status message's states: what the trader sees, and why."""

    LIVE = "live"
    WAITING = "waiting"  # nothing read yet
    STALE = "stale"  # the last read is older than a few seconds
    THROTTLED = "throttled"  # not read: orders, cancels and syncs have the budget
    VENUE_UNREACHABLE = "venue_unreachable"
    REFUSED = "refused"  # the venue refused the read (an unknown market, say)
    NO_MARKET_DATA = "no_market_data"  # the venue gives none to emsweb
    KEY_REFUSED = "key_refused"  # the account's key (its alert)
    ACCOUNT_ALERT = "account_alert"  # another alert that needs a person (a nonce refused)
    SYNC_FAILED = "sync_failed"  # the account's last sync failed
    DISABLED = "disabled"  # the account is disabled


@dataclass(frozen=True, order=True)
class Feed:
    """One instrument's market data, as read from one venue (live or its sandbox)."""

    venue: str
    sandbox: bool
    symbol: str

    @property
    def name(self) -> str:
        return f"{self.venue}|{'sandbox' if self.sandbox else 'live'}|{self.symbol}"

    @property
    def channel(self) -> str:
        return pubsub_channel(f"{PREFIX}:feed:{self.name}")

    def key(self, what: str) -> str:
        """Where the latest `what` (book, candles, status) is kept."""
        return f"{PREFIX}:{what}:{self.name}"


def account_channel(account_id: int) -> str:
    """Where the account's status is published, and kept (the same name as its key)."""
    return pubsub_channel(f"{PREFIX}:account:{account_id}")


def text(value: Decimal) -> str:
    """The value's own digits, as a plain decimal string."""
    return format(wire_decimal(value), "f")


def _row(candle: Candle) -> list:
    prices = (candle.open, candle.high, candle.low, candle.close, candle.volume)
    return [candle.start, *(text(value) for value in prices)]


def _dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"))


def book_message(book: MarketBook, *, read_at: float) -> str:
    return _dumps(
        {
            "type": "book",
            "bids": [[text(price), text(size)] for price, size in book.bids],
            "asks": [[text(price), text(size)] for price, size in book.asks],
            "read_at": round(read_at, 3),
        }
    )


def candles_message(candles: Iterable[Candle], *, read_at: float) -> str:
    return _dumps(
        {
            "type": "candles",
            "timeframe": TIMEFRAME,
            "candles": [_row(candle) for candle in candles],
            "read_at": round(read_at, 3),
        }
    )


def candle_message(candle: Candle, *, read_at: float) -> str:
    return _dumps(
        {
            "type": "candle",
            "timeframe": TIMEFRAME,
            "candle": _row(candle),
            "read_at": round(read_at, 3),
        }
    )


def status_message(state: str, message: str, *, read_at: float | None = None) -> str:
    return _dumps({"type": "status", "state": state, "message": message, "read_at": read_at})
