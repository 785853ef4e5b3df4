"""The paper exchange's own one-minute candles: each market's mid at every step and the price
of every trade, recorded under the market's lock (so one writer per market at a time)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from venues.base import Candle
from venues.paper.models import PaperCandle, PaperMarket

KEPT = 500  # minutes of history per market
ZERO = Decimal(0)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def candle_record(symbol: str, at: datetime, price: Decimal, volume: Decimal = ZERO) -> None:
    """Add a price (and a traded amount) to the minute of `at`. The caller holds the market."""
    start = minute_of(at)
    candle = PaperCandle.objects.filter(symbol=symbol, start=start).first()
    if candle is None:
        PaperCandle.objects.create(
            symbol=symbol,
            start=start,
            open=price,
            high=price,
            low=price,
            close=price,
            volume=volume,
        )
        old = PaperCandle.objects.filter(symbol=symbol, start__lt=start - timedelta(minutes=KEPT))
        old.delete()
        return
    candle.high, candle.low = max(candle.high, price), min(candle.low, price)
    candle.close = price
    candle.volume += volume
    candle.save(update_fields=["high", "low", "close", "volume"])


def candles_get(market: PaperMarket, now: datetime, limit: int) -> list[Candle]:
    """The market's last `limit` minutes, oldest first. A minute with no step or trade yet (a
    frozen market) shows the mid it stands at, with nothing traded."""
    rows = list(PaperCandle.objects.filter(symbol=market.symbol).order_by("-start")[:limit])
    candles = [
        Candle(int(row.start.timestamp()), row.open, row.high, row.low, row.close, row.volume)
        for row in reversed(rows)
    ]
    current = int(minute_of(now).timestamp())
    if not candles or candles[-1].start < current:
        mid = market.mid
        candles.append(Candle(current, mid, mid, mid, mid, ZERO))
    return candles[-limit:]
