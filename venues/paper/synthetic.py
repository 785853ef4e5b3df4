"""The synthetic book and the random walk: pure functions of a market's state, no queries.

Money never goes through float: the walk draws a float but turns it into a whole number of
ticks before it touches a price.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import NamedTuple

from django.conf import settings

from venues.base import OrdSide
from venues.paper.markets import (
    BOOK_LEVELS,
    LEVEL_GAP_BPS,
    MARKETS,
    SPREAD_BPS,
    STEP_VOLATILITY_BPS,
)
from venues.paper.models import PaperMarket


class Level(NamedTuple):
    price: Decimal
    size: Decimal  # base amount still available during this step


@dataclass(frozen=True)
class Book:
    bids: list[Level]  # best (highest) first
    asks: list[Level]  # best (lowest) first


def on_multiple(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    return (value / step).to_integral_value(rounding) * step


def ticks(price: Decimal, tick: Decimal) -> int:
    return int((price / tick).to_integral_value(ROUND_HALF_EVEN))


def round_up(value: Decimal, quantum: Decimal) -> Decimal:
    return value.quantize(quantum, rounding=ROUND_UP)


def walk_ticks(symbol: str, step: int, mid_ticks: int) -> int:
    """The mid's move at this step, in whole ticks: the same for the same seed, symbol and step."""
    rng = random.Random(f"{settings.EMSWEB_PAPER_SEED}:{symbol}:{step}")
    return round(rng.gauss(0.0, mid_ticks * STEP_VOLATILITY_BPS / 10_000))


def begin_step(market: PaperMarket, mid: Decimal) -> None:
    market.mid = mid
    market.step += 1
    market.consumed = {}


def random_step(market: PaperMarket) -> None:
    tick = MARKETS[market.symbol].tick_size
    mid_ticks = ticks(market.mid, tick)
    moved = mid_ticks + walk_ticks(market.symbol, market.step + 1, mid_ticks)
    begin_step(market, max(moved, 1) * tick)


def opposite(side: str) -> str:
    """The book side an order of this side trades against."""
    return "asks" if side == OrdSide.BUY else "bids"


def full_side(market: PaperMarket, book_side: str) -> list[Level]:
    """One side of the book before this step's consumption: the spread around the mid, then a
    level every LEVEL_GAP_BPS, each half the best level's size bigger than the one before."""
    definition = MARKETS[market.symbol]
    tick = definition.tick_size
    mid_ticks = ticks(market.mid, tick)
    half_spread = max(1, mid_ticks * SPREAD_BPS // 20_000)
    gap = max(1, mid_ticks * LEVEL_GAP_BPS // 10_000)
    direction = 1 if book_side == "asks" else -1
    return [
        Level(
            price=(market.mid + direction * (half_spread + depth * gap) * tick).quantize(tick),
            size=on_multiple(
                definition.level_size * (2 + depth) / 2, definition.lot_size, ROUND_DOWN
            ),
        )
        for depth in range(BOOK_LEVELS)
    ]


def available(market: PaperMarket, book_side: str) -> list[tuple[int, Level]]:
    """(level index, level) for each level with liquidity left in this step, best first."""
    consumed = market.consumed.get(book_side, [])
    levels = []
    for index, level in enumerate(full_side(market, book_side)):
        taken = Decimal(consumed[index]) if index < len(consumed) else Decimal(0)
        if level.price > 0 and level.size > taken:
            levels.append((index, Level(level.price, level.size - taken)))
    return levels


def crossing(market: PaperMarket, side: str, limit: Decimal) -> list[tuple[int, Level]]:
    """The levels an order of this side and limit can trade with now, best first."""
    book_side = opposite(side)
    if side == OrdSide.BUY:
        return [(i, level) for i, level in available(market, book_side) if level.price <= limit]
    return [(i, level) for i, level in available(market, book_side) if level.price >= limit]


def consume(market: PaperMarket, book_side: str, index: int, amount: Decimal) -> None:
    consumed = market.consumed.setdefault(book_side, ["0"] * BOOK_LEVELS)
    consumed[index] = str(Decimal(consumed[index]) + amount)
