"""The paper exchange's own one-minute candles: each market's mid at every step and the price
of every trade, recorded under the market's lock (so one writer per market at a time).

Before its first recorded minute a market has a made-up past, as the market itself is made up:
the seeded walk run backwards, the same on every read and never stored, so that a chart has a
history from the first minute it is shown."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import F, Value
from django.db.models.functions import Greatest, Least

from venues.base import Candle
from venues.paper.markets import MARKETS, STEP_VOLATILITY_BPS
from venues.paper.models import PaperCandle, PaperMarket
from venues.paper.synthetic import ticks

KEPT = 500  # minutes of history per market
STEPS_A_MINUTE = 30  # at the default tick (2 s): how far a made-up minute's prices spread
ZERO = Decimal(0)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def candle_record(symbol: str, at: datetime, price: Decimal, volume: Decimal = ZERO) -> None:
    """Add a price (and a traded amount) to the minute of `at`. The caller holds the market:
    one statement when the minute has begun, which is nearly always."""
    start = minute_of(at)
    minute = PaperCandle.objects.filter(symbol=symbol, start=start)
    price_value = Value(price, output_field=PaperCandle._meta.get_field("close"))
    updated = minute.update(
        high=Greatest(F("high"), price_value),
        low=Least(F("low"), price_value),
        close=price_value,
        volume=F("volume") + volume,
    )
    if updated:
        return
    prices = {"open": price, "high": price, "low": price, "close": price}
    PaperCandle.objects.create(symbol=symbol, start=start, volume=volume, **prices)
    old = PaperCandle.objects.filter(symbol=symbol, start__lt=start - timedelta(minutes=KEPT))
    old.delete()


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
    if len(candles) < limit:
        candles = prehistory(market.symbol, candles[0], limit - len(candles)) + candles
    return candles[-limit:]


def prehistory(symbol: str, first: Candle, count: int) -> list[Candle]:
    """The `count` made-up minutes before `first`, oldest first, ending at its open; seeded by
    EMSWEB_PAPER_SEED, the symbol and the minute. Nothing traded in them."""
    tick = MARKETS[symbol].tick_size
    close = ticks(first.open, tick)
    bars = []
    for back in range(1, count + 1):
        start = first.start - 60 * back
        rng = random.Random(f"{settings.EMSWEB_PAPER_SEED}:{symbol}:minute:{start}")
        spread = close * STEP_VOLATILITY_BPS / 10_000 * STEPS_A_MINUTE**0.5
        open_ = max(1, close + round(rng.gauss(0.0, spread)))
        high = max(open_, close) + abs(round(rng.gauss(0.0, spread / 3)))
        low = max(1, min(open_, close) - abs(round(rng.gauss(0.0, spread / 3))))
        prices = (Decimal(n) * tick for n in (open_, high, low, close))
        bars.append(Candle(start, *prices, ZERO))
        close = open_
    return bars[::-1]
