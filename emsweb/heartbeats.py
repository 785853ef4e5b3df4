"""The heartbeats /readyz and /metrics read: beat's tick and each queue's worker, in Redis.

Beat schedules `emsweb.tasks.heartbeat` on each queue (`orders`, the order path's, and `default`,
everything else's); when beat publishes it, beat records its tick, and the worker that runs it
records its own run for that queue. So one web process can tell, for processes on any machine,
that beat still ticks and that some worker still takes tasks off each queue. Ages are computed
from wall clocks: keep the machines on NTP.
"""

from __future__ import annotations

import json
import time

from django.conf import settings

HEARTBEAT_TASK = "emsweb.tasks.heartbeat"
BEAT_KEY = "emsweb:health:beat"
WORKER_KEY = "emsweb:health:worker"  # the background worker's (queue `default`)
ORDER_WORKER_KEY = "emsweb:health:worker:orders"  # the order path's worker (queue `orders`)
# A queue -> the key its worker's run of the heartbeat is recorded under; /readyz's check names.
WORKER_KEYS = {"default": WORKER_KEY, "orders": ORDER_WORKER_KEY}
HEARTBEATS = {"worker": WORKER_KEY, "order_worker": ORDER_WORKER_KEY, "beat": BEAT_KEY}
# The FIX gateway's loop, each second; checked only where the gateway is on (EMSWEB_FIX_PORT).
FIX_KEY = "emsweb:health:fix"
# Kept a while longer than they can be fresh, so that /readyz can still say how stale they are.
KEEP_SECONDS = 24 * 3600


def heartbeats_expected() -> dict[str, str]:
    """/readyz's check name -> heartbeat key, of every process this installation runs."""
    if settings.EMSWEB_FIX_PORT:
        return {**HEARTBEATS, "fix": FIX_KEY}
    return HEARTBEATS


def heartbeat_record(client, key: str, **fields: object) -> None:
    client.set(key, json.dumps({"at": time.time(), **fields}), ex=KEEP_SECONDS)


def heartbeat_check(client, key: str, *, now: float | None = None) -> dict:
    """{"ok": fresh?, "age_seconds": ..., ...what the process recorded}; never seen: not ok."""
    raw = client.get(key)
    if raw is None:
        return {"ok": False, "age_seconds": None, "error": "no heartbeat recorded yet"}
    recorded = json.loads(raw)
    age = max((now or time.time()) - recorded.pop("at"), 0.0)
    return {"ok": age <= settings.EMSWEB_HEARTBEAT_STALE, "age_seconds": round(age, 3), **recorded}
