from celery import shared_task

from .services import portfolio_snapshot_record


@shared_task(ignore_result=True)
def record_portfolio_snapshot() -> None:
    portfolio_snapshot_record()
