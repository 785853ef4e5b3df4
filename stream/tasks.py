"""Celery tasks of the stream: thin; each body imports the service it calls."""

from celery import shared_task


@shared_task(ignore_result=True)
def prune_stream_events() -> None:
    from stream.retention import events_prune

    events_prune()
