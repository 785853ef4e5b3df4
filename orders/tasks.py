"""Celery tasks: thin, idempotent, ids in. The work is in orders.services and orders.sync.

Order-path tasks are acknowledged late and rejected when their worker dies, so a crash hands
the message to another worker; the guarded claim in order_route makes the repeat harmless.
"""

from celery import shared_task

from accounts.models import ExchangeAccount
from accounts.services import account_key_check

from . import services, sync
from .instruments import instruments_refresh
from .quotes import quotes_refresh

ORDER_TASK = {"acks_late": True, "reject_on_worker_lost": True, "ignore_result": True}


@shared_task(**ORDER_TASK)
def route_order(order_id: int) -> None:
    services.order_route(order_id=order_id)


@shared_task(**ORDER_TASK)
def cancel_order(order_id: int) -> None:
    services.order_cancel_send(order_id=order_id)


@shared_task(**ORDER_TASK)
def cancel_all_orders(account_id: int) -> None:
    services.orders_cancel_all_send(account_id=account_id)


@shared_task(ignore_result=True)
def sync_account(account_id: int) -> None:
    sync.account_sync(account_id=account_id)


@shared_task(ignore_result=True)
def sync_all_accounts() -> None:
    for account_id in ExchangeAccount.objects.filter(enabled=True).values_list("pk", flat=True):
        sync_account.delay(account_id)


@shared_task(ignore_result=True)
def sweep_received_orders() -> None:
    services.orders_sweep_received()


@shared_task(ignore_result=True)
def refresh_instruments(venue: str) -> None:
    instruments_refresh(venue=venue)


@shared_task(ignore_result=True)
def refresh_all_instruments() -> None:
    for venue in venues_in_use():
        refresh_instruments.delay(venue)


@shared_task(ignore_result=True)
def refresh_quotes(venue: str) -> None:
    quotes_refresh(venue=venue)


@shared_task(ignore_result=True)
def refresh_all_quotes() -> None:
    for venue in venues_in_use():
        refresh_quotes.delay(venue)


def venues_in_use() -> set[str]:
    return set(ExchangeAccount.objects.filter(enabled=True).values_list("venue", flat=True))


@shared_task(ignore_result=True)
def check_account_key(account_id: int) -> None:
    """Queued after an account is linked: test its key and record what it may do."""
    account_key_check(account_id=account_id)
