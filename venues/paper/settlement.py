"""What happens to derivative positions as their markets move: funding on perpetuals, liquidation
below maintenance (venues.paper.marks), and a dated future's settlement at its expiry.

A position closed here, by liquidation or settlement, is closed as the venue shows it: by an
order of the exchange's own (no client order id) filled at the mark, with its trade, so that
the account's order history and fills show it. The caller holds the market's lock and the
accounts' (`derivatives.lock_accounts`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Q

from venues.base import InstrumentKind, OrdSide, TimeInForce
from venues.paper import ledger
from venues.paper.derivatives import funding_time, half_even, pnl, sign, value
from venues.paper.markets import MARKETS
from venues.paper.marks import Marked, positions_marked
from venues.paper.models import (
    OPEN_STATUSES,
    Liquidity,
    PaperBalance,
    PaperMarket,
    PaperOrder,
    PaperPosition,
    PaperStatus,
    PaperTrade,
)

LIQUIDATED = "Canceled: the position was liquidated"
LIQUIDATION = "Liquidation: the position's margin fell below maintenance; closed at the mark"
SETTLED = "Canceled: the future expired"
SETTLEMENT = "Settlement: the future expired; closed at the mark"


# --- Funding -------------------------------------------------------------------------------------


def funding_due(symbol: str, now: datetime) -> bool:
    """Whether a position on this perpetual has a funding time to pay since it was last
    charged (a future pays none)."""
    if MARKETS[symbol].kind != InstrumentKind.PERPETUAL:
        return False
    due = funding_time(now)
    return (
        PaperPosition.objects.filter(symbol=symbol)
        .exclude(size=0)
        .filter(Q(funded_at__lt=due) | Q(funded_at__isnull=True))
        .exists()
    )


def _fund(held: PaperPosition, wallet: PaperBalance, mark: Decimal, now: datetime) -> None:
    """Longs pay shorts `rate` of the value at mark, at each funding time passed (a payer's
    payment stops at what its balance has free)."""
    due = funding_time(now)
    if held.funded_at is not None and held.funded_at >= due:
        return
    since = held.funded_at or due - timedelta(seconds=settings.EMSWEB_PAPER_FUNDING_SECONDS)
    times = int((due - since).total_seconds()) // settings.EMSWEB_PAPER_FUNDING_SECONDS
    worth = value(MARKETS[held.symbol], abs(held.size), mark)
    paid = half_even(times * worth * settings.EMSWEB_PAPER_FUNDING_RATE * sign(held.size))
    paid = min(paid, wallet.available)
    wallet.total -= paid
    held.funding -= paid
    held.funded_at = due


# --- Liquidation ---------------------------------------------------------------------------------


def settle(market: PaperMarket, now: datetime) -> None:
    """After the market moved or matched: funding for each funding time passed (perpetuals),
    then the liquidation of every position whose equity fell below maintenance."""
    definition = MARKETS[market.symbol]
    for held in PaperPosition.objects.filter(symbol=market.symbol).exclude(size=0):
        wallet = ledger.balance(held.account_id, definition.settle)
        if definition.kind == InstrumentKind.PERPETUAL:
            _fund(held, wallet, market.mid, now)
            wallet.save(update_fields=["total", "locked"])
            held.updated_at = now
            held.save()
        marks = _account_marks(held.account_id, wallet, market)
        state = next(marked for marked in marks if marked.position.pk == held.pk)
        if state.equity < state.maintenance:
            group = [m for m in marks if m.position.cross] if held.cross else [state]
            _liquidate(group, state, wallet, now)


def _account_marks(account_id: int, wallet: PaperBalance, market: PaperMarket) -> list[Marked]:
    """The account's open positions settled in the wallet's asset, marked: this market at its
    mid as it stands in this transaction, the others at their mids as committed."""
    held = [
        position
        for position in PaperPosition.objects.filter(account_id=account_id).exclude(size=0)
        if MARKETS[position.symbol].settle == wallet.asset
    ]
    mids = dict(
        PaperMarket.objects.filter(symbol__in={p.symbol for p in held}).values_list("symbol", "mid")
    )
    mids[market.symbol] = market.mid
    return positions_marked(held, mids, {wallet.asset: wallet})


def _liquidate(group: list[Marked], trigger: Marked, wallet: PaperBalance, now: datetime) -> None:
    """Close the group's positions at their marks (one isolated position, or an account's
    cross positions in one asset). Their orders are canceled first. Together they lose at most
    their collateral (the isolated margin, or the cross pool); a fee takes what is left of
    their maintenance margins. What the collateral cannot pay, and any rounding, falls on the
    position whose mark triggered it."""
    pool = trigger.collateral
    if trigger.position.cross:
        pool = wallet.available + sum(marked.position.margin for marked in group)
    for marked in group:
        for order in PaperOrder.objects.filter(
            account_id=marked.position.account_id,
            symbol=marked.position.symbol,
            status__in=OPEN_STATUSES,
        ):
            ledger.close(order, LIQUIDATED, now)
    wallet.refresh_from_db()  # the closes released their reservations
    others = [marked for marked in group if marked is not trigger]
    realized_total = max(sum(marked.unrealized for marked in group), -pool)
    fee_left = min(sum(marked.maintenance for marked in group), pool + realized_total)
    for marked in [*others, trigger]:
        realized = marked.unrealized
        if marked is trigger:
            realized = realized_total - sum(other.unrealized for other in others)
        fee = min(marked.maintenance, fee_left)
        fee_left -= fee
        marked.position.liquidated_at = now
        _close_at(marked.position, wallet, marked.mark, realized, fee, LIQUIDATION, now)
    wallet.save(update_fields=["total", "locked"])


def _close_at(held, wallet, price: Decimal, realized: Decimal, fee: Decimal, why: str, now):
    """Close the position at `price` by an exchange's order and trade: `realized` and `fee` go
    through the wallet, the margin is freed."""
    amount = abs(held.size)
    order = PaperOrder.objects.create(
        account_id=held.account_id,
        symbol=held.symbol,
        side=OrdSide.SELL if held.size > 0 else OrdSide.BUY,
        price=price,
        amount=amount,
        filled=amount,
        notional=price * amount,
        status=PaperStatus.FILLED,
        time_in_force=TimeInForce.IMMEDIATE_OR_CANCEL,
        reduce_only=True,
        created_at=now,
        closed_at=now,
        message=why,
    )
    PaperTrade.objects.create(
        order=order,
        price=price,
        amount=amount,
        fee=fee,
        fee_asset=MARKETS[held.symbol].settle,
        liquidity=Liquidity.TAKER,
        time=now,
    )
    wallet.locked -= held.margin
    wallet.total += realized - fee
    held.realized_pnl += realized
    held.fees += fee
    held.size = held.margin = held.entry_price = Decimal(0)
    held.updated_at = now
    held.save()


# --- Expiry --------------------------------------------------------------------------------------


def expiry_due(symbol: str, now: datetime) -> bool:
    """Whether an expired future still has open orders or positions to settle."""
    if not MARKETS[symbol].expired(now):
        return False
    return (
        PaperOrder.objects.filter(symbol=symbol, status__in=OPEN_STATUSES).exists()
        or PaperPosition.objects.filter(symbol=symbol).exclude(size=0).exists()
    )


def expire(market: PaperMarket) -> None:
    """Settle an expired future at its mark, at its expiry: its orders are canceled, its
    positions closed with their PnL realized (no fee), at most their collateral lost."""
    definition = MARKETS[market.symbol]
    at = definition.expires_at
    for order in PaperOrder.objects.filter(symbol=market.symbol, status__in=OPEN_STATUSES):
        ledger.close(order, f"{SETTLED} at {at:%Y-%m-%d %H:%M} UTC", at)
    for held in PaperPosition.objects.filter(symbol=market.symbol).exclude(size=0):
        wallet = ledger.balance(held.account_id, definition.settle)
        backing = held.margin + (wallet.available if held.cross else 0)
        realized = max(pnl(definition, held.size, held.entry_price, market.mid), -backing)
        _close_at(held, wallet, market.mid, realized, Decimal(0), SETTLEMENT, at)
        wallet.save(update_fields=["total", "locked"])
