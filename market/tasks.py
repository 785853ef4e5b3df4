"""Celery tasks: thin. Market data runs on its own queue (`market`), so that reading venues'
books never holds up a sync or an order on a worker."""

from celery import shared_task


@shared_task(ignore_result=True)
def refresh_market_data() -> None:
    from market.feed import market_refresh

    market_refresh()
