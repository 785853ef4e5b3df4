"""What an account may still commit of an asset: the venue's available as of the last balance
read, less what the desk's own orders took of it since.

Every submit asks (the funds check), and under load the orders sent since the last read are
many (a sync reads balances every few seconds: at 70 orders/s, about 150 of them). PostgreSQL
sums them in the statement that reads the balance, in its exact numeric; SQLite adds in floating
point, so there the orders are read and summed in Python's Decimal. `_held` and `_held_in_sql`
are the one rule written twice, and tests/orders/test_funds.py holds them equal.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    DecimalField,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Combinable
from django.db.models.functions import Coalesce, NullIf

from accounts.models import Balance, ExchangeAccount
from positions.models import Position
from venues.base import ExecInst, InstrumentKind, OrdSide, OrdStatus

from .compiled import Prepared
from .models import MONEY, Order
from .selectors import JSONListHas
from .statuses import WORKING_STATUSES

S = OrdStatus


def balance_available(*, account: ExchangeAccount, asset: str) -> Decimal | None:
    """What the desk may still commit of `asset` on `account`: the venue's available as of the
    last read of the balances, less what the desk's own orders sent since hold of it (an open
    remainder locked, a filled part spent). None while the balances were never read: unknown,
    which is not zero. The ticket shows this figure and order_submit checks against it.

    An order is taken off only if it had not been sent when the read returned (claimed for
    routing later, or not yet), so the venue's figure cannot include it: never counted twice.
    One sent while the read was under way is counted by neither until the next read.
    """
    if connection.vendor == "postgresql":
        return available_summed_in_sql(account=account, asset=asset)
    return available_summed_in_python(account=account, asset=asset)


def available_summed_in_sql(*, account: ExchangeAccount, asset: str) -> Decimal | None:
    """balance_available in one statement, the orders summed by PostgreSQL."""
    read = _FUNDS_READ.dicts(account_id=account.pk, asset=asset)
    if not read:
        raise ExchangeAccount.DoesNotExist(f"No account {account.pk}")
    if read[0]["balances_synced_at"] is None:
        return None
    return (read[0]["available"] or Decimal(0)) - (read[0]["held"] or Decimal(0))


def available_summed_in_python(*, account: ExchangeAccount, asset: str) -> Decimal | None:
    """balance_available with the orders read and summed here, in Decimal."""
    # One statement: a read committed between two would pair new rows with the old time.
    read = _BALANCE_READ.dicts(account_id=account.pk, asset=asset)
    if not read:
        raise ExchangeAccount.DoesNotExist(f"No account {account.pk}")
    read_at, available = read[0]["balances_synced_at"], read[0]["available"]
    if read_at is None:
        return None
    orders = _ORDERS_SENT_SINCE.dicts(account_id=account.pk, asset=asset, read_at=read_at)
    held = sum((_held(order) for order in orders), Decimal(0))
    return (available or Decimal(0)) - held


def _balance_read(*, account_id: int, asset: str) -> QuerySet:
    """When the account's balances were last read, and what was available of `asset` then."""
    # `asset` by the venue's code (ZUSD) or the common one (USD), the venue's code first.
    row = Balance.objects.filter(account=OuterRef("pk")).filter(
        Q(asset_id_exchange=asset) | Q(asset_id_coinapi=asset)
    )
    first = Case(When(asset_id_exchange=asset, then=Value(0)), default=Value(1))
    return (
        ExchangeAccount.objects.filter(pk=account_id)
        .annotate(available=Subquery(row.order_by(first).values("available")[:1]))
        .values("balances_synced_at", "available")
    )


def _funds_read(*, account_id: int, asset: str) -> QuerySet:
    """_balance_read with what the orders sent since hold of `asset`, summed: one snapshot."""
    orders = _orders_funded_since(
        account_id=account_id, asset=asset, read_at=OuterRef("balances_synced_at")
    )
    held = orders.order_by().values("account_id").annotate(held=Sum(_held_in_sql()))
    return _balance_read(account_id=account_id, asset=asset).annotate(
        held=Subquery(held.values("held"))
    )


def _orders_funded_since(*, account_id: int, asset: str, read_at) -> QuerySet:
    """The desk's orders funded from `asset` not yet sent, or sent after `read_at`: spot orders
    by their side, derivatives by their settlement asset."""
    spot = Q(instrument__kind=InstrumentKind.SPOT)
    funded = (
        (spot & Q(side=OrdSide.BUY, instrument__quote=asset))
        | (spot & Q(side=OrdSide.SELL, instrument__base=asset))
        | (~spot & Q(instrument__settlement_asset=asset))
    )
    # A claim for routing sets updated_at too: the bound on it lets an index find the orders.
    sent_since = Q(routing_started_at__gt=read_at, updated_at__gt=read_at)
    return Order.objects.filter(account_id=account_id).filter(
        funded, Q(status=S.RECEIVED) | sent_since
    )


def _leverage() -> Subquery:
    """The leverage last reported for an order's position (one row at most: unordered, so
    without the join and the sort that Position's default ordering by account would add)."""
    return Subquery(
        Position.objects.filter(
            account=OuterRef("account"),
            symbol_id_exchange=OuterRef("instrument__symbol_id_exchange"),
        )
        .order_by()
        .values("leverage")[:1]
    )


def _orders_sent_since(*, account_id: int, asset: str, read_at: datetime) -> QuerySet:
    """What _held needs of each order funded from `asset` and sent since `read_at`."""
    return (
        _orders_funded_since(account_id=account_id, asset=asset, read_at=read_at)
        .annotate(leverage=_leverage())
        .values(
            "side",
            "status",
            "price",
            "amount_open",
            "amount_filled",
            "avg_px",
            "leverage",
            "instrument__kind",
            "instrument__inverse",
            "instrument__contract_size",
            reduce_only=JSONListHas("exec_inst", ExecInst.DO_NOT_INCREASE),
        )  # fmt: skip
    )


def _held(order: dict) -> Decimal:
    """What one order takes of its funding asset: its filled part, and its open remainder while
    it works; for a derivative, the initial margin of both (their value / leverage), none for a
    reduce-only one."""
    still_open = order["amount_open"] if order["status"] in WORKING_STATUSES else Decimal(0)
    filled, price, avg_px = order["amount_filled"], order["price"], order["avg_px"]
    if order["instrument__kind"] != InstrumentKind.SPOT:
        if order["reduce_only"]:
            return Decimal(0)  # it only frees margin
        size = order["instrument__contract_size"]
        if order["instrument__inverse"]:
            worth = (filled / avg_px if filled else 0) * size + still_open * size / price
        else:
            worth = (filled * avg_px + still_open * price) * size
        return worth / (order["leverage"] or 1)
    if order["side"] == OrdSide.BUY:
        return filled * avg_px + still_open * price
    return filled + still_open


def _held_in_sql() -> Combinable:
    """_held as an expression on an order row."""
    money = DecimalField(**MONEY)
    zero = Value(Decimal(0), output_field=money)
    still_open = Case(
        When(status__in=WORKING_STATUSES, then=F("amount_open")), default=zero, output_field=money
    )
    filled, price, avg_px = F("amount_filled"), F("price"), F("avg_px")
    size = F("instrument__contract_size")
    filled_in_coins = Case(When(amount_filled=0, then=zero), default=filled / avg_px)
    worth = Case(
        When(instrument__inverse=True, then=filled_in_coins * size + still_open * size / price),
        default=(filled * avg_px + still_open * price) * size,
        output_field=money,
    )
    leverage = Coalesce(NullIf(_leverage(), zero), Value(Decimal(1)), output_field=money)
    spot = Q(instrument__kind=InstrumentKind.SPOT)
    return Case(
        When(spot & Q(side=OrdSide.BUY), then=filled * avg_px + still_open * price),
        When(spot, then=filled + still_open),
        When(JSONListHas("exec_inst", ExecInst.DO_NOT_INCREASE), then=zero),
        default=worth / leverage,
        output_field=money,
    )


# Every submit reads them: compiled once (orders.compiled), with these markers for the values.
_ACCOUNT_MARKER, _ASSET_MARKER = -7_000_001, "<asset>"
_FUNDS_READ = Prepared(_funds_read, account_id=_ACCOUNT_MARKER, asset=_ASSET_MARKER)
_BALANCE_READ = Prepared(_balance_read, account_id=_ACCOUNT_MARKER, asset=_ASSET_MARKER)
_ORDERS_SENT_SINCE = Prepared(
    _orders_sent_since,
    account_id=_ACCOUNT_MARKER,
    asset=_ASSET_MARKER,
    read_at=datetime(1970, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
)
