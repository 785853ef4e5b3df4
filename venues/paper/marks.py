"""What a derivative position is worth now: its mark, unrealized PnL, maintenance margin, the
collateral backing it and its liquidation price (venues.paper.derivatives has the formulas).

An isolated position is backed by its own margin. The cross positions of one account settled in
one asset share a pool: the balance of that asset nothing else has locked (orders, isolated
positions) plus their own margins. They are liquidated together when the pool's equity (pool +
their unrealized PnL) falls below the sum of their maintenance margins, as BitMEX's and
Binance's cross margin. So a cross position's collateral is the pool with the other cross
positions' unrealized PnL less their maintenance (they held at their marks): its equity is
below its maintenance exactly when the pool's is below theirs together, and its liquidation
price is where that happens.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from venues.paper import synthetic
from venues.paper.derivatives import QUANTUM, pnl, value
from venues.paper.markets import MARKETS, MarketDef
from venues.paper.models import PaperBalance, PaperPosition

MAINTENANCE_RATE = Decimal("0.005")


@dataclass(frozen=True)
class Marked:
    position: PaperPosition
    mark: Decimal
    unrealized: Decimal
    maintenance: Decimal
    collateral: Decimal
    liquidation_price: Decimal | None

    @property
    def equity(self) -> Decimal:
        return self.collateral + self.unrealized


def maintenance(held: PaperPosition, mark: Decimal) -> Decimal:
    worth = value(MARKETS[held.symbol], abs(held.size), mark)
    return synthetic.round_up(worth * MAINTENANCE_RATE, QUANTUM)


def positions_marked(
    positions: list[PaperPosition], mids: dict[str, Decimal], wallets: dict[str, PaperBalance]
) -> list[Marked]:
    """Each of one account's positions at its market's mid (`mids` by symbol), its collateral
    as the module says; `wallets` by asset. A cross position's collateral counts the other
    cross positions given: give them all."""
    figures = {}
    pools, nets = defaultdict(Decimal), defaultdict(Decimal)
    for held in positions:
        if not held.size:
            continue
        mark = mids[held.symbol]
        definition = MARKETS[held.symbol]
        unrealized = pnl(definition, held.size, held.entry_price, mark)
        figures[held.pk] = (unrealized, maintenance(held, mark))
        if held.cross:
            pools[definition.settle] += held.margin
            nets[definition.settle] += unrealized - figures[held.pk][1]
    marked = []
    for held in positions:
        mark = mids[held.symbol]
        if not held.size:
            marked.append(Marked(held, mark, Decimal(0), Decimal(0), Decimal(0), None))
            continue
        definition = MARKETS[held.symbol]
        unrealized, kept = figures[held.pk]
        collateral = held.margin
        if held.cross:
            shared = wallets[definition.settle].available + pools[definition.settle]
            collateral = shared + nets[definition.settle] - (unrealized - kept)
        marked.append(
            Marked(
                position=held,
                mark=mark,
                unrealized=unrealized,
                maintenance=kept,
                collateral=collateral,
                liquidation_price=liquidation_price(definition, held, collateral),
            )
        )
    return marked


def liquidation_price(definition: MarketDef, held: PaperPosition, collateral) -> Decimal | None:
    """The mark at which equity equals maintenance (solved from the module's formulas), on the
    tick toward the position (up for a long, down for a short); None when no price reaches it."""
    size, entry, rate = abs(held.size), held.entry_price, MAINTENANCE_RATE
    long = held.size > 0
    if definition.inverse:
        contracts = size * definition.contract_size
        if long:
            if collateral + contracts / entry <= 0:
                return None
            price = contracts * (1 + rate) / (collateral + contracts / entry)
        elif contracts / entry > collateral:
            price = contracts * (1 - rate) / (contracts / entry - collateral)
        else:
            return None
    else:
        per_unit = collateral / (size * definition.contract_size)
        price = (entry - per_unit) / (1 - rate) if long else (entry + per_unit) / (1 + rate)
    if price <= 0:
        return None
    rounding = ROUND_CEILING if long else ROUND_FLOOR
    return synthetic.on_multiple(price, definition.tick_size, rounding)
