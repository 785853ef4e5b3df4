"""The /v1 API under hostile input.

schemathesis fuzzes every operation of the API's own OpenAPI document (valid and invalid
requests, pointed now and then at real rows so that they get past "not found"), and the
parametrized tests below send the values that break money code by hand: negative, zero, NaN,
Infinity, 1e400, 40 decimals, 10 KB strings, unicode, NUL, wrong JSON types, missing fields and
malformed JSON. Whatever arrives: no 5xx, a refusal is a 4xx with a JSON body (a 400 names the
field at fault), and a refused request leaves every row as it found it.
"""

from __future__ import annotations

import json
import traceback
from decimal import Decimal
from urllib.parse import quote

import pytest
import schemathesis
from django.core.signals import got_request_exception, request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)

from accounts.models import ExchangeAccount
from accounts.services import account_link, api_key_create
from algos.models import ParentOrder
from orders.instruments import instruments_refresh
from orders.models import Instrument, Order, OrderEvent
from tests.factories import BalanceFactory, OrderFactory
from venues.base import OrdStatus

DESK = "PAPER/FUZZ"
IDLE = "PAPER/IDLE"  # an account with no orders: a delete that got through would remove it
RESTING = "fuzz-resting"  # a NEW order: cancelable
CLOSED = "fuzz-closed"  # a CANCELED order: not cancelable
RESTING_AT_VENUE = "PAPER-FUZZ-1"
TEN_KB = 10 * 1024

VALID_ORDER = {
    "exchange_id": DESK,
    "client_order_id": "fuzz-new",
    "symbol_id_coinapi": "PAPER_SPOT_OXT_USD",
    "amount_order": 100,
    "price": 0.1,
    "side": "BUY",
    "order_type": "LIMIT",
    "time_in_force": "GOOD_TILL_CANCEL",
    "exec_inst": ["MAKER_OR_CANCEL"],
}
KRAKEN_KEYS = [
    {"key": "PublicApiKey", "value": "fuzz-public"},
    {"key": "PrivateApiKey", "value": "fuzz-private"},
]
ERROR_KEYS = {"type", "title", "status", "traceId", "errors"}


# --- the desk every test runs against ----------------------------------------------------------


@pytest.fixture
def desk(db, settings):
    """A funded PAPER account with the paper instruments, one resting and one closed order, and
    an idle second account."""
    # No worker runs here: a valid order would wait for routing; make that wait short.
    settings.EMSWEB_API_ROUTING_WAIT = 0.01
    instruments_refresh(venue="PAPER")
    account, _ = account_link(exchange_id=DESK, parameters={})
    account_link(exchange_id=IDLE, parameters={})
    for asset in ("USD", "OXT", "BTC", "JPY"):
        BalanceFactory(account=account, asset_id_exchange=asset, balance=10**6, available=10**6)
    oxt = Instrument.objects.get(symbol_id_coinapi="PAPER_SPOT_OXT_USD")
    for client_order_id, status in ((RESTING, OrdStatus.NEW), (CLOSED, OrdStatus.CANCELED)):
        order = OrderFactory(
            client_order_id=client_order_id,
            account=account,
            instrument=oxt,
            amount_order=100,
            price="0.1",
            status=status,
            exchange_order_id=RESTING_AT_VENUE if status == OrdStatus.NEW else "",
        )
        OrderEvent.objects.create(order=order, status=status, cause="SUBMIT")
    return account


def stored_rows() -> dict:
    """What a refused request must leave exactly as it found it."""
    return {
        "orders": list(
            Order.objects.order_by("pk").values_list("pk", "status", "cancel_requested_at")
        ),
        "events": OrderEvent.objects.count(),
        "parents": list(ParentOrder.objects.order_by("pk").values_list("pk", "status", "version")),
        "accounts": list(
            ExchangeAccount.objects.order_by("pk").values_list(
                "pk", "exchange_id", "enabled", "credentials_hint"
            )
        ),
    }


def assert_names_field(response, field: str) -> None:
    """A 400 in the contract's ValidationError shape whose errors name `field`."""
    assert response.status_code == 400, response.content[:500]
    body = response.json()
    assert set(body) == ERROR_KEYS, body
    assert body["status"] == 400
    assert field in body["errors"], body["errors"]
    for messages in body["errors"].values():
        assert messages and all(isinstance(message, str) for message in messages), body


def with_raw(body: dict, field: str, raw: str) -> str:
    """`body` as JSON text with `field`'s value replaced by the raw JSON text `raw`."""
    placeholder = "@@raw@@"
    return json.dumps({**body, field: placeholder}).replace(json.dumps(placeholder), raw, 1)


def without(body: dict, *fields: str) -> dict:
    return {name: value for name, value in body.items() if name not in fields}


# --- schemathesis over the whole document ------------------------------------------------------

schema = schemathesis.openapi.from_wsgi("/v1/openapi.json", get_wsgi_application())
# The tests below send keys themselves; generated Authorization headers and apikey parameters
# would only fight the header that authenticates.
schema.config.generation.update(with_security_parameters=False)

# Names the generator would almost never guess, so that some requests reach validation, rounding,
# funds, duplicates and the lifecycle instead of stopping at "not found".
KNOWN_VALUES = {
    "exchange_id": [DESK, IDLE, "PAPER/NEW", "BITMEX/JOHN", "KRAKEN/JOHN"],
    "client_order_id": [RESTING, CLOSED, "fuzz-new"],
    "exchange_order_id": [RESTING_AT_VENUE],
    "symbol_id_coinapi": ["PAPER_SPOT_OXT_USD", "PAPER_SPOT_USD_JPY"],
    "symbol_id_exchange": ["OXTUSD", "BTC/USD"],
    "filter_exchange_id": [DESK],
    "time_start": ["2020-01-01", "20200101T00"],
    "time_end": ["2100-01-01T00:00:00.0000000Z"],
}


@pytest.fixture
def raw_wsgi_calls():
    """Django's test client keeps the test's database connection across requests; a raw WSGI
    call, as schemathesis makes, would close it (and the test's transaction) when it ends."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def server_errors():
    """Tracebacks of the exceptions the application let through, for the failure message."""
    caught: list[str] = []

    def record(sender, **kwargs):
        caught.append(traceback.format_exc())

    got_request_exception.connect(record)
    yield caught
    got_request_exception.disconnect(record)


def aim_at_the_desk(case, data) -> None:
    for container in ("body", "query", "path_parameters"):
        values = getattr(case, container)
        if isinstance(values, dict) and any(name in KNOWN_VALUES for name in values):
            setattr(case, container, _aimed(values, data))


def _aimed(values: dict, data) -> dict:
    aimed = dict(values)
    for name, value in values.items():
        if name in KNOWN_VALUES and data.draw(st.booleans(), label=f"aim {name}"):
            known = data.draw(st.sampled_from(KNOWN_VALUES[name]), label=name)
            aimed[name] = [known] if isinstance(value, list) else known
    return aimed


NOT_CHECKED = [
    # Valid by the schema is not enough to be accepted: an unknown account is a 400.
    positive_data_acceptance,
    # Query strings carry no types ("true" is a fine exchange id), and the API is lenient where
    # the contract is (a bare exec_inst string, keys with stray spaces): schema-invalid requests
    # may rightly be accepted. The tests below check the refusals field by field instead.
    negative_data_rejection,
]


def routing_timed_out(response) -> bool:
    """The 504 the contract answers when the venue's answer did not come in time."""
    if response.status_code != 504:
        return False
    return response.json().get("reject_reason") == "EXCHANGE_RESPONSE_TIMEOUT"


@pytest.mark.fault(21, "schemathesis over every /v1 operation, stateful")
@schema.given(data=st.data())
@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_no_generated_request_gets_a_5xx_and_a_refused_one_writes_nothing(
    case, data, api, desk, raw_wsgi_calls, server_errors
):
    aim_at_the_desk(case, data)
    server_errors.clear()  # the fixture lives across examples
    before = stored_rows()
    response = case.call(headers=api.headers)
    if routing_timed_out(response):
        return  # a valid order: no worker routes it here, so the contract's routing timeout
    assert response.status_code < 500, "\n".join(server_errors) or response.content[:2000]
    if 400 <= response.status_code < 500:
        assert stored_rows() == before, f"{case.method} {case.formatted_path} wrote, then refused"
    case.validate_response(response, headers=api.headers, excluded_checks=NOT_CHECKED)


# --- POST /v1/orders by hand -------------------------------------------------------------------

NOT_AN_AMOUNT = {
    "negative": "-1",
    "zero": "0",
    "negative-zero": "-0.0",
    "1e400": "1e400",
    "-1e400": "-1e400",
    "1e28": "1e28",
    "40-decimals": "0." + "0" * 39 + "1",
    "10kb-of-digits": json.dumps("9" * TEN_KB),
    "unicode": json.dumps("ß漢🙂"),
    "nan-string": json.dumps("NaN"),
    "infinity-string": json.dumps("Infinity"),
    "empty-string": json.dumps(""),
    "list": "[100]",
    "object": '{"value": 100}',
    "true": "true",
    "null": "null",
}
WRONG_TYPES = {
    "number": "1",
    "1e400": "1e400",
    "list": json.dumps([DESK]),
    "object": "{}",
    "true": "true",
    "false": "false",
}
ODD_TEXT = {
    "10kb": json.dumps("x" * TEN_KB),
    "unicode": json.dumps("ß漢🙂"),
    "nul": json.dumps("\x00"),
    "empty": json.dumps(""),
}
NULL = {"null": "null"}
OFF_THE_CALENDAR = {
    "month-13": json.dumps("2030-13-01"),
    "hour-25": json.dumps("2030-01-01T25"),
    "after-year-9999": json.dumps("9999-12-31T23:00-23:59"),
    "before-year-1": json.dumps("0001-01-01T00:00+23:59"),
}


def cases(fields_and_values: dict[str, dict[str, str]]) -> list:
    return [
        pytest.param(field, raw, id=f"{field}-{name}")
        for field, values in fields_and_values.items()
        for name, raw in values.items()
    ]


def pick(values: dict[str, str], *names: str) -> dict[str, str]:
    return {name: values[name] for name in names}


BAD_ORDER_FIELDS = cases(
    {
        "amount_order": NOT_AN_AMOUNT,
        "price": NOT_AN_AMOUNT,
        "exchange_id": WRONG_TYPES | ODD_TEXT | NULL,
        "client_order_id": WRONG_TYPES | pick(ODD_TEXT, "10kb", "nul", "empty") | NULL,
        "symbol_id_coinapi": WRONG_TYPES | pick(ODD_TEXT, "10kb", "unicode", "nul"),
        "symbol_id_exchange": WRONG_TYPES | pick(ODD_TEXT, "10kb", "unicode", "nul"),
        "side": WRONG_TYPES | ODD_TEXT | NULL | {"lowercase": '"buy"'},
        "order_type": WRONG_TYPES | ODD_TEXT | NULL | {"market": '"MARKET"'},
        "time_in_force": WRONG_TYPES | ODD_TEXT | NULL,
        "expire_time": WRONG_TYPES | pick(ODD_TEXT, "10kb", "unicode", "nul") | OFF_THE_CALENDAR,
        "exec_inst": WRONG_TYPES | ODD_TEXT | {"list-of-numbers": "[1]"},
    }
)


def order_body(field: str) -> dict:
    """The valid order, naming its market by `field` when that is a symbol field."""
    if field == "symbol_id_exchange":
        return {**without(VALID_ORDER, "symbol_id_coinapi"), "symbol_id_exchange": "OXTUSD"}
    return VALID_ORDER


@pytest.mark.fault(21, "bad values field by field on POST /v1/orders")
@pytest.mark.parametrize("field,raw", BAD_ORDER_FIELDS)
def test_an_order_with_a_bad_value_is_a_400_naming_the_field_and_writes_nothing(
    api, desk, field, raw
):
    before = stored_rows()
    response = api.post("/v1/orders", with_raw(order_body(field), field, raw))
    assert_names_field(response, field)
    assert stored_rows() == before


REQUIRED_ORDER_FIELDS = [
    *("exchange_id", "client_order_id", "amount_order", "price"),
    *("side", "order_type", "time_in_force"),
]


@pytest.mark.parametrize("field", REQUIRED_ORDER_FIELDS)
def test_an_order_missing_a_required_field_is_a_400_naming_it(api, desk, field):
    before = stored_rows()
    response = api.post("/v1/orders", without(VALID_ORDER, field))
    assert_names_field(response, field)
    assert stored_rows() == before


def test_an_order_naming_no_market_is_a_400_naming_the_symbol(api, desk):
    before = stored_rows()
    response = api.post("/v1/orders", without(VALID_ORDER, "symbol_id_coinapi"))
    assert_names_field(response, "symbol_id_exchange")
    assert stored_rows() == before


def test_a_valid_order_is_accepted_so_the_refusals_above_are_about_the_bad_value(api, desk):
    response = api.post("/v1/orders", VALID_ORDER)
    # No worker routes it here, so the answer is the contract's routing timeout.
    assert response.status_code == 504, response.content
    assert Order.objects.filter(client_order_id="fuzz-new").exists()


def test_40_decimals_are_rounded_to_the_tick_and_lot_on_the_safe_side(api, desk):
    body = with_raw(VALID_ORDER, "price", "0.1" + "0" * 38 + "9")
    body = body.replace('"amount_order": 100', '"amount_order": 100.' + "0" * 39 + "9")
    response = api.post("/v1/orders", body)
    assert response.status_code == 504, response.content
    order = Order.objects.get(client_order_id="fuzz-new")
    assert (order.price, order.amount_order) == (Decimal("0.1"), Decimal(100))


# --- every body endpoint: bodies that are not a JSON object ------------------------------------

BODY_ENDPOINTS = ["/v1/orders", "/v1/orders/cancel", "/v1/orders/cancel/all", "/v1/accounts"]
NOT_AN_OBJECT = {
    "empty": "",
    "truncated": '{"exchange_id": "PAPER/FUZZ"',
    "not-json": "exchange_id=PAPER/FUZZ",
    "single-quotes": "{'exchange_id': 'PAPER/FUZZ'}",
    "trailing-garbage": json.dumps({"exchange_id": DESK}) + "}",
    "nan-literal": with_raw(VALID_ORDER, "amount_order", "NaN"),
    "infinity-literal": with_raw(VALID_ORDER, "price", "Infinity"),
    "minus-infinity-literal": with_raw(VALID_ORDER, "price", "-Infinity"),
    "not-utf8": b'{"exchange_id": "\xff\xfe"}',
    "deep-nesting": "[" * 100_000,
    "list": json.dumps([VALID_ORDER]),
    "string": json.dumps("order"),
    "number": "1",
    "null": "null",
}


@pytest.mark.parametrize("path", BODY_ENDPOINTS)
@pytest.mark.parametrize("raw", NOT_AN_OBJECT.values(), ids=NOT_AN_OBJECT.keys())
def test_a_body_that_is_not_a_json_object_is_a_400_validation_error(api, desk, path, raw):
    before = stored_rows()
    response = api.post(path, raw)
    assert_names_field(response, "$")
    assert stored_rows() == before


def test_a_3_mb_body_is_refused_with_a_json_error(api, desk):
    before = stored_rows()
    response = api.post("/v1/orders", with_raw(VALID_ORDER, "client_order_id", "x" * 3_000_000))
    assert 400 <= response.status_code < 500
    assert response["Content-Type"].startswith("application/json"), response.content[:300]
    assert stored_rows() == before


# --- POST /v1/orders/cancel and /v1/orders/cancel/all ------------------------------------------

CANCEL = {"exchange_id": DESK, "client_order_id": RESTING}


@pytest.mark.parametrize(
    "field,raw",
    cases(
        {
            "exchange_id": WRONG_TYPES | NULL,
            "client_order_id": WRONG_TYPES,
            "exchange_order_id": WRONG_TYPES,
        }
    ),
)
def test_a_cancel_with_a_value_of_the_wrong_type_is_a_400_naming_the_field(api, desk, field, raw):
    before = stored_rows()
    response = api.post("/v1/orders/cancel", with_raw(CANCEL, field, raw))
    assert_names_field(response, field)
    assert stored_rows() == before


@pytest.mark.parametrize(
    "body,field",
    [
        (without(CANCEL, "exchange_id"), "exchange_id"),
        (without(CANCEL, "client_order_id"), "client_order_id"),
        ({**CANCEL, "client_order_id": CLOSED}, "client_order_id"),
    ],
    ids=["missing-exchange-id", "missing-both-order-ids", "order-already-closed"],
)
def test_a_cancel_that_cannot_be_done_is_a_400_naming_the_field(api, desk, body, field):
    before = stored_rows()
    assert_names_field(api.post("/v1/orders/cancel", body), field)
    assert stored_rows() == before


@pytest.mark.parametrize(
    "field,raw",
    cases(
        {
            "exchange_id": pick(ODD_TEXT, "10kb", "unicode"),
            "client_order_id": pick(ODD_TEXT, "10kb", "unicode"),
            "exchange_order_id": pick(ODD_TEXT, "10kb", "unicode"),
        }
    ),
)
def test_a_cancel_naming_no_order_is_a_404_message_reject(api, desk, field, raw):
    body = without(CANCEL, "client_order_id") if field == "exchange_order_id" else CANCEL
    before = stored_rows()
    response = api.post("/v1/orders/cancel", with_raw(body, field, raw))
    assert response.status_code == 404, response.content[:500]
    assert response.json()["type"] == "MESSAGE_REJECT"
    assert response.json()["reject_reason"] == "ORDER_ID_NOT_FOUND"
    assert stored_rows() == before


BAD_TEXT = WRONG_TYPES | ODD_TEXT | NULL


@pytest.mark.parametrize("raw", BAD_TEXT.values(), ids=BAD_TEXT.keys())
def test_a_cancel_all_with_a_bad_exchange_id_is_a_400_naming_it(api, desk, raw):
    before = stored_rows()
    response = api.post(
        "/v1/orders/cancel/all", with_raw({"exchange_id": DESK}, "exchange_id", raw)
    )
    assert_names_field(response, "exchange_id")
    assert stored_rows() == before


def test_a_cancel_all_without_an_exchange_id_is_a_400_naming_it(api, desk):
    before = stored_rows()
    assert_names_field(api.post("/v1/orders/cancel/all", {}), "exchange_id")
    assert stored_rows() == before


# --- GET lookups by name ----------------------------------------------------------------------

ODD_NAMES = {
    "10kb": "x" * TEN_KB,
    "unicode": "ß漢🙂",
    "percent-and-slash": "%2F../%00",
}
LOOKUPS = {
    "open-orders": ("/v1/orders", "exchange_id"),
    "balances": ("/v1/balances", "exchange_id"),
    "positions": ("/v1/positions", "exchange_id"),
    "accounts": ("/v1/accounts", "filter_exchange_id"),
}


@pytest.mark.parametrize("name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
@pytest.mark.parametrize("path,parameter", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_a_lookup_by_an_odd_name_finds_nothing(api, desk, path, parameter, name):
    response = api.get(path, {parameter: name})
    assert response.status_code == 200, response.content[:500]
    assert response.json() == []


@pytest.mark.parametrize("name", ODD_NAMES.values(), ids=ODD_NAMES.keys())
def test_the_status_of_an_odd_client_order_id_is_a_404_message_reject(api, desk, name):
    response = api.get("/v1/orders/status/" + quote(name, safe=""))
    assert response.status_code == 404, response.content[:500]
    assert response.json()["reject_reason"] == "ORDER_ID_NOT_FOUND"


GOOD_RANGE = {"time_start": "2020-01-01", "time_end": "2100-01-01"}
BAD_TIMES = {name: json.loads(raw) for name, raw in (ODD_TEXT | OFF_THE_CALENDAR).items()} | {
    "offset-of-99-hours": "2024-01-01T00:00+99:99"
}


@pytest.mark.parametrize("time", BAD_TIMES.values(), ids=BAD_TIMES.keys())
@pytest.mark.parametrize("field", ["time_start", "time_end"])
def test_a_history_range_with_a_bad_time_is_a_400_naming_it(api, desk, field, time):
    response = api.get("/v1/orders/history", {**GOOD_RANGE, field: time})
    assert_names_field(response, field)


# An empty bound is another URL (//), not this endpoint.
PATH_TIMES = without(BAD_TIMES, "empty", "nul")  # a NUL in a path: see below


@pytest.mark.parametrize("time", PATH_TIMES.values(), ids=PATH_TIMES.keys())
@pytest.mark.parametrize("field", ["time_start", "time_end"])
def test_the_2022_history_path_with_a_bad_time_is_a_400_naming_it(api, desk, field, time):
    bounds = {**GOOD_RANGE, field: quote(time, safe="")}
    response = api.get("/v1/orders/history/{time_start}/{time_end}".format_map(bounds))
    assert_names_field(response, field)


@pytest.mark.parametrize("field", ["time_start", "time_end"])
def test_a_history_range_missing_a_bound_is_a_400_naming_it(api, desk, field):
    assert_names_field(api.get("/v1/orders/history", without(GOOD_RANGE, field)), field)


# --- NUL characters: refused before any query, naming where they were ------------------------


@pytest.mark.parametrize("field", ["exchange_id", "client_order_id", "exchange_order_id"])
def test_a_nul_in_a_cancel_is_a_400_naming_the_field(api, desk, field):
    before = stored_rows()
    assert_names_field(api.post("/v1/orders/cancel", {**CANCEL, field: "A\x00"}), field)
    assert stored_rows() == before


@pytest.mark.parametrize("path,parameter", LOOKUPS.values(), ids=LOOKUPS.keys())
def test_a_nul_in_a_query_parameter_is_a_400_naming_it(api, desk, path, parameter):
    assert_names_field(api.get(path, {parameter: "\x00"}), parameter)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/orders/status/%00",
        "/v1/orders/history/2020-01-01/%00",
        "/v1/orders/history/%00/2100-01-01",
    ],
)
def test_a_nul_in_the_path_is_a_400(api, desk, path):
    assert_names_field(api.get(path), "$")


# --- POST /v1/accounts -------------------------------------------------------------------------

ACCOUNT = {"exchange_id": "KRAKEN/FUZZ", "parameters": KRAKEN_KEYS}
BAD_EXCHANGE_IDS = (
    WRONG_TYPES
    | ODD_TEXT
    | NULL
    | {
        "closed-venue": json.dumps("BITMEX/JOHN"),
        "unknown-venue": json.dumps("NOWHERE/JOHN"),
        "empty-tag": json.dumps("PAPER/"),
        "10kb-tag": json.dumps("PAPER/" + "x" * TEN_KB),
        "nul-in-tag": json.dumps("PAPER/\x00"),
    }
)
BAD_PARAMETERS = {
    "string": json.dumps("PublicApiKey=x"),
    "number": "1",
    "object": json.dumps({"PublicApiKey": "x"}),
    "null": "null",
    "list-of-numbers": "[1]",
    "key-not-a-string": json.dumps([{"key": 1, "value": "x"}]),
    "value-missing": json.dumps([{"key": "PublicApiKey"}]),
    "value-a-list": json.dumps([{"key": "PublicApiKey", "value": ["x"]}]),
    "keys-missing": "[]",
}
# A parameter's own fields are reported by their names, as ASP.NET reports Parameters[0].Key.
PARAMETER_FIELDS = {"parameters", "key", "value", "PublicApiKey", "PrivateApiKey"}


@pytest.mark.parametrize("raw", BAD_EXCHANGE_IDS.values(), ids=BAD_EXCHANGE_IDS.keys())
def test_an_account_with_a_bad_exchange_id_is_a_400_naming_it(api, desk, raw):
    before = stored_rows()
    response = api.post("/v1/accounts", with_raw(ACCOUNT, "exchange_id", raw))
    assert_names_field(response, "exchange_id")
    assert stored_rows() == before


@pytest.mark.parametrize("raw", BAD_PARAMETERS.values(), ids=BAD_PARAMETERS.keys())
def test_an_account_with_bad_parameters_is_a_400_naming_them(api, desk, raw):
    before = stored_rows()
    response = api.post("/v1/accounts", with_raw(ACCOUNT, "parameters", raw))
    assert response.status_code == 400, response.content[:500]
    assert set(response.json()["errors"]) & PARAMETER_FIELDS, response.json()
    assert stored_rows() == before


@pytest.mark.parametrize(
    "field", ["exchange_id", "parameters"], ids=["missing-exchange-id", "missing-parameters"]
)
def test_an_account_missing_a_field_is_a_400_naming_it(api, desk, field):
    before = stored_rows()
    response = api.post("/v1/accounts", without(ACCOUNT, field))
    assert response.status_code == 400, response.content[:500]
    expected = {field} if field == "exchange_id" else PARAMETER_FIELDS
    assert set(response.json()["errors"]) & expected, response.json()
    assert stored_rows() == before


# --- keys --------------------------------------------------------------------------------------

SOR_NEW = {
    "Algorithm": "TWAP",
    "Exchanges": [DESK],
    "Parameters": {
        "side": "BUY",
        "symbol": "BTCUSD",
        "amount": 0.1,
        "duration": "1MIN",
        "interval": "10SEC",
    },
}
# Every operation, with a request that would succeed (or be refused on its merits) with a key.
OPERATIONS = {
    ("GET", "/v1/exchanges"): {},
    ("GET", "/v1/accounts"): {},
    ("POST", "/v1/accounts"): {"body": {"exchange_id": "PAPER/EVE", "parameters": []}},
    ("DELETE", "/v1/accounts"): {"query": f"?exchange_id={IDLE}"},
    ("DELETE", "/v1/accounts/all"): {},
    ("GET", "/v1/balances"): {},
    ("GET", "/v1/positions"): {},
    ("POST", "/v1/orders"): {"body": VALID_ORDER},
    ("GET", "/v1/orders"): {},
    ("GET", "/v1/orders/status/{client_order_id}"): {},
    ("POST", "/v1/orders/cancel"): {"body": CANCEL},
    ("POST", "/v1/orders/cancel/all"): {"body": {"exchange_id": DESK}},
    ("GET", "/v1/orders/history"): {"query": "?time_start=2020-01-01&time_end=2100-01-01"},
    ("GET", "/v1/orders/history/{time_start}/{time_end}"): {},
    ("GET", "/v1/sor/requests"): {},
    ("GET", "/v1/sor/requests/{parent_id}"): {},
    ("POST", "/v1/sor/add"): {"body": SOR_NEW},
    ("PUT", "/v1/sor/update"): {"body": {"id": "1", "Parameters": {"amount": 0.2}}},
    ("POST", "/v1/sor/cancel/{parent_id}"): {"body": {}},
    ("POST", "/v1/sor/pause/{parent_id}"): {"body": {}},
    ("POST", "/v1/sor/resume/{parent_id}"): {"body": {}},
    ("GET", "/v1/sor/balances"): {},
    ("GET", "/v1/sor/orders"): {},
    ("GET", "/v1/sor/positions"): {},
}
WRITES = [operation for operation in OPERATIONS if operation[0] != "GET"]


def named(operations) -> list[str]:
    return [f"{method} {path}" for method, path in operations]


def send(client: Client, method: str, path: str, headers: dict, query: str = ""):
    """One request of OPERATIONS through `client`, with `headers` (a key, or none)."""
    url = path.format(
        client_order_id=RESTING, time_start="2020-01-01", time_end="2100-01-01", parent_id="1"
    )
    url += OPERATIONS[(method, path)].get("query", "")
    if query:
        url += ("&" if "?" in url else "?") + query
    body = OPERATIONS[(method, path)].get("body")
    if method == "GET":
        return client.get(url, headers=headers)
    if method == "DELETE":
        return client.delete(url, headers=headers)
    if method == "PUT":
        return client.put(url, json.dumps(body), content_type="application/json", headers=headers)
    return client.post(url, json.dumps(body), content_type="application/json", headers=headers)


def test_every_documented_operation_is_in_the_key_checks(client):
    document = client.get("/v1/openapi.json").json()
    documented = {
        (method.upper(), path) for path, methods in document["paths"].items() for method in methods
    }
    assert documented <= set(OPERATIONS)


BAD_CREDENTIALS = {
    "no-key": ({}, ""),
    "empty-header": ({"X-CoinAPI-Key": ""}, ""),
    "wrong-header": ({"X-CoinAPI-Key": "ems_" + "x" * 43}, ""),
    "10kb-header": ({"X-CoinAPI-Key": "x" * TEN_KB}, ""),
    "wrong-bearer": ({"Authorization": "Bearer ems_wrong"}, ""),
    "not-bearer": ({"Authorization": "Basic ZnV6ejpmdXp6"}, ""),
    "wrong-query": ({}, "apikey=ems_wrong"),
    "unicode-query": ({}, "apikey=%C3%9F%E6%BC%A2%F0%9F%99%82"),
}


def assert_unauthenticated(response, before: dict) -> None:
    assert response.status_code == 401, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    assert set(response.json()) == {"error"}
    assert DESK.encode() not in response.content and RESTING.encode() not in response.content
    assert stored_rows() == before


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS.keys())
@pytest.mark.parametrize("method,path", OPERATIONS, ids=named(OPERATIONS))
def test_a_wrong_or_missing_key_gets_401_and_sees_and_changes_nothing(
    client, desk, method, path, credentials
):
    headers, query = credentials
    before = stored_rows()
    response = send(client, method, path, headers, query)
    assert_unauthenticated(response, before)


@pytest.fixture
def revoked_key(trader):
    api_key, key = api_key_create(user=trader, label="revoked")
    api_key.revoked_at = timezone.now()
    api_key.save()
    return key


@pytest.fixture
def inactive_users_key(django_user_model):
    user = django_user_model.objects.create_user("gone", password="x" * 12)
    _, key = api_key_create(user=user, label="left the desk")
    user.is_active = False
    user.save()
    return key


@pytest.mark.parametrize("method,path", OPERATIONS, ids=named(OPERATIONS))
@pytest.mark.parametrize("which", ["revoked_key", "inactive_users_key"])
def test_a_revoked_key_or_an_inactive_users_key_gets_401(
    client, desk, request, method, path, which
):
    key = request.getfixturevalue(which)
    before = stored_rows()
    response = send(client, method, path, {"X-CoinAPI-Key": key})
    assert_unauthenticated(response, before)


@pytest.mark.parametrize("method,path", WRITES, ids=named(WRITES))
def test_a_read_only_key_changes_nothing(client, desk, read_only_api, method, path):
    before = stored_rows()
    response = send(client, method, path, read_only_api.headers)
    assert response.status_code == 403, response.content[:500]
    assert set(response.json()) == {"error"}
    assert stored_rows() == before


def test_the_desk_key_reaches_the_desk_so_the_401s_above_are_about_the_key(api, desk):
    assert DESK in [account["exchange_id"] for account in api.get("/v1/accounts").json()]
