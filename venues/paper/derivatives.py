"""Derivatives on the paper exchange: margin, positions, funding and liquidation.

The engine calls these for a market whose definition is not spot; spot paths never reach here.
Every figure is in the market's settlement asset (USDT for the linear perpetual, BTC for the
inverse one) and rounded to `ledger.FEE_QUANTUM`: fees, margins and liquidation fees up, PnL and
funding half-even. The formulas, for a position of signed size q (contracts of size s for an
inverse market) entered at E and marked at M:

- value:        linear |q| * M;              inverse |q| * s / M
- unrealized:   linear q * (M - E);          inverse q * s * (1/E - 1/M)
- initial margin = value at the fill price / leverage; maintenance = value at mark * MMR.
- equity = collateral + unrealized, the collateral being the position's own margin (isolated)
  or that plus the settlement balance nothing else has locked (cross). Below maintenance the
  position is liquidated at mark, and a fee takes what is left of the maintenance margin: it
  never takes more than the collateral.
- adding averages the entry (linear arithmetically, inverse harmonically, as BitMEX did); reducing
  realizes PnL at the fill price and frees margin pro rata.

The caller holds the market's lock and the accounts' (`lock_accounts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from django.conf import settings
from django.db.models import Q

from venues.base import OrderIntent, OrdSide
from venues.errors import Rejected
from venues.paper import ledger, synthetic
from venues.paper.markets import MARKETS, MarketDef
from venues.paper.models import (
    OPEN_STATUSES,
    PaperBalance,
    PaperMarket,
    PaperOrder,
    PaperPosition,
)

QUANTUM = ledger.FEE_QUANTUM
MAINTENANCE_RATE = Decimal("0.005")
MAX_LEVERAGE = Decimal(100)

WOULD_INCREASE = "EOrder:Reduce-only order would increase the position"
WOULD_FLIP = "EOrder:Reduce-only order would flip the position"
INSUFFICIENT_MARGIN = "EOrder:Insufficient margin"
BAD_LEVERAGE = "EGeneral:Invalid arguments:leverage"
OPEN_ORDERS = "EOrder:Cancel the open orders of this market before changing its leverage"
REDUCE_ONLY_DONE = "Reduce-only: the position it reduced is closed"
LIQUIDATED = "Canceled: the position was liquidated"


def _half_even(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, ROUND_HALF_EVEN)


def _sign(value: Decimal) -> int:
    return 1 if value > 0 else -1 if value < 0 else 0


def value(definition: MarketDef, amount: Decimal, price: Decimal) -> Decimal:
    """What `amount` (unsigned) is worth at `price`, in the settlement asset, unrounded."""
    if definition.inverse:
        return amount * definition.contract_size / price
    return amount * definition.contract_size * price


def pnl(definition: MarketDef, size: Decimal, entry: Decimal, price: Decimal) -> Decimal:
    """The PnL of a signed `size` entered at `entry`, valued at `price`, rounded half-even."""
    if definition.inverse:
        return _half_even(size * definition.contract_size * (1 / entry - 1 / price))
    return _half_even(size * definition.contract_size * (price - entry))


# --- Accounts, positions and orders -------------------------------------------------------------


def lock_accounts(market: PaperMarket) -> None:
    """Lock every account with an open order or a position on this (locked) market."""
    resting = PaperOrder.objects.filter(symbol=market.symbol, status__in=OPEN_STATUSES)
    holding = PaperPosition.objects.filter(symbol=market.symbol).exclude(size=0)
    ledger.lock_accounts(
        [
            *resting.values_list("account_id", flat=True),
            *holding.values_list("account_id", flat=True),
        ]
    )


def position(account_id: int, symbol: str) -> PaperPosition:
    return PaperPosition.objects.get_or_create(account_id=account_id, symbol=symbol)[0]


def reservation(definition: MarketDef, order_price, amount, *, leverage, reduce_only) -> Decimal:
    """What an order's unfilled amount locks: the initial margin at its limit (none for a
    reduce-only order, which only frees margin) and the higher fee."""
    worth = value(definition, amount, order_price)
    fee_rate = max(settings.EMSWEB_PAPER_MAKER_FEE, settings.EMSWEB_PAPER_TAKER_FEE)
    margin = Decimal(0) if reduce_only else synthetic.round_up(worth / leverage, QUANTUM)
    return margin + synthetic.round_up(worth * fee_rate, QUANTUM)


def entry_reservation(
    account_id: int, definition: MarketDef, intent: OrderIntent, best_crossing: Decimal | None
) -> Decimal:
    """What a new order locks; Rejected when it is reduce-only and would grow or flip the
    position, counting the reduce-only orders of the same side already open.

    It locks at the price where its amount is worth the most of what it may fill at: its limit,
    or for a linear SELL or an inverse BUY the best level it crosses now (it fills there, and is
    worth more than at its limit). Later fills rest at its limit. So a fill never needs more
    margin and fee than it releases."""
    held = position(account_id, definition.symbol)
    if intent.reduce_only:
        closing = -_sign(held.size) == (1 if intent.side == OrdSide.BUY else -1)
        if not held.size or not closing:
            raise Rejected(WOULD_INCREASE)
        pending = PaperOrder.objects.filter(
            account_id=account_id,
            symbol=definition.symbol,
            side=intent.side,
            reduce_only=True,
            status__in=OPEN_STATUSES,
        ).values_list("amount", "filled")
        if intent.amount + sum(amount - filled for amount, filled in pending) > abs(held.size):
            raise Rejected(WOULD_FLIP)
    price = intent.price
    better_fill_worth_more = definition.inverse == (intent.side == OrdSide.BUY)
    if best_crossing is not None and better_fill_worth_more:
        price = best_crossing
    return reservation(
        definition,
        price,
        intent.amount,
        leverage=held.leverage,
        reduce_only=intent.reduce_only,
    )


def fill(
    order: PaperOrder,
    market: PaperMarket,
    level_index: int,
    amount: Decimal,
    price: Decimal,
    now: datetime,
    *,
    taker: bool,
) -> None:
    """Execute `amount` of a derivative order at `price`: the position moves, the fee goes, the
    reservation shrinks pro rata. A reduce-only order is cut to what the position still holds
    against it, and canceled once there is nothing left to reduce."""
    definition = MARKETS[order.symbol]
    held = position(order.account_id, order.symbol)
    delta = amount if order.side == OrdSide.BUY else -amount
    if order.reduce_only:
        closable = abs(held.size) if _sign(held.size) == -_sign(delta) else Decimal(0)
        amount = min(amount, closable)
        if not amount:
            ledger.close(order, REDUCE_ONLY_DONE, now)
            return
        delta = amount if order.side == OrdSide.BUY else -amount
    fee_rate = settings.EMSWEB_PAPER_TAKER_FEE if taker else settings.EMSWEB_PAPER_MAKER_FEE
    fee = synthetic.round_up(value(definition, amount, price) * fee_rate, QUANTUM)
    remaining = order.remaining - amount
    still_locked = (
        synthetic.round_up(order.locked * remaining / order.remaining, QUANTUM)
        if remaining
        else Decimal(0)
    )
    wallet = ledger.balance(order.account_id, definition.settle)
    wallet.locked -= order.locked - still_locked
    _trade(held, wallet, definition, delta, price, now)
    wallet.total -= fee
    held.fees += fee
    wallet.save(update_fields=["total", "locked"])
    _save(held, now)
    trade = ledger.Trade(price, amount, fee, definition.settle, taker)
    ledger.record_fill(order, market, level_index, trade, still_locked, now)
    if order.reduce_only and order.is_open and not held.size:
        ledger.close(order, REDUCE_ONLY_DONE, now)


def _trade(held, wallet, definition, delta: Decimal, price: Decimal, now: datetime) -> None:
    if held.size and _sign(held.size) != _sign(delta):
        closed = min(abs(delta), abs(held.size))
        _reduce(held, wallet, definition, closed, price)
        delta = _sign(delta) * (abs(delta) - closed)  # what is left opens the other side
    if delta:
        _add(held, wallet, definition, delta, price, now)


def _add(held, wallet, definition, delta: Decimal, price: Decimal, now: datetime) -> None:
    size = abs(held.size)
    if not size:
        held.entry_price = price
        held.funded_at = funding_time(now)
    elif definition.inverse:
        held.entry_price = _half_even(
            (size + abs(delta)) / (size / held.entry_price + abs(delta) / price)
        )
    else:
        held.entry_price = _half_even(
            (size * held.entry_price + abs(delta) * price) / (size + abs(delta))
        )
    margin = synthetic.round_up(value(definition, abs(delta), price) / held.leverage, QUANTUM)
    held.size += delta
    held.margin += margin
    wallet.locked += margin


def _reduce(held, wallet, definition, closed: Decimal, price: Decimal) -> None:
    direction = _sign(held.size)
    realized = pnl(definition, direction * closed, held.entry_price, price)
    freed = (
        held.margin
        if closed == abs(held.size)
        else _half_even(held.margin * closed / abs(held.size))
    )
    held.size -= direction * closed
    held.margin -= freed
    held.realized_pnl += realized
    wallet.locked -= freed
    wallet.total += realized
    if not held.size:
        held.entry_price = Decimal(0)


def _save(held: PaperPosition, now: datetime) -> None:
    held.updated_at = now
    held.save()


# --- Marks: what a position is worth now ---------------------------------------------------------


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


def marked(held: PaperPosition, mark: Decimal, wallet: PaperBalance) -> Marked:
    definition = MARKETS[held.symbol]
    size = abs(held.size)
    if not size:
        return Marked(held, mark, Decimal(0), Decimal(0), Decimal(0), None)
    collateral = held.margin + (wallet.available if held.cross else 0)
    return Marked(
        position=held,
        mark=mark,
        unrealized=pnl(definition, held.size, held.entry_price, mark),
        maintenance=synthetic.round_up(value(definition, size, mark) * MAINTENANCE_RATE, QUANTUM),
        collateral=collateral,
        liquidation_price=liquidation_price(definition, held, collateral),
    )


def liquidation_price(definition: MarketDef, held: PaperPosition, collateral) -> Decimal | None:
    """The mark at which equity equals maintenance (solved from the module's formulas), on the
    tick toward the position (up for a long, down for a short); None when no price reaches it."""
    size, entry, rate = abs(held.size), held.entry_price, MAINTENANCE_RATE
    long = held.size > 0
    if definition.inverse:
        contracts = size * definition.contract_size
        if long:
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


# --- Funding and liquidation, when a market moves -----------------------------------------------


def funding_time(now: datetime) -> datetime:
    """The last funding time at or before `now`: whole intervals since the epoch."""
    interval = settings.EMSWEB_PAPER_FUNDING_SECONDS
    seconds = int(now.timestamp()) // interval * interval
    return datetime.fromtimestamp(seconds, tz=UTC)


def funding_due(symbol: str, now: datetime) -> bool:
    """Whether a position on this market has a funding time to pay since it was last charged."""
    due = funding_time(now)
    return (
        PaperPosition.objects.filter(symbol=symbol)
        .exclude(size=0)
        .filter(Q(funded_at__lt=due) | Q(funded_at__isnull=True))
        .exists()
    )


def settle(market: PaperMarket, now: datetime) -> None:
    """After the market moved or matched: funding for each funding time passed, then the
    liquidation of every position whose equity fell below maintenance."""
    for held in PaperPosition.objects.filter(symbol=market.symbol).exclude(size=0):
        wallet = ledger.balance(held.account_id, MARKETS[market.symbol].settle)
        _fund(held, wallet, market.mid, now)
        state = marked(held, market.mid, wallet)
        if state.equity < state.maintenance:
            _liquidate(state, wallet, now)
        wallet.save(update_fields=["total", "locked"])
        _save(held, now)


def _fund(held: PaperPosition, wallet: PaperBalance, mark: Decimal, now: datetime) -> None:
    """Longs pay shorts `rate` of the value at mark, at each funding time passed (a payer's
    payment stops at what its balance has free)."""
    due = funding_time(now)
    if held.funded_at is not None and held.funded_at >= due:
        return
    since = held.funded_at or due - timedelta(seconds=settings.EMSWEB_PAPER_FUNDING_SECONDS)
    times = int((due - since).total_seconds()) // settings.EMSWEB_PAPER_FUNDING_SECONDS
    worth = value(MARKETS[held.symbol], abs(held.size), mark)
    paid = _half_even(times * worth * settings.EMSWEB_PAPER_FUNDING_RATE * _sign(held.size))
    paid = min(paid, wallet.available)
    wallet.total -= paid
    held.funding -= paid
    held.funded_at = due


def _liquidate(state: Marked, wallet: PaperBalance, now: datetime) -> None:
    """Close the position at mark; the fee takes the rest of the maintenance margin, and the
    loss never exceeds the collateral."""
    held = state.position
    for order in PaperOrder.objects.filter(
        account_id=held.account_id, symbol=held.symbol, status__in=OPEN_STATUSES
    ):
        ledger.close(order, LIQUIDATED, now)
    wallet.refresh_from_db(fields=["locked"])  # the closes released their reservations
    realized = max(state.unrealized, -state.collateral)
    fee = min(state.maintenance, state.collateral + realized)
    wallet.locked -= held.margin
    wallet.total += realized - fee
    held.realized_pnl += realized
    held.fees += fee
    held.size = held.margin = held.entry_price = Decimal(0)
    held.liquidated_at = now


# --- Leverage and reads --------------------------------------------------------------------------


def leverage_set(account_id: int, symbol: str, leverage: Decimal, cross: bool) -> PaperPosition:
    """Set the account's leverage and margin mode on a market with no open order of the
    account. An open position's margin is recomputed at its entry: more margin needs the
    balance free for it (else Rejected)."""
    definition = MARKETS[symbol]
    if not leverage.is_finite() or not 1 <= leverage <= MAX_LEVERAGE:
        raise Rejected(BAD_LEVERAGE)
    if PaperOrder.objects.filter(
        account_id=account_id, symbol=symbol, status__in=OPEN_STATUSES
    ).exists():
        raise Rejected(OPEN_ORDERS)  # their locks were taken at the old leverage
    held = position(account_id, symbol)
    wallet = ledger.balance(account_id, definition.settle)
    margin = Decimal(0)
    if held.size:
        worth = value(definition, abs(held.size), held.entry_price)
        margin = synthetic.round_up(worth / leverage, QUANTUM)
        if margin - held.margin > wallet.available:
            raise Rejected(INSUFFICIENT_MARGIN)
    wallet.locked += margin - held.margin
    wallet.save(update_fields=["locked"])
    held.leverage, held.cross, held.margin = leverage, cross, margin
    held.save()
    return held
