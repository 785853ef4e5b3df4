"""What the benchmarks need in the database and in Redis: desk users and their keys or
sessions, linked paper accounts, resting orders, and a clean slate between benchmarks."""

from __future__ import annotations

import json
import time
from collections import Counter
from decimal import Decimal
from importlib import import_module

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import DeskMember, ExchangeAccount
from accounts.services import account_link, api_key_create
from algos.models import ParentOrder
from emsweb.redis import redis_client
from orders.models import Fill, Order, OrderEvent
from orders.services import OrderTicket, order_submit
from orders.statuses import TERMINAL_STATUSES
from venues.paper.models import PaperAccount

from .stack import wait_until

PREFIX = "PAPER/BENCH-"
# Orders that rest far from the market on every paper market (the markets are frozen), small
# enough that a paper account's funding lasts for thousands of them: (symbol, side, price, amount).
RESTING = (
    ("BTCUSD", "BUY", "500", "0.01"),
    ("BTCUSD", "SELL", "100000", "0.0001"),
    ("ETHUSD", "BUY", "100", "0.05"),
    ("ETHUSD", "SELL", "6000", "0.001"),
    ("OXTUSD", "BUY", "0.01", "500"),
    ("OXTUSD", "SELL", "1", "10"),
    ("USDJPY", "BUY", "100", "10"),
    ("USDJPY", "SELL", "200", "10"),
)
IN_FLIGHT = ("RECEIVED", "ROUTING", "ROUTED")


def run_id() -> str:
    """A short prefix that keeps this run's client order ids apart from any earlier run's."""
    return f"b{int(time.time() * 1000) % 36**6:x}"


def desk_user(username: str, role: str | None):
    """A user with this desk role (None: a viewer, who reads everything and trades nothing)."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    if role is not None:
        DeskMember.objects.update_or_create(user=user, defaults={"role": role})
    return user


def api_key(user) -> str:
    return api_key_create(user=user, label="bench")[1]


def session_cookie(user, *, second_factor: bool = False) -> str:
    """A signed-in session for `user`, as the sign-in view would leave it (in Redis); with
    `second_factor`, past the second factor too, as a trader's must be to reach their pages."""
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    if second_factor:
        device, _ = TOTPDevice.objects.get_or_create(
            user=user, name="bench", defaults={"confirmed": True}
        )
        store[DEVICE_ID_SESSION_KEY] = device.persistent_id
    store.save()
    return store.session_key


def paper_accounts(names: list[str]) -> list[ExchangeAccount]:
    """Linked paper accounts whose first sync (by the worker) has recorded their balances, and
    the order path's queue drained. Linked all at once, then waited for: beat syncs every
    enabled account every EMSWEB_SYNC_INTERVAL, so the `default` queue of a desk of many
    accounts may never be empty on a slow machine, and is not waited for."""
    accounts = [account_link(exchange_id=f"{PREFIX}{name}", parameters={})[0] for name in names]
    ids = [account.pk for account in accounts]
    wait_until(
        f"the first sync of {len(ids)} accounts",
        lambda: (
            not ExchangeAccount.objects.filter(pk__in=ids, balances_synced_at__isnull=True).exists()
        ),
        timeout=60 + 2 * len(ids),
    )
    broker_idle(queues=("orders",))
    return list(ExchangeAccount.objects.filter(pk__in=ids).order_by("pk"))


def paper_account(name: str) -> ExchangeAccount:
    return paper_accounts([name])[0]


def resting_ticket(client_order_id: str, n: int, time_in_force: str = "GOOD_TILL_CANCEL"):
    """The n-th of the RESTING orders. IMMEDIATE_OR_CANCEL makes it one that the venue cancels
    at once (nothing to take at its price): routed like any other, but never left open."""
    symbol, side, price, amount = RESTING[n % len(RESTING)]
    return OrderTicket(
        client_order_id=client_order_id,
        symbol=symbol,
        side=side,
        amount=Decimal(amount),
        price=Decimal(price),
        time_in_force=time_in_force,
    )


def submit(
    account: ExchangeAccount,
    client_order_id: str,
    n: int,
    user=None,
    time_in_force: str = "GOOD_TILL_CANCEL",
) -> Order:
    ticket = resting_ticket(client_order_id, n, time_in_force)
    return order_submit(account=account, ticket=ticket, user=user)


def submit_many(account: ExchangeAccount, prefix: str, count: int, user=None) -> list[int]:
    """`count` resting orders, submitted as fast as one process can, then routed NEW."""
    ids = [submit(account, f"{prefix}-{n}", n, user).pk for n in range(count)]
    settled(account, timeout=120)
    return ids


def settled(account: ExchangeAccount, *, timeout: float) -> None:
    """Wait until no order of the account is still being received or routed."""
    wait_until(
        f"{account.exchange_id}'s orders to be routed",
        lambda: not Order.objects.filter(account=account, status__in=IN_FLIGHT).exists(),
        timeout=timeout,
        every=0.2,
    )


def broker_idle(queues: tuple[str, ...] = ("orders", "default"), timeout: float = 120) -> None:
    """Wait until nothing is queued on `queues` and no message of theirs is unacknowledged (taken
    by a worker and not yet done, or held there for its countdown)."""
    client = redis_client()

    def pending() -> Counter:
        counts = Counter({f"{queue} queued": client.llen(queue) for queue in queues})
        # kombu keeps each unacknowledged message as [message, exchange, routing key].
        routing_keys = (json.loads(held)[2] for held in client.hvals("unacked"))
        counts.update(f"{key} unacknowledged" for key in routing_keys if key in queues)
        return +counts

    try:
        wait_until("the worker to go idle", lambda: not pending(), timeout=timeout)
    except TimeoutError as timed_out:
        raise TimeoutError(f"{timed_out}; still pending: {pending()}") from None


def retire(accounts: list[ExchangeAccount]) -> int:
    """Take a benchmark's accounts out of play: disabled (never synced again), and their
    resting orders marked CANCELED (bench bookkeeping, not an order path), so that the next
    benchmark starts from a desk with no open orders."""
    ids = [account.pk for account in accounts]
    ExchangeAccount.objects.filter(pk__in=ids).update(enabled=False)
    return (
        Order.objects.filter(account_id__in=ids)
        .exclude(status__in=TERMINAL_STATUSES)
        .update(status="CANCELED", amount_open=0, updated_at=timezone.now())
    )


def reset() -> None:
    """Remove what an earlier run's benchmarks left (the generated history stays)."""
    accounts = ExchangeAccount.objects.filter(exchange_id__startswith=PREFIX)
    orders = Order.objects.filter(account__in=accounts)
    # The algos benchmark's parents hold their children (a slice's order is protected).
    ParentOrder.objects.filter(accounts__in=accounts).delete()
    Fill.objects.filter(order__in=orders).delete()
    OrderEvent.objects.filter(order__in=orders).delete()
    orders.delete()
    PaperAccount.objects.filter(account_key__startswith=PREFIX).delete()
    accounts.delete()
    # Whatever else a run left open (a run stopped half-way) is retired too.
    Order.objects.exclude(status__in=TERMINAL_STATUSES).update(status="CANCELED", amount_open=0)
