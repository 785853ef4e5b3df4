"""The paper exchange's markets: their static rules and the shape of their synthetic books.

Only the moving state (mid, step, consumed liquidity) lives in the database, in PaperMarket.

Beside spot and the two perpetuals, one dated future per perpetual, on the next quarterly expiry
(the last Friday of March, June, September and December, at 08:00 UTC as Deribit's): linear
`BTCUSDT-261225`, inverse `XBTUSD-261225`. A future's definition is made from its symbol on first
use, for any quarterly expiry (an expired one's positions and orders outlive its listing);
`listed(now)` is what trades now.
"""

from __future__ import annotations

import calendar
import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
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

    @property
    def expires_at(self) -> datetime | None:
        return datetime.combine(self.expiry, EXPIRY_TIME) if self.expiry else None

    def expired(self, now: datetime) -> bool:
        return self.expiry is not None and now >= self.expires_at

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


EXPIRY_TIME = time(8, tzinfo=UTC)
QUARTER_MONTHS = (3, 6, 9, 12)


class MarketTable(dict):
    """The definitions by engine symbol. A missing one is made on first use: a dated future's
    from its symbol, a derived venue's (PAPER2's, by its suffix in `variants`) from the market
    it copies. Anything else is a KeyError."""

    def __init__(self, markets) -> None:
        super().__init__(markets)
        self.variants: dict[str, Callable[[MarketDef], MarketDef]] = {}

    def __missing__(self, symbol: str) -> MarketDef:
        for suffix, derive in self.variants.items():
            if symbol.endswith(suffix):
                definition = derive(self[symbol.removesuffix(suffix)])
                break
        else:
            definition = future_from_symbol(symbol)
        self[symbol] = definition
        return definition


SPOT_AND_PERPETUALS: dict[str, MarketDef] = {
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
MARKETS: MarketTable = MarketTable(SPOT_AND_PERPETUALS)  # the futures join it as they are used

# The perpetual each dated future copies (all but its symbol, kind and expiry), by the future's
# symbol before its expiry: BTCUSDT-261225, XBTUSD-261225.
FUTURE_OF = {"BTCUSDT": "BTCUSDT-PERP", "XBTUSD": "XBTUSD"}
FUTURE_SYMBOL = re.compile(r"^(?P<root>[A-Z]+)-(?P<expiry>\d{6})$")


def quarterly_expiry(year: int, month: int) -> date:
    """The last Friday of the month."""
    last = date(year, month, calendar.monthrange(year, month)[1])
    return last.replace(day=last.day - (last.weekday() - calendar.FRIDAY) % 7)


def next_quarterly_expiry(now: datetime) -> date:
    """The first quarterly expiry whose time (08:00 UTC) is after `now`."""
    year, month = now.year, now.month
    while True:
        if month in QUARTER_MONTHS:
            expiry = quarterly_expiry(year, month)
            if datetime.combine(expiry, EXPIRY_TIME) > now:
                return expiry
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def future_from_symbol(symbol: str) -> MarketDef:
    """The dated future this symbol names, on a quarterly expiry; KeyError for anything else."""
    match = FUTURE_SYMBOL.match(symbol)
    if match is None or match["root"] not in FUTURE_OF:
        raise KeyError(symbol)
    try:
        expiry = datetime.strptime(match["expiry"], "%y%m%d").date()
    except ValueError:
        raise KeyError(symbol) from None
    if expiry.month not in QUARTER_MONTHS or expiry != quarterly_expiry(expiry.year, expiry.month):
        raise KeyError(symbol)
    perpetual = MARKETS[FUTURE_OF[match["root"]]]
    return dataclasses.replace(perpetual, symbol=symbol, kind="FUTURE", expiry=expiry)


def listed(now: datetime) -> list[MarketDef]:
    """The markets trading at `now`: spot, the perpetuals and the futures of the next quarterly
    expiry (with their derived venues' copies, made when new); not the expired futures, nor
    those of later expiries that some clock's `now` made."""
    expiry = next_quarterly_expiry(now)
    for root in FUTURE_OF:
        symbol = f"{root}-{expiry:%y%m%d}"
        for suffix in ("", *MARKETS.variants):
            MARKETS[symbol + suffix]  # noqa: B018 - made on first use
    return [
        definition
        for definition in list(MARKETS.values())
        if definition.expiry is None or definition.expiry == expiry
    ]


def is_variant(definition: MarketDef) -> bool:
    """Whether the market is a derived venue's copy (PAPER2's) rather than the exchange's own."""
    return any(definition.symbol.endswith(suffix) for suffix in MARKETS.variants)


listed(datetime.now(UTC))

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
