"""Every ccxt failure becomes exactly one of Rejected, Unreachable, OutcomeUnknown."""

from __future__ import annotations

import ccxt
import pytest
import requests

from tests.venues.fake_http import Sent, dropped, read_timeout, refused
from venues.ccxt.errors import KeyRefused, NonceRefused, Operation, classify, scrub
from venues.errors import DuplicateClientOrderId, OutcomeUnknown, Rejected, Unreachable

CREATE, CANCEL, READ = Operation.CREATE, Operation.CANCEL, Operation.READ
REQUEST = Sent("POST", "https://api.example.com/order?x=1&signature=abc", {}, "")


def network(make) -> ccxt.NetworkError:
    """What ccxt raises for a requests failure: its own error, raised from requests's."""
    try:
        try:
            raise make(REQUEST)
        except requests.exceptions.RequestException as cause:
            raise ccxt.NetworkError("example POST https://api.example.com/order") from cause
    except ccxt.NetworkError as error:
        return error


@pytest.mark.parametrize(
    ("error", "status", "expected"),
    [
        (ccxt.InsufficientFunds("no funds"), 400, Rejected),
        (ccxt.InvalidOrder("bad price"), 400, Rejected),
        (ccxt.BadSymbol("no such pair"), 400, Rejected),
        (ccxt.BadRequest("bad"), 400, Rejected),
        (ccxt.AuthenticationError("bad key"), 401, KeyRefused),
        (ccxt.PermissionDenied("no trading"), 403, KeyRefused),
        (ccxt.AccountSuspended("frozen"), 403, KeyRefused),
        (ccxt.DDoSProtection("binance -2015 after a key worked"), 401, KeyRefused),
        (ccxt.InvalidNonce("EAPI:Invalid nonce"), 200, NonceRefused),
        (ccxt.DuplicateOrderId("dup"), 400, DuplicateClientOrderId),
        (ccxt.OrderNotFound("not found"), 400, OutcomeUnknown),
        (ccxt.RequestTimeout("timed out"), None, OutcomeUnknown),
        (ccxt.ExchangeNotAvailable("down"), 503, OutcomeUnknown),
        (ccxt.ExchangeNotAvailable("EGeneral:Internal error"), 200, OutcomeUnknown),
        (ccxt.OnMaintenance("maintenance"), 200, OutcomeUnknown),
        (ccxt.DDoSProtection("429"), 429, OutcomeUnknown),
        (ccxt.RateLimitExceeded("slow down"), 429, OutcomeUnknown),
        (ccxt.BadResponse("garbage"), 200, OutcomeUnknown),
        (ccxt.ExchangeError("something"), None, OutcomeUnknown),
        (ccxt.ExchangeError("an error body ccxt does not know"), 200, Rejected),
        (ccxt.ExchangeError("a 4xx body ccxt does not know"), 400, Rejected),
        (ccxt.ExchangeNotAvailable("bare 403"), 403, Rejected),
        (ccxt.ExchangeError("internal_server_error"), 500, OutcomeUnknown),
        (ccxt.InsufficientFunds("mapped from a 5xx body"), 502, OutcomeUnknown),
        (ValueError("could not parse the answer"), 200, OutcomeUnknown),
        (KeyError("id"), None, OutcomeUnknown),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_a_create_failure_is_classified_once(error, status, expected):
    outcome = classify(error, operation=CREATE, venue="Example", status=status)
    assert type(outcome) is expected


def test_a_refused_connection_is_unreachable():
    assert isinstance(classify(network(refused), operation=CREATE, venue="X"), Unreachable)


def test_a_read_timeout_and_a_dropped_connection_are_unknown_outcomes():
    for make in (read_timeout, dropped):
        outcome = classify(network(make), operation=CREATE, venue="X")
        assert type(outcome) is OutcomeUnknown


def test_on_a_cancel_not_found_and_rate_limits_are_refusals_of_the_cancel():
    # The caller then looks the order up; sending the cancel again is harmless.
    for error in (ccxt.OrderNotFound("gone"), ccxt.RateLimitExceeded("429")):
        assert type(classify(error, operation=CANCEL, venue="X", status=400)) is Rejected


def test_a_message_loses_query_strings_and_keys():
    secret = "sUp3r-s3cret-value"
    error = ccxt.ExchangeError(
        f"binance GET https://api.binance.com/api/v3/order?symbol=BTCUSDT&signature=f00 {secret}"
    )
    outcome = classify(error, operation=READ, venue="Binance", status=400, secrets=[secret])
    assert secret not in outcome.message and "signature" not in outcome.message
    assert "https://api.binance.com/api/v3/order?…" in outcome.message


def test_a_long_message_is_cut():
    assert len(scrub("x" * 5000)) <= 400
