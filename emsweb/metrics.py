"""GET /metrics: Prometheus metrics, computed at scrape time from shared state.

Web processes and workers run on several machines, so nothing is counted in process memory:
each scrape reads PostgreSQL (orders by status, routing latency, sync lag) and Redis (queue
depth, venue error counters that the order path increments, heartbeat ages). Any web process
answers for the whole system; scrape one.

Protected by a bearer token: `Authorization: Bearer $EMSWEB_METRICS_TOKEN`. Without a token
configured the endpoint is off (404).
"""

from __future__ import annotations

import hmac
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, OuterRef, Q, Subquery, Sum
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)

from emsweb.heartbeats import HEARTBEATS, heartbeat_check
from emsweb.redis import redis_client
from venues.base import OrdStatus
from venues.errors import VenueError

logger = logging.getLogger(__name__)

VENUE_ERRORS_KEY = "emsweb:metrics:venue-errors"
VENUE_ALERTS_KEY = "emsweb:metrics:venue-alerts"
RISK_REFUSALS_KEY = "emsweb:metrics:risk-refusals"
QUEUES = ("orders", "default")
# kombu keeps a queue's messages of priority p > 0 in the list "<queue>\x06\x16<p>".
PRIORITY_SEPARATOR = "\x06\x16"
PRIORITY_STEPS = (3, 6, 9)
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


# --- written by the order path ----------------------------------------------------------------


def count_venue_error(venue: str, operation: str, error: BaseException) -> None:
    """Count one failed venue call by its class. Never raises: metrics must not stop an order."""
    kind = type(error).__name__ if isinstance(error, VenueError) else "Unexpected"
    _count(VENUE_ERRORS_KEY, "venue error", venue, operation, kind)


def count_venue_alert(venue: str, kind: str) -> None:
    """Count one alert raised for a venue account. Never raises."""
    _count(VENUE_ALERTS_KEY, "venue alert", venue, kind)


def count_risk_refusal(scope: str, limit: str) -> None:
    """Count one order refused by a risk limit (scope: desk, account or trader). Never raises."""
    _count(RISK_REFUSALS_KEY, "risk refusal", scope, limit)


def _count(key: str, what: str, *labels: str) -> None:
    try:
        redis_client().hincrby(key, "|".join(labels), 1)
    except Exception:  # noqa: BLE001
        logger.warning("could not count a %s", what, exc_info=True)


# --- read at scrape time ----------------------------------------------------------------------
# emsweb sits below the apps: it names their models only when a scrape reads them.


def orders_by_status() -> GaugeMetricFamily:
    from orders.models import Order

    counts = dict.fromkeys(OrdStatus.values, 0)
    counts.update(Order.objects.values_list("status").annotate(n=Count("pk")).order_by())
    family = GaugeMetricFamily("emsweb_orders", "Orders by status.", labels=["status"])
    for status, count in counts.items():
        family.add_metric([status], count)
    return family


def routing_latency() -> HistogramMetricFamily:
    """RECEIVED -> ROUTED of the orders received within the window: recomputed on each scrape,
    so read its buckets directly (histogram_quantile over the bucket series, no rate())."""
    from orders.models import Order, OrderEvent, OrderOrigin

    window = settings.EMSWEB_METRICS_WINDOW
    routed_at = OrderEvent.objects.filter(order=OuterRef("pk"), status=OrdStatus.ROUTED)
    recent = (
        Order.objects.filter(
            origin=OrderOrigin.EMS, created_at__gte=timezone.now() - timedelta(seconds=window)
        )
        .annotate(routed_at=Subquery(routed_at.order_by("at").values("at")[:1]))
        .filter(routed_at__isnull=False)
        .annotate(
            latency=ExpressionWrapper(
                F("routed_at") - F("created_at"), output_field=DurationField()
            )
        )
    )
    per_bucket = {
        f"le_{index}": Count("pk", filter=Q(latency__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(LATENCY_BUCKETS)
    }
    result = recent.aggregate(count=Count("pk"), total=Sum("latency"), **per_bucket)
    buckets = [(str(bound), result[f"le_{i}"]) for i, bound in enumerate(LATENCY_BUCKETS)]
    buckets.append(("+Inf", result["count"]))
    total = result["total"].total_seconds() if result["total"] else 0.0
    return HistogramMetricFamily(
        "emsweb_order_routing_latency_seconds",
        f"RECEIVED to ROUTED, orders received in the last {window:g} s.",
        buckets=buckets,
        sum_value=total,
    )


def sync_lag() -> GaugeMetricFamily:
    """Seconds since each enabled account's last successful sync (since it was linked, if it
    never synced: so an account that never syncs still raises an alert)."""
    from accounts.models import ExchangeAccount

    now = timezone.now()
    family = GaugeMetricFamily(
        "emsweb_account_sync_lag_seconds",
        "Seconds since the account's last successful sync with its venue.",
        labels=["exchange_id"],
    )
    accounts = ExchangeAccount.objects.filter(enabled=True)
    for exchange_id, last_sync_at, created_at in accounts.values_list(
        "exchange_id", "last_sync_at", "created_at"
    ):
        family.add_metric([exchange_id], (now - (last_sync_at or created_at)).total_seconds())
    return family


def queue_depth(client) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "emsweb_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            pipe.llen(queue)
            for step in PRIORITY_STEPS:
                pipe.llen(f"{queue}{PRIORITY_SEPARATOR}{step}")
        lengths = pipe.execute()
    per_queue = len(PRIORITY_STEPS) + 1
    for index, queue in enumerate(QUEUES):
        family.add_metric([queue], sum(lengths[index * per_queue : (index + 1) * per_queue]))
    return family


def venue_errors(client) -> CounterMetricFamily:
    return _counted(
        client,
        VENUE_ERRORS_KEY,
        "emsweb_venue_errors",
        "Failed venue calls, by venue, operation and error class.",
        ["venue", "operation", "kind"],
    )


def venue_alerts(client) -> CounterMetricFamily:
    return _counted(
        client,
        VENUE_ALERTS_KEY,
        "emsweb_venue_alerts",
        "Alerts raised on venue accounts (AUTH: key refused, NONCE: nonce refused).",
        ["venue", "kind"],
    )


def risk_refusals(client) -> CounterMetricFamily:
    return _counted(
        client,
        RISK_REFUSALS_KEY,
        "emsweb_risk_refusals",
        "Orders refused by a risk limit or trading state, by scope kind and limit.",
        ["scope", "limit"],
    )


def _counted(client, key: str, name: str, documentation: str, labels: list[str]):
    """The counters _count keeps in the hash `key`, one per label values."""
    family = CounterMetricFamily(name, documentation, labels=labels)
    for field, count in sorted(client.hgetall(key).items()):
        family.add_metric(field.decode().split("|", len(labels) - 1), int(count))
    return family


def heartbeat_ages(client) -> GaugeMetricFamily:
    family = GaugeMetricFamily(
        "emsweb_heartbeat_age_seconds",
        "Seconds since beat last ticked / a worker last ran the heartbeat.",
        labels=["process"],
    )
    for process, key in HEARTBEATS.items():
        age = heartbeat_check(client, key)["age_seconds"]
        family.add_metric([process], float("inf") if age is None else age)
    return family


class EmswebCollector:
    """Each source read on its own: PostgreSQL down still yields the Redis metrics, and the
    other way round; emsweb_metrics_source_up says which answered."""

    def collect(self):
        sources = {
            "database": lambda: [orders_by_status(), routing_latency(), sync_lag()],
            "redis": lambda: [
                queue_depth(redis_client()),
                venue_errors(redis_client()),
                venue_alerts(redis_client()),
                risk_refusals(redis_client()),
                heartbeat_ages(redis_client()),
            ],
        }
        up = GaugeMetricFamily(
            "emsweb_metrics_source_up", "1 if the source answered this scrape.", labels=["source"]
        )
        for source, read in sources.items():
            try:
                families = read()
            except Exception:  # noqa: BLE001 - report the source down, keep the others
                logger.warning("metrics: %s did not answer", source, exc_info=True)
                up.add_metric([source], 0)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up


REGISTRY = CollectorRegistry(auto_describe=False)
REGISTRY.register(EmswebCollector())


def _authorized(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    expected = settings.EMSWEB_METRICS_TOKEN
    return scheme.lower() == "bearer" and hmac.compare_digest(token.encode(), expected.encode())


def metrics(request: HttpRequest) -> HttpResponse:
    if not settings.EMSWEB_METRICS_TOKEN:
        return HttpResponse("Metrics are off: set EMSWEB_METRICS_TOKEN.\n", status=404)
    if not _authorized(request):
        return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    started = time.monotonic()
    body = generate_latest(REGISTRY)
    logger.debug("metrics scraped in %.3f s", time.monotonic() - started)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
