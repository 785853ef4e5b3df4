"""Celery tasks: thin, idempotent, ids in. The work is in orders.services and orders.sync.

Services import this module and queue a task once their transaction commits; a task body
imports the service it calls, when it runs, so that imports run one way (services -> tasks).

Order-path tasks are acknowledged late and rejected when their worker dies, so a crash hands
the message to another worker; the guarded claim in order_route makes the repeat harmless.
"""

from celery import shared_task
from django.db import transaction

from accounts.models import ExchangeAccount

ORDER_TASK = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


def delay_after_commit(task, *args) -> None:
    """Queue `task` once the transaction commits (now, outside one). A broker that cannot take
    it then is logged, not raised: what was committed stands, and the sweeper (RECEIVED orders)
    or the next sync picks the work up; raising would answer 500 for an order that exists."""

    # A function, not a functools.partial: Django names the callback by its __qualname__ when
    # it logs a failure, which a partial does not have.
    def queue() -> None:
        task.delay(*args)

    queue.__qualname__ = f"queue {task.name}{args}"
    transaction.on_commit(queue, robust=True)


@shared_task(**ORDER_TASK)
def route_order(order_id: int) -> None:
    from orders.services import order_route

    order_route(order_id=order_id)


@shared_task(**ORDER_TASK)
def cancel_order(order_id: int) -> None:
    from orders.services import order_cancel_send

    order_cancel_send(order_id=order_id)


@shared_task(**ORDER_TASK)
def cancel_all_orders(account_id: int) -> None:
    from orders.services import orders_cancel_all_send

    orders_cancel_all_send(account_id=account_id)


@shared_task(ignore_result=True)
def sync_account(account_id: int) -> None:
    from orders.sync import account_sync

    account_sync(account_id=account_id)


@shared_task(ignore_result=True)
def sync_all_accounts() -> None:
    for account_id in ExchangeAccount.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_account.delay(account_id)


@shared_task(ignore_result=True)
def sweep_received_orders() -> None:
    from orders.services import orders_sweep_pending_cancels, orders_sweep_received

    orders_sweep_received()
    orders_sweep_pending_cancels()


@shared_task(ignore_result=True)
def cancel_disconnected_orders(api_key_id: int | None = None) -> None:
    from orders.services import orders_cancel_disconnected

    orders_cancel_disconnected(api_key_id=api_key_id)


@shared_task(ignore_result=True)
def refresh_instruments(venue: str) -> None:
    from orders.instruments import instruments_refresh

    instruments_refresh(venue=venue)


@shared_task(ignore_result=True)
def refresh_all_instruments() -> None:
    for venue in venues_in_use():
        refresh_instruments.delay(venue)


@shared_task(ignore_result=True)
def refresh_quotes(venue: str) -> None:
    from orders.quotes import quotes_refresh

    quotes_refresh(venue=venue)


@shared_task(ignore_result=True)
def refresh_all_quotes() -> None:
    for venue in venues_in_use():
        refresh_quotes.delay(venue)


def venues_in_use() -> set[str]:
    return set(ExchangeAccount.objects.filter(enabled=True).values_list("venue", flat=True))
