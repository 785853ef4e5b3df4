"""Funds: what an order locks, what a fill moves, and the account locks that guard them.

An account's row lock guards its balances: every change to them happens in a transaction that
holds it (`lock_accounts`), taken after the market's lock. Trades are created under it too, so an
account's trade ids grow in commit order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import connections, router

from emsweb import sql
from venues.base import OrdSide
from venues.paper import synthetic
from venues.paper.candles import candle_record
from venues.paper.markets import MARKETS
from venues.paper.models import (
    OPEN_STATUSES,
    Liquidity,
    PaperAccount,
    PaperBalance,
    PaperMarket,
    PaperOrder,
    PaperStatus,
    PaperTrade,
)

# Fees and reservations are rounded up to this. SQLite keeps about 15 significant digits, and
# 1e-8 leaves a balance of up to 10,000,000 exact there.
FEE_QUANTUM = Decimal("1e-8")


def lock_accounts(account_ids: Iterable[int]) -> None:
    """Lock these accounts' rows, and with them their balances and trade ids. At most once per
    transaction and in id order, so that two transactions cannot deadlock."""
    list(PaperAccount.objects.select_for_update().filter(pk__in=set(account_ids)).order_by("pk"))


def lock_for_entry(
    symbol: str, account_id: int, asset: str
) -> tuple[PaperMarket, PaperBalance] | None:
    """The market's lock, then the account's and its balance of `asset` (what a new order
    reserves from), with their rows, in one statement on PostgreSQL: it locks in the order of
    FOR UPDATE OF, the order every transaction takes them in, and a row it waited for is read
    as its holder left it. None, with nothing locked, elsewhere or when a row is missing (a
    first use): the caller then takes them one by one."""
    connection = connections[router.db_for_write(PaperMarket)]
    if connection.vendor != "postgresql":
        return None
    quote = connection.ops.quote_name
    tables = {model: quote(model._meta.db_table) for model in (PaperMarket, PaperBalance)}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {sql.columns(connection, PaperMarket, 'm')},"
            f" {sql.columns(connection, PaperBalance, 'b')}"
            f" FROM {tables[PaperMarket]} m, {quote(PaperAccount._meta.db_table)} a,"
            f" {tables[PaperBalance]} b"
            " WHERE m.symbol = %s AND a.id = %s AND b.account_id = a.id AND b.asset = %s"
            " FOR UPDATE OF m, a, b",
            [symbol, account_id, asset],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    split = len(PaperMarket._meta.concrete_fields)
    return (
        sql.loaded(connection, PaperMarket, row[:split]),
        sql.loaded(connection, PaperBalance, row[split:]),
    )


def enter(order: PaperOrder, funding: PaperBalance) -> None:
    """Insert the new `order` and add what it locks to `funding`: one statement on PostgreSQL.
    The caller holds the account's lock."""
    funding.locked += order.locked
    connection = connections[router.db_for_write(PaperOrder)]
    if connection.vendor != "postgresql":
        order.save(force_insert=True)
        funding.save(update_fields=["locked"])
        return
    insert, params = sql.insert_returning_id(connection, order)
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH entered AS ({insert}), reserved AS (UPDATE"
            f" {quote(PaperBalance._meta.db_table)} SET {quote('locked')} = %s WHERE id = %s)"
            " SELECT id FROM entered",
            (*params, funding.locked, funding.pk),
        )
        order.pk = cursor.fetchone()[0]
    order._state.adding, order._state.db = False, connection.alias


def lock_resting_accounts(market: PaperMarket) -> None:
    """Lock every account that has an open order on this (locked) market: stepping, matching and
    expiring may touch any of them."""
    resting = PaperOrder.objects.filter(symbol=market.symbol, status__in=OPEN_STATUSES)
    lock_accounts(resting.values_list("account_id", flat=True))


def balance(account_id: int, asset: str) -> PaperBalance:
    return PaperBalance.objects.get_or_create(account_id=account_id, asset=asset)[0]


def funding_asset(symbol: str, side: str) -> str:
    """What an order of this side locks and pays with: the quote for a BUY, the base for a SELL;
    a derivative's settlement asset either way."""
    definition = MARKETS[symbol]
    if definition.is_derivative:
        return definition.settle
    return definition.quote if side == OrdSide.BUY else definition.base


def reservation(side: str, price: Decimal, amount: Decimal) -> Decimal:
    """What an order's unfilled amount locks: its cost at its limit with the higher fee for a
    BUY, so that any fill costs no more than it releases; the base amount for a SELL."""
    if side == OrdSide.SELL:
        return amount
    fee_rate = max(settings.EMSWEB_PAPER_MAKER_FEE, settings.EMSWEB_PAPER_TAKER_FEE)
    return synthetic.round_up(price * amount * (1 + fee_rate), FEE_QUANTUM)


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
    """Execute `amount` of the order at `price` against one level: move the account's funds,
    release the part of the reservation it no longer needs, record the trade."""
    definition = MARKETS[order.symbol]
    fee_rate = settings.EMSWEB_PAPER_TAKER_FEE if taker else settings.EMSWEB_PAPER_MAKER_FEE
    cost = price * amount
    fee = synthetic.round_up(cost * fee_rate, FEE_QUANTUM)
    still_locked = reservation(order.side, order.price, order.remaining - amount)
    released = order.locked - still_locked
    base = balance(order.account_id, definition.base)
    quote = balance(order.account_id, definition.quote)
    if order.side == OrdSide.BUY:
        base.total += amount
        quote.total -= cost + fee
        quote.locked -= released
    else:
        base.total -= amount
        base.locked -= released
        quote.total += cost - fee
    base.save(update_fields=["total", "locked"])
    quote.save(update_fields=["total", "locked"])
    trade = Trade(price, amount, fee, definition.quote, taker)
    record_fill(order, market, level_index, trade, still_locked, now)


@dataclass(frozen=True)
class Trade:
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_asset: str
    taker: bool


def record_fill(
    order: PaperOrder,
    market: PaperMarket,
    level_index: int,
    trade: Trade,
    still_locked: Decimal,
    now: datetime,
) -> None:
    """What every fill writes once the funds have moved: the order (with what it still locks),
    its trade, the book and the candle."""
    price, amount = trade.price, trade.amount
    cost = price * amount
    order.filled += amount
    order.notional += cost
    order.locked = still_locked
    if order.remaining:
        order.status = PaperStatus.PARTIALLY_FILLED
    else:
        order.status, order.closed_at = PaperStatus.FILLED, now
    order.save(update_fields=["filled", "notional", "locked", "status", "closed_at"])
    PaperTrade.objects.create(
        order=order,
        price=price,
        amount=amount,
        fee=trade.fee,
        fee_asset=trade.fee_asset,
        liquidity=Liquidity.TAKER if trade.taker else Liquidity.MAKER,
        time=now,
    )
    synthetic.consume(market, synthetic.opposite(order.side), level_index, amount)
    candle_record(order.symbol, now, price, amount)


def close(order: PaperOrder, message: str, now: datetime) -> None:
    """Cancel what is left of an open order and release its reservation."""
    funding = balance(order.account_id, funding_asset(order.symbol, order.side))
    funding.locked -= order.locked
    funding.save(update_fields=["locked"])
    order.locked = Decimal(0)
    order.status, order.closed_at, order.message = PaperStatus.CANCELED, now, message
    order.save(update_fields=["locked", "status", "closed_at", "message"])
