"""/healthz and /readyz, and the heartbeat that beat publishes and a worker runs."""

import json
import time

import pytest

from emsweb import celery, tasks
from emsweb.heartbeats import (
    BEAT_KEY,
    FIX_KEY,
    HEARTBEAT_TASK,
    HEARTBEATS,
    ORDER_WORKER_KEY,
    WORKER_KEY,
    heartbeat_check,
    heartbeat_record,
)
from emsweb.redis import redis_client


@pytest.fixture
def heartbeats(redis_broker):
    """No heartbeat recorded before the test, none left after it."""
    keys = tuple(HEARTBEATS.values())
    redis_client().delete(*keys)
    yield redis_client()
    redis_client().delete(*keys)


def both_fresh(client) -> None:
    heartbeat_record(client, BEAT_KEY)
    heartbeat_record(client, WORKER_KEY, hostname="worker@test")
    heartbeat_record(client, ORDER_WORKER_KEY, hostname="orders@test")


def test_healthz_answers_without_touching_the_database(client):
    response = client.get("/healthz")  # no django_db mark: a query would raise here
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_internal_endpoints_answer_any_host_name_over_plain_http(client, settings):
    """A container healthcheck calls 127.0.0.1, Prometheus calls web:8000: neither is in
    ALLOWED_HOSTS, and neither speaks TLS."""
    settings.ALLOWED_HOSTS = ["ems.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz", HTTP_HOST="web:8000").status_code == 200
    assert client.get("/admin/login/", HTTP_HOST="web:8000").status_code == 400


@pytest.mark.django_db
def test_readyz_is_ready_when_the_database_redis_and_both_heartbeats_answer(client, heartbeats):
    both_fresh(heartbeats)

    response = client.get("/readyz")

    assert response.status_code == 200
    report = response.json()
    assert report["status"] == "ready"
    checks = report["checks"]
    assert checks["database"]["ok"] and checks["database"]["latency_ms"] >= 0
    assert checks["redis"]["ok"]
    assert checks["worker"]["hostname"] == "worker@test"
    assert checks["order_worker"]["hostname"] == "orders@test"
    assert 0 <= checks["worker"]["age_seconds"] < 5 and 0 <= checks["beat"]["age_seconds"] < 5
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_readyz_is_503_until_a_heartbeat_was_ever_recorded(client, heartbeats):
    heartbeat_record(heartbeats, BEAT_KEY)

    response = client.get("/readyz")

    assert response.status_code == 503
    worker = response.json()["checks"]["worker"]
    assert worker == {"ok": False, "age_seconds": None, "error": "no heartbeat recorded yet"}


@pytest.mark.django_db
def test_a_stale_heartbeat_fails_readyz_and_says_how_old_it_is(client, heartbeats, settings):
    both_fresh(heartbeats)
    stale = time.time() - settings.EMSWEB_HEARTBEAT_STALE - 30
    heartbeats.set(BEAT_KEY, json.dumps({"at": stale}))

    response = client.get("/readyz")

    assert response.status_code == 503
    beat = response.json()["checks"]["beat"]
    assert beat["ok"] is False and beat["age_seconds"] >= settings.EMSWEB_HEARTBEAT_STALE + 30
    assert response.json()["checks"]["worker"]["ok"] is True


@pytest.mark.django_db
def test_readyz_is_503_when_only_the_order_paths_worker_is_gone(client, heartbeats, settings):
    both_fresh(heartbeats)
    stale = time.time() - settings.EMSWEB_HEARTBEAT_STALE - 1
    heartbeats.set(ORDER_WORKER_KEY, json.dumps({"at": stale, "hostname": "orders@test"}))

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["order_worker"]["ok"] is False and checks["worker"]["ok"] is True


@pytest.mark.django_db
def test_readyz_is_503_and_names_redis_when_redis_does_not_answer(client, monkeypatch):
    class Down:
        def ping(self):
            raise ConnectionError("Connection refused")

    monkeypatch.setattr("emsweb.health.redis_client", lambda: Down())

    response = client.get("/readyz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["redis"] == {"ok": False, "error": "ConnectionError: Connection refused"}
    assert checks["worker"]["ok"] is False and checks["database"]["ok"] is True


def test_the_internal_endpoints_take_get_only(client):
    assert client.post("/readyz").status_code == 405


def test_publishing_the_heartbeat_is_beats_tick_and_running_it_is_a_workers(heartbeats):
    celery.beat_ticked(sender="orders.tasks.sync_all_accounts")
    assert heartbeats.get(BEAT_KEY) is None

    celery.beat_ticked(sender=HEARTBEAT_TASK)
    tasks.heartbeat.apply()

    assert heartbeat_check(heartbeats, BEAT_KEY)["ok"]
    worker = heartbeat_check(heartbeats, WORKER_KEY)
    assert worker["ok"] and worker["age_seconds"] < 5 and "hostname" in worker
    assert heartbeats.get(ORDER_WORKER_KEY) is None, "run on `default`: not the order's"
    tasks.heartbeat.apply(args=("orders",))
    assert heartbeat_check(heartbeats, ORDER_WORKER_KEY)["ok"]


@pytest.mark.django_db
def test_readyz_checks_the_fix_gateway_only_where_it_is_on(client, heartbeats, settings):
    both_fresh(heartbeats)
    heartbeats.delete(FIX_KEY)
    assert "fix" not in client.get("/readyz").json()["checks"]

    settings.EMSWEB_FIX_PORT = 9878
    response = client.get("/readyz")
    assert response.status_code == 503 and not response.json()["checks"]["fix"]["ok"]
    heartbeat_record(heartbeats, FIX_KEY, sessions=0, port=9878)
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["checks"]["fix"]["ok"]
    heartbeats.delete(FIX_KEY)
