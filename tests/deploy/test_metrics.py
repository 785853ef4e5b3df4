"""GET /metrics: computed at scrape time from PostgreSQL and Redis, behind a bearer token."""

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import ExchangeAccount
from accounts.services import account_link
from emsweb import metrics
from emsweb.redis import redis_client
from orders import services
from orders.instruments import instruments_refresh
from orders.models import Order
from orders.sync import account_sync
from venues.paper import engine

pytestmark = pytest.mark.django_db
TOKEN = "test-metrics-token"
ACCOUNT = "PAPER/METRICS"


@pytest.fixture
def scrape(client, settings, redis_broker):
    settings.EMSWEB_METRICS_TOKEN = TOKEN
    redis_client().delete(metrics.VENUE_ERRORS_KEY)

    def scrape() -> dict:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.content.decode())
            for sample in family.samples
        }

    yield scrape
    redis_client().delete(metrics.VENUE_ERRORS_KEY)


@pytest.fixture
def account(redis_broker):
    """A funded paper account, synced once, with orders routed in-process (no worker)."""
    instruments_refresh(venue="PAPER")
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    account_sync(account_id=account.pk)
    return ExchangeAccount.objects.get(pk=account.pk)


def routed(account, client_order_id: str, price: str = "10000") -> Order:
    ticket = services.OrderTicket(
        client_order_id=client_order_id,
        symbol="PAPER_SPOT_BTC_USD",
        side="BUY",
        amount="0.01",
        price=price,
    )
    order = services.order_submit(account=account, ticket=ticket)
    services.order_route(order_id=order.pk)
    return Order.objects.get(pk=order.pk)


def test_without_a_configured_token_metrics_are_off(client, settings):
    settings.EMSWEB_METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer ").status_code == 404


def test_a_missing_or_wrong_token_is_refused(client, settings):
    settings.EMSWEB_METRICS_TOKEN = TOKEN
    assert client.get("/metrics").status_code == 401
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")


def test_orders_are_counted_by_status_and_their_routing_latency_observed(account, scrape):
    routed(account, "m-rests")
    routed(account, "m-also-rests")
    old = routed(account, "m-old")
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))

    samples = scrape()

    assert samples[("emsweb_orders", (("status", "NEW"),))] == 3
    assert samples[("emsweb_orders", (("status", "FILLED"),))] == 0
    # The order received two days ago is outside the latency window.
    assert samples[("emsweb_order_routing_latency_seconds_count", ())] == 2
    assert samples[("emsweb_order_routing_latency_seconds_bucket", (("le", "+Inf"),))] == 2
    assert samples[("emsweb_order_routing_latency_seconds_bucket", (("le", "60.0"),))] == 2
    assert 0 < samples[("emsweb_order_routing_latency_seconds_sum", ())] < 120


def test_the_latency_is_the_time_from_received_to_routed(account, scrape):
    order = routed(account, "m-slow")
    routed_event = order.events.get(status="ROUTED")
    order.events.filter(pk=routed_event.pk).update(at=order.created_at + timedelta(seconds=3))

    samples = scrape()

    assert samples[("emsweb_order_routing_latency_seconds_bucket", (("le", "2.5"),))] == 0
    assert samples[("emsweb_order_routing_latency_seconds_bucket", (("le", "5.0"),))] == 1
    assert samples[("emsweb_order_routing_latency_seconds_sum", ())] == pytest.approx(3)


def test_venue_errors_are_counted_by_venue_operation_and_class(account, scrape):
    engine.set_knobs(ACCOUNT, fault="UNREACHABLE")
    assert routed(account, "m-unreachable").status == "REJECTED"
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_BEFORE_ACCEPT", fault_delay_ms=0)
    assert routed(account, "m-unknown").status == "ROUTING"

    samples = scrape()

    labels = (("kind", "Unreachable"), ("operation", "submit"), ("venue", "PAPER"))
    assert samples[("emsweb_venue_errors_total", labels)] == 1
    labels = (("kind", "OutcomeUnknown"), ("operation", "submit"), ("venue", "PAPER"))
    assert samples[("emsweb_venue_errors_total", labels)] == 1


def test_counting_a_venue_error_never_stops_the_order_path(monkeypatch, caplog):
    class Down:
        def hincrby(self, *args):
            raise ConnectionError("Redis is down")

    monkeypatch.setattr("emsweb.metrics.redis_client", lambda: Down())
    metrics.count_venue_error("PAPER", "submit", RuntimeError("boom"))
    assert "could not count a venue error" in caplog.text


def test_sync_lag_is_per_account(account, scrape):
    ExchangeAccount.objects.filter(pk=account.pk).update(
        last_sync_at=timezone.now() - timedelta(seconds=90)
    )
    lag = scrape()[("emsweb_account_sync_lag_seconds", (("exchange_id", ACCOUNT),))]
    assert 90 <= lag < 100


def test_queue_depth_counts_the_messages_waiting_in_each_celery_queue(scrape):
    client = redis_client()
    client.delete("orders", "default")
    client.rpush("orders", "a", "b")
    client.rpush("orders\x06\x163", "c")  # kombu's list for priority 3
    try:
        samples = scrape()
    finally:
        client.delete("orders", "orders\x06\x163")
    assert samples[("emsweb_queue_depth", (("queue", "orders"),))] == 3
    assert samples[("emsweb_queue_depth", (("queue", "default"),))] == 0


def test_a_source_that_does_not_answer_is_reported_down_and_the_other_still_is(scrape, monkeypatch):
    def down():
        raise ConnectionError("Redis is down")

    monkeypatch.setattr("emsweb.metrics.redis_client", down)

    samples = scrape()

    assert samples[("emsweb_metrics_source_up", (("source", "redis"),))] == 0
    assert samples[("emsweb_metrics_source_up", (("source", "database"),))] == 1
    assert ("emsweb_orders", (("status", "NEW"),)) in samples


def test_the_heartbeat_ages_are_exported(scrape):
    from emsweb.heartbeats import BEAT_KEY, heartbeat_record

    heartbeat_record(redis_client(), BEAT_KEY)
    samples = scrape()
    assert samples[("emsweb_heartbeat_age_seconds", (("process", "beat"),))] < 5
    assert ("emsweb_heartbeat_age_seconds", (("process", "worker"),)) in samples
    assert ("emsweb_heartbeat_age_seconds", (("process", "order_worker"),)) in samples
