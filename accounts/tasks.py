"""Celery tasks for accounts: thin, ids in; each body imports the service it calls (so that
the services can import the tasks they queue)."""

from celery import shared_task


@shared_task(ignore_result=True)
def record_portfolio_snapshot() -> None:
    from accounts.services import portfolio_snapshot_record

    portfolio_snapshot_record()


@shared_task(ignore_result=True)
def check_account_key(account_id: int) -> None:
    """Queued after an account is linked: test its key and record what it may do."""
    from accounts.services import account_key_check

    account_key_check(account_id=account_id)
