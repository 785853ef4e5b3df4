"""A parent as the SOR API shows it (contract §6.4's `GET /v1/sor/requests` item)."""

from __future__ import annotations

from emsweb.api import wire

from .durations import duration_text
from .models import EventKind, ParentOrder, ParentSlice
from .selectors import parent_fills, parent_progress


def parent_report(parent: ParentOrder) -> dict:
    progress = parent_progress(parent)
    events = list(parent.events.all())
    slices = list(ParentSlice.objects.filter(parent=parent).values_list("state", flat=True))
    return {
        "id": str(parent.pk),
        "status": parent.status,
        "statusInfo": parent.status_info,
        "symbol": parent.symbol,
        "amount": parent.amount,
        "amountFilled": progress.filled,
        "amountWorking": progress.working,
        "avgPrice": progress.avg_price,
        "algorithm": parent.algorithm,
        "side": parent.side,
        "duration": duration_text(max(1, int((parent.end_at - parent.start_at).total_seconds()))),
        "interval": duration_text(parent.interval_seconds),
        "exchanges": sorted(parent.accounts.values_list("exchange_id", flat=True)),
        "limit_price": parent.limit_price,
        "display_amount": parent.display_amount,
        "participation": parent.participation,
        "end_policy": parent.end_policy,
        "startTime": wire.format_time(parent.start_at),
        "endTime": wire.format_time(parent.end_at),
        "slices": {
            "total": 0 if parent.algorithm == "ICEBERG" else parent.slice_count,
            "recorded": len(slices),
            **{state.lower(): slices.count(state) for state in sorted(set(slices))},
        },
        "statusHistory": [
            {"status": e.status, "statusInfo": e.note, "timeStamp": wire.format_time(e.at)}
            for e in events
            if e.kind == EventKind.STATUS
        ],
        "parametersUpdates": [
            {"parameters": e.params, "timeStamp": wire.format_time(e.at)}
            for e in events
            if e.kind == EventKind.PARAMS
        ],
        "fills": [
            {
                "exchange": fill.order.account.exchange_id,
                "amountFilled": fill.amount,
                "price": fill.price,
                "timeStamp": wire.format_time(fill.time),
            }
            for fill in parent_fills(parent)
        ],
    }
