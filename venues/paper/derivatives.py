"""Derivatives on the paper exchange: what orders lock, what fills do to positions, leverage.

The engine calls these for a market whose definition is not spot; spot paths never reach here.
Every figure is in the market's settlement asset (USDT for the linear perpetual, BTC for the
inverse one) and rounded to `ledger.FEE_QUANTUM`: fees, margins and liquidation fees up, PnL and
funding half-even. The formulas, for a position of signed size q (contracts of size s for an
inverse market) entered at E and marked at M:

- value:        linear |q| * M;              inverse |q| * s / M
- unrealized:   linear q * (M - E);          inverse q * s * (1/E - 1/M)
- initial margin = value at the fill price / leverage; maintenance = value at mark * MMR.
- equity = collateral + unrealized (venues.paper.marks says what backs a position, isolated
  or cross); below maintenance the position is liquidated at mark, and a fee takes what is
  left of the maintenance margin: it never takes more than the collateral
  (venues.paper.settlement, with funding and a future's expiry).
- adding averages the entry (linear arithmetically, inverse harmonically, as BitMEX did); reducing
  realizes PnL at the fill price and frees margin pro rata.

The caller holds the market's lock and the accounts' (`lock_accounts`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings

from venues.base import OrderIntent, OrdSide
from venues.errors import Rejected
from venues.paper import ledger, synthetic
from venues.paper.markets import MARKETS, MarketDef
from venues.paper.models import (
    OPEN_STATUSES,
    PaperMarket,
    PaperOrder,
    PaperPosition,
)

QUANTUM = ledger.FEE_QUANTUM
MAX_LEVERAGE = Decimal(100)

WOULD_INCREASE = "EOrder:Reduce-only order would increase the position"
WOULD_FLIP = "EOrder:Reduce-only order would flip the position"
INSUFFICIENT_MARGIN = "EOrder:Insufficient margin"
BAD_LEVERAGE = "EGeneral:Invalid arguments:leverage"
OPEN_ORDERS = "EOrder:Cancel the open orders of this market before changing its leverage"
REDUCE_ONLY_DONE = "Reduce-only: the position it reduced is closed"


def half_even(value: Decimal) -> Decimal:
    return value.quantize(QUANTUM, ROUND_HALF_EVEN)


def sign(value: Decimal) -> int:
    return 1 if value > 0 else -1 if value < 0 else 0


def value(definition: MarketDef, amount: Decimal, price: Decimal) -> Decimal:
    """What `amount` (unsigned) is worth at `price`, in the settlement asset, unrounded."""
    if definition.inverse:
        return amount * definition.contract_size / price
    return amount * definition.contract_size * price


def pnl(definition: MarketDef, size: Decimal, entry: Decimal, price: Decimal) -> Decimal:
    """The PnL of a signed `size` entered at `entry`, valued at `price`, rounded half-even."""
    if definition.inverse:
        return half_even(size * definition.contract_size * (1 / entry - 1 / price))
    return half_even(size * definition.contract_size * (price - entry))


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
        closing = -sign(held.size) == (1 if intent.side == OrdSide.BUY else -1)
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
        closable = abs(held.size) if sign(held.size) == -sign(delta) else Decimal(0)
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
    if held.size and sign(held.size) != sign(delta):
        closed = min(abs(delta), abs(held.size))
        _reduce(held, wallet, definition, closed, price)
        delta = sign(delta) * (abs(delta) - closed)  # what is left opens the other side
    if delta:
        _add(held, wallet, definition, delta, price, now)


def _add(held, wallet, definition, delta: Decimal, price: Decimal, now: datetime) -> None:
    size = abs(held.size)
    if not size:
        held.entry_price = price
        held.funded_at = funding_time(now)
    elif definition.inverse:
        held.entry_price = half_even(
            (size + abs(delta)) / (size / held.entry_price + abs(delta) / price)
        )
    else:
        held.entry_price = half_even(
            (size * held.entry_price + abs(delta) * price) / (size + abs(delta))
        )
    margin = synthetic.round_up(value(definition, abs(delta), price) / held.leverage, QUANTUM)
    held.size += delta
    held.margin += margin
    wallet.locked += margin


def _reduce(held, wallet, definition, closed: Decimal, price: Decimal) -> None:
    direction = sign(held.size)
    realized = pnl(definition, direction * closed, held.entry_price, price)
    freed = (
        held.margin
        if closed == abs(held.size)
        else half_even(held.margin * closed / abs(held.size))
    )
    held.size -= direction * closed
    held.margin -= freed
    held.realized_pnl += realized
    wallet.locked -= freed
    wallet.total += realized
    if not held.size:
        held.entry_price = Decimal(0)


def funding_time(now: datetime) -> datetime:
    """The last funding time at or before `now`: whole intervals since the epoch."""
    interval = settings.EMSWEB_PAPER_FUNDING_SECONDS
    seconds = int(now.timestamp()) // interval * interval
    return datetime.fromtimestamp(seconds, tz=UTC)


def _save(held: PaperPosition, now: datetime) -> None:
    held.updated_at = now
    held.save()


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
