"""What the risk page shows, built from a user rather than a request: the view renders it, and the
stream (stream.pages) renders the very same partial when it pushes a change to an open page."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from django.utils import timezone

from accounts.selectors import may_manage_risk
from orders.models import Order

from .check import MINUTE, SECOND, accepted_since
from .selectors import LABELS, NEAR_SHARE, risk_overview

# The page asks again this long after its figures lapse, so as never to ask before they have.
LAPSE_MARGIN = timedelta(milliseconds=100)


def risk_context(*, user) -> dict:
    """Every scope's usage against its limits and its trading state. `seen` is a digest of what
    the page shows (a poll that finds it unchanged gets nothing); `lapse_ms`, in how long the
    figures change with nothing written (see usage_lapse)."""
    now = timezone.now()  # before the figures are read: a lapse while they are is not missed
    scopes = risk_overview()
    can_act = may_manage_risk(user=user)
    return {
        "scopes": scopes,
        "labels": LABELS.values(),
        "can_act": can_act,
        "seen": hashlib.sha256(repr((scopes, can_act)).encode()).hexdigest()[:16],
        "near_percent": int(NEAR_SHARE * 100),
        "lapse_ms": round((usage_lapse(now) + LAPSE_MARGIN - now) / timedelta(milliseconds=1)),
    }


def usage_lapse(now: datetime) -> datetime:
    """When the usage read at `now` next changes with no write: an order accepted lately leaves
    the last second or the last minute, or the UTC day ends (its notional starts from zero). A
    page the stream pushes to hears of every write, not of these."""
    lapses = [(now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)]
    for accepted in Order.objects.filter(accepted_since(now - MINUTE)).values_list(
        "created_at", flat=True
    ):
        lapses += [moment for moment in (accepted + SECOND, accepted + MINUTE) if moment > now]
    return min(lapses)
