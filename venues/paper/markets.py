"""The paper exchange's markets: their static rules and the shape of their synthetic books.

Only the moving state (mid, step, consumed liquidity) lives in the database, in PaperMarket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.conf import settings

from venues.base import InstrumentSpec


@dataclass(frozen=True)
class MarketDef:
    symbol: str  # the concatenated form, like Kraken's: "OXTUSD"
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_amount: Decimal
    min_notional: Decimal  # in the quote asset
    default_start: Decimal  # used when EMSWEB_PAPER_START_PRICES has no price for the symbol
    level_size: Decimal  # base amount at the best level; deeper levels hold more
    kind: str = "SPOT"  # SPOT, PERPETUAL or FUTURE (venues.base.InstrumentKind)
    inverse: bool = False  # amounts in contracts of `contract_size` quote, settled in the base
    contract_size: Decimal = Decimal(1)
    settle: str = ""  # the settlement asset of a derivative
    expiry: date | None = None  # a future's

    @property
    def is_derivative(self) -> bool:
        return self.kind != "SPOT"

    def start_price(self) -> Decimal:
        return settings.EMSWEB_PAPER_START_PRICES.get(self.symbol, self.default_start)

    def spec(self) -> InstrumentSpec:
        return InstrumentSpec(
            symbol_id_exchange=self.symbol,
            base=self.base,
            quote=self.quote,
            tick_size=self.tick_size,
            lot_size=self.lot_size,
            min_amount=self.min_amount,
            min_notional=self.min_notional,
            kind=self.kind,
            inverse=self.inverse,
            contract_size=self.contract_size,
            settlement_asset=self.settle,
            expiry=self.expiry,
        )


MARKETS: dict[str, MarketDef] = {
    market.symbol: market
    for market in (
        MarketDef(
            symbol="BTCUSD",
            base="BTC",
            quote="USD",
            tick_size=Decimal("0.1"),
            lot_size=Decimal("0.0001"),
            min_amount=Decimal("0.0001"),
            min_notional=Decimal(5),
            default_start=Decimal(50000),
            level_size=Decimal("0.5"),
        ),
        MarketDef(
            symbol="ETHUSD",
            base="ETH",
            quote="USD",
            tick_size=Decimal("0.01"),
            lot_size=Decimal("0.001"),
            min_amount=Decimal("0.001"),
            min_notional=Decimal(5),
            default_start=Decimal(3000),
            level_size=Decimal(10),
        ),
        MarketDef(
            symbol="OXTUSD",
            base="OXT",
            quote="USD",
            tick_size=Decimal("0.00001"),
            lot_size=Decimal("0.1"),
            min_amount=Decimal(10),
            min_notional=Decimal(1),
            default_start=Decimal("0.11"),
            level_size=Decimal(250000),
        ),
        MarketDef(
            symbol="USDJPY",
            base="USD",
            quote="JPY",
            tick_size=Decimal("0.001"),
            lot_size=Decimal("0.01"),
            min_amount=Decimal(10),
            min_notional=Decimal(1000),
            default_start=Decimal(150),
            level_size=Decimal(30000),
        ),
        MarketDef(
            symbol="BTCUSDT-PERP",
            base="BTC",
            quote="USDT",
            tick_size=Decimal("0.1"),
            lot_size=Decimal("0.001"),
            min_amount=Decimal("0.001"),
            min_notional=Decimal(5),
            default_start=Decimal(50000),
            level_size=Decimal("0.5"),
            kind="PERPETUAL",
            settle="USDT",
        ),
        MarketDef(
            symbol="XBTUSD",
            base="BTC",
            quote="USD",
            tick_size=Decimal("0.5"),
            lot_size=Decimal(1),
            min_amount=Decimal(1),
            min_notional=Decimal(0),
            default_start=Decimal(50000),
            level_size=Decimal(25000),
            kind="PERPETUAL",
            inverse=True,
            settle="BTC",
        ),
    )
}

# What a new paper account holds.
FUNDING: dict[str, Decimal] = {
    "USD": Decimal(100000),
    "BTC": Decimal(2),
    "ETH": Decimal(30),
    "OXT": Decimal(10000),
    "JPY": Decimal(1000000),
    "USDT": Decimal(100000),
}

ASSETS: tuple[str, ...] = tuple(
    sorted({m.base for m in MARKETS.values()} | {m.quote for m in MARKETS.values()} | set(FUNDING))
)

# The synthetic book, the same shape on every market, in basis points of the mid. Each bound
# is at least one tick, so that a market priced in few ticks still has a spread.
BOOK_LEVELS = 5
SPREAD_BPS = 4  # best ask - best bid
LEVEL_GAP_BPS = 2  # between consecutive levels on one side
STEP_VOLATILITY_BPS = 7  # standard deviation of the mid's move per step
