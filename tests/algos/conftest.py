"""Parents driven by a controlled clock: each test steps the schedule at the times it chooses,
and routes the children the step placed in process, as the order path's worker would."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import ExchangeAccount
from accounts.services import account_link
from algos.models import ParentOrder
from algos.services import ParentTicket, parent_start
from algos.step import parent_step
from orders.instruments import instruments_refresh
from orders.models import Order
from orders.services import order_cancel_send, order_route
from orders.sync import account_sync
from venues.base import OrdStatus
from venues.paper import engine


@pytest.fixture(autouse=True)
def paper_markets(settings):
    settings.EMSWEB_PAPER_TICK_SECONDS = 0
    settings.EMSWEB_PAPER_START_PRICES = {"BTCUSD": Decimal(50000), "ETHUSD": Decimal(3000)}
    settings.EMSWEB_ALGO_SLICE_TOLERANCE = 5.0
    return settings


def linked(exchange_id: str):
    account, _ = account_link(exchange_id=exchange_id, parameters={})
    account_sync(account_id=account.pk)
    return account


@pytest.fixture
def account(db):
    instruments_refresh(venue="PAPER")
    engine.market_set_mid("BTCUSD", Decimal("50000"))
    return linked("PAPER/ALGO")


def twap(accounts, *, amount="1", duration=600, interval=30, now=None, **fields) -> ParentOrder:
    ticket = ParentTicket(
        algorithm=fields.pop("algorithm", "TWAP"),
        side=fields.pop("side", "BUY"),
        symbol=fields.pop("symbol", "BTCUSD"),
        amount=Decimal(amount),
        accounts=tuple(accounts),
        duration_seconds=duration,
        interval_seconds=interval,
        **{name: value for name, value in fields.items() if name != "user"},
    )
    return parent_start(ticket=ticket, now=now or timezone.now(), user=fields.get("user"))


def route_placed() -> None:
    """What the orders worker does with the children just placed or asked to cancel."""
    for order_id in Order.objects.filter(status=OrdStatus.RECEIVED).values_list("pk", flat=True):
        order_route(order_id=order_id)
    pending = Order.objects.filter(status=OrdStatus.PENDING_CANCEL).values_list("pk", flat=True)
    for order_id in pending:
        order_cancel_send(order_id=order_id)


def sync_all() -> None:
    """What beat's sync does: each account's orders and fills read from its venue."""
    for account_id in ExchangeAccount.objects.values_list("pk", flat=True):
        account_sync(account_id=account_id)


def step(parent: ParentOrder, at: datetime) -> ParentOrder:
    sync_all()
    parent_step(parent_id=parent.pk, now=at)
    route_placed()
    parent.refresh_from_db()
    return parent


def run(parent: ParentOrder, start: datetime, seconds: int, every: int = 30) -> ParentOrder:
    """Step the parent at each `every` seconds from `start` (inclusive) for `seconds`."""
    for offset in range(0, seconds + 1, every):
        step(parent, start + timedelta(seconds=offset))
    return parent
