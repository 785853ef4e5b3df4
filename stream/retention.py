"""Retention: the log keeps EMSWEB_STREAM_RETENTION_SECONDS of numbered events.

What goes is always a prefix of the numbers (every event up to a seq), so what is kept has no
hole a reader resuming from the oldest kept could fall into; and the newest event always stays.
Deleted in slices, so that SQLite's writers (one at a time) never wait for long.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Max, Min
from django.utils import timezone

from .models import StreamEvent

SLICE = 5000


def events_prune(*, keep_seconds: float | None = None) -> int:
    """Delete the numbered events older than `keep_seconds` (EMSWEB_STREAM_RETENTION_SECONDS)
    that come before every younger one, but never the newest. Returns how many went."""
    keep_seconds = (
        settings.EMSWEB_STREAM_RETENTION_SECONDS if keep_seconds is None else keep_seconds
    )
    cutoff = timezone.now() - timedelta(seconds=keep_seconds)
    numbered = StreamEvent.objects.filter(seq__isnull=False)
    bounds = numbered.aggregate(oldest=Min("seq"), newest=Max("seq"))
    if bounds["newest"] is None:
        return 0
    young = numbered.filter(created_at__gte=cutoff).aggregate(first=Min("seq"))["first"]
    end = min(young or bounds["newest"], bounds["newest"])  # delete seq < end
    deleted = 0
    for start in range(bounds["oldest"], end, SLICE):
        deleted += numbered.filter(seq__lt=min(start + SLICE, end)).delete()[0]
    return deleted
