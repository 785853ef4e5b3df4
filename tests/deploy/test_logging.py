"""Production logs: one JSON object per line; order-path lines carry the order's client id and
account; nothing that names a secret is written in clear."""

import json
import logging
import sys

import pytest

from accounts.services import account_link
from emsweb.logging import JsonFormatter
from orders import services
from orders.instruments import instruments_refresh
from orders.sync import account_sync
from venues.paper import engine

ACCOUNT = "PAPER/LOGS"


def record(
    message="hello %s", args=("world",), level=logging.INFO, name="orders.services", **extra
):
    made = logging.LogRecord(name, level, __file__, 1, message, args, None)
    made.__dict__.update(extra)
    return made


def formatted(made: logging.LogRecord) -> dict:
    line = JsonFormatter().format(made)
    assert "\n" not in line
    return json.loads(line)


def test_a_line_is_one_json_object_with_time_level_logger_message_and_extra_fields():
    line = formatted(record(client_order_id="c-1", account="PAPER/X"))

    assert line["message"] == "hello world"
    assert line["level"] == "INFO" and line["logger"] == "orders.services"
    assert line["time"].endswith("+00:00")
    assert line["client_order_id"] == "c-1" and line["account"] == "PAPER/X"


def test_an_exception_stays_on_the_same_line():
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        made = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())

    line = formatted(made)

    assert "ValueError: bad\nthing" in line["exception"]


def test_fields_that_name_a_secret_are_masked():
    line = formatted(record(api_key="ems_abc", password="p", secret_key="s", client_order_id="c"))

    assert line["api_key"] == line["password"] == line["secret_key"] == "***"
    assert line["client_order_id"] == "c"


def test_a_request_in_a_line_is_its_method_and_path_never_its_query(rf):
    request = rf.get("/v1/orders", {"apikey": "ems_secret"})
    line = formatted(record("Not Found: %s", ("/v1/orders",), status_code=404, request=request))

    assert line["request"] == "GET /v1/orders"
    assert "ems_secret" not in json.dumps(line)


def test_a_gunicorn_access_line_is_rebuilt_with_the_api_key_in_its_query_masked():
    atoms = {
        "h": "10.0.0.5", "m": "GET", "U": "/v1/orders", "q": "apikey=ems_secret&exchange_id=X",
        "s": "200", "B": 12, "D": 2500, "a": "curl/8", "r": "GET /v1/orders?apikey=ems_secret",
    }  # fmt: skip
    made = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, "%(r)s", (), None)
    made.args = atoms  # as gunicorn passes them

    line = formatted(made)

    assert "ems_secret" not in json.dumps(line)
    assert line["query"] == "apikey=***&exchange_id=X"
    assert (line["method"], line["path"], line["status"]) == ("GET", "/v1/orders", 200)
    assert line["duration_ms"] == 2.5


@pytest.fixture
def account(db, redis_broker):
    instruments_refresh(venue="PAPER")
    account, _ = account_link(exchange_id=ACCOUNT, parameters={})
    account_sync(account_id=account.pk)
    return account


def test_an_order_path_line_names_the_order_and_its_account(account, caplog):
    engine.set_knobs(ACCOUNT, fault="TIMEOUT_BEFORE_ACCEPT", fault_delay_ms=0)
    ticket = services.OrderTicket(
        client_order_id="log-1", symbol="PAPER_SPOT_BTC_USD", side="BUY", amount="0.01", price="1e4"
    )
    order = services.order_submit(account=account, ticket=ticket)

    with caplog.at_level(logging.WARNING, logger="orders.services"):
        services.order_route(order_id=order.pk)

    (warning,) = [r for r in caplog.records if r.name == "orders.services.route"]
    line = formatted(warning)
    assert line["client_order_id"] == "log-1" and line["account"] == ACCOUNT
    assert "outcome unknown" in line["message"]


def test_an_account_sync_failure_line_names_the_account(account, caplog):
    engine.set_knobs(ACCOUNT, fault="UNREACHABLE")

    with caplog.at_level(logging.WARNING, logger="orders.sync"):
        account_sync(account_id=account.pk)

    (warning,) = [r for r in caplog.records if r.name == "orders.sync"]
    assert formatted(warning)["account"] == ACCOUNT
