"""PAPER2: a second, independent paper exchange, so that routing across venues can be tried and
shown without a real one.

Its markets are the paper exchange's markets under their own names in the engine (the symbol
with SUFFIX), so each has its own book, its own walk (the walk is seeded by the name) and its
own candles, starting EMSWEB_PAPER2_PRICE_OFFSET (a fraction: 0.001 is 0.1 % higher; negative
is lower) away from the paper exchange's start price. Its accounts are its own (their keys start
with PAPER2). To the rest of emsweb it speaks the plain names, BTCUSD as on PAPER.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from django.conf import settings

from venues.base import (
    Candle,
    InstrumentSpec,
    MarketBook,
    OrderIntent,
    OrderRef,
    VenueOrder,
    VenuePosition,
)
from venues.paper.adapter import PaperVenue
from venues.paper.markets import MARKETS, MarketDef

SUFFIX = ".2"


@dataclasses.dataclass(frozen=True)
class SecondMarketDef(MarketDef):
    origin: str = ""  # the paper exchange's name of the market, which PAPER2 shows

    def start_price(self) -> Decimal:
        start = settings.EMSWEB_PAPER_START_PRICES.get(self.origin, self.default_start)
        return start * (1 + Decimal(str(settings.EMSWEB_PAPER2_PRICE_OFFSET)))

    def spec(self) -> InstrumentSpec:
        return dataclasses.replace(super().spec(), symbol_id_exchange=self.origin)


def second_market(market: MarketDef) -> SecondMarketDef:
    fields = {f.name: getattr(market, f.name) for f in dataclasses.fields(MarketDef)}
    return SecondMarketDef(**{**fields, "symbol": market.symbol + SUFFIX}, origin=market.symbol)


def second_markets_register() -> None:
    """Add PAPER2's markets to the engine's table (each process, once, when Django starts), and
    the futures listed later as they come."""
    MARKETS.variants[SUFFIX] = second_market
    for symbol, market in list(MARKETS.items()):
        if symbol.endswith(SUFFIX) or isinstance(market, SecondMarketDef):
            continue
        MARKETS[symbol + SUFFIX]  # noqa: B018 - made on first use


def engine_symbol(symbol: str) -> str:
    return symbol + SUFFIX


def shown_symbol(symbol: str) -> str:
    return symbol.removesuffix(SUFFIX)


def _shown(order: VenueOrder) -> VenueOrder:
    return dataclasses.replace(order, symbol_id_exchange=shown_symbol(order.symbol_id_exchange))


class SecondPaperVenue(PaperVenue):
    code = "PAPER2"

    def listed(self, definition: MarketDef) -> bool:
        return definition.symbol.endswith(SUFFIX)

    def submit(self, intent: OrderIntent) -> VenueOrder:
        symbol = engine_symbol(intent.symbol_id_exchange)
        return _shown(super().submit(dataclasses.replace(intent, symbol_id_exchange=symbol)))

    def cancel(self, ref: OrderRef) -> VenueOrder:
        symbol = engine_symbol(ref.symbol_id_exchange)
        return _shown(super().cancel(dataclasses.replace(ref, symbol_id_exchange=symbol)))

    def cancel_all(self) -> list[VenueOrder]:
        return [_shown(order) for order in super().cancel_all()]

    def lookup(self, client_order_id: str, symbol_id_exchange: str) -> VenueOrder | None:
        found = super().lookup(client_order_id, engine_symbol(symbol_id_exchange))
        return _shown(found) if found is not None else None

    def lookup_by_exchange_id(self, exchange_order_id: str, symbol_id_exchange: str):
        found = super().lookup_by_exchange_id(exchange_order_id, engine_symbol(symbol_id_exchange))
        return _shown(found) if found is not None else None

    def open_orders(self) -> list[VenueOrder]:
        return [_shown(order) for order in super().open_orders()]

    def quotes(self) -> dict[str, tuple[Decimal | None, Decimal | None, Decimal | None]]:
        return {
            shown_symbol(symbol): quote
            for symbol, quote in super().quotes().items()
            if symbol.endswith(SUFFIX)
        }

    def book(self, symbol_id_exchange: str, depth: int) -> MarketBook:
        return super().book(engine_symbol(symbol_id_exchange), depth)

    def candles(self, symbol_id_exchange: str, timeframe: str, limit: int) -> list[Candle]:
        return super().candles(engine_symbol(symbol_id_exchange), timeframe, limit)

    def positions(self) -> list[VenuePosition]:
        return [
            dataclasses.replace(held, symbol_id_exchange=shown_symbol(held.symbol_id_exchange))
            for held in super().positions()
        ]

    def leverage_set(self, symbol_id_exchange: str, leverage: Decimal, cross: bool) -> None:
        super().leverage_set(engine_symbol(symbol_id_exchange), leverage, cross)
