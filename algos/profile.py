"""VWAP's volume profile: how the venue's volume spreads over the minutes of the hour, from its
recent one-minute candles (the paper exchange keeps its own). Read once, when the parent starts,
and stored with it: the schedule is then fixed in the database, the same on every replay."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from accounts.models import ExchangeAccount
from accounts.services import account_venue
from orders.models import Instrument
from venues.errors import VenueError

MINUTES = 60
HISTORY = 180  # three hours of candles: each minute of the hour counted three times


def volume_profile(*, account: ExchangeAccount, instrument: Instrument) -> list[Decimal]:
    """The average volume of each minute of the hour (index 0 is minute :00), or [] when the
    venue has no candles to give (the schedule is then even, as a TWAP's)."""
    try:
        candles = account_venue(account=account).candles(
            instrument.symbol_id_exchange, "1m", HISTORY
        )
    except (VenueError, AttributeError):
        return []
    totals = [Decimal(0)] * MINUTES
    counts = [0] * MINUTES
    for candle in candles:
        minute = datetime.fromtimestamp(candle.start, UTC).minute
        totals[minute] += candle.volume
        counts[minute] += 1
    if not any(totals):
        return []
    pairs = zip(totals, counts, strict=True)
    return [total / count if count else Decimal(0) for total, count in pairs]
