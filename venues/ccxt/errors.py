"""Every ccxt failure classified once into Rejected, Unreachable or OutcomeUnknown.

ccxt's class tree does not say whether the exchange may have acted (`InvalidNonce` is a
`NetworkError`; a 400 without a known body is `ExchangeNotAvailable`), so the rules here use
the class, the HTTP status of the failing answer and, for connection failures, the cause that
requests raised. What is not known to be a refusal is an unknown outcome: an order may be live.

Messages are scrubbed before they leave: ccxt echoes URLs (signed query strings) and bodies,
so query strings are cut and any credential value is masked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from enum import Enum

import ccxt

from venues.errors import (  # noqa: F401 - the alerting refusals are named here too
    AlertingRejection,
    DuplicateClientOrderId,
    KeyRefused,
    NonceRefused,
    OutcomeUnknown,
    Rejected,
    Unreachable,
    VenueError,
)
from venues.network import never_sent

MAX_MESSAGE = 400
URL_QUERY = re.compile(r"(https?://[^\s?'\"]+)\?[^\s'\"]*")
# Statuses whose answer proves the request was refused before it was processed.
REFUSED_STATUSES = frozenset({400, 401, 403, 404, 405, 422})
# A refusal for any of these reasons still proves nothing was done.
DEFINITE = (
    ccxt.AuthenticationError,  # PermissionDenied, AccountSuspended
    ccxt.InsufficientFunds,
    ccxt.BadRequest,  # BadSymbol
    ccxt.OperationRejected,
    ccxt.ArgumentsRequired,
    ccxt.NotSupported,
    ccxt.InvalidAddress,
    ccxt.InvalidNonce,  # a NetworkError in ccxt, but the venue refused the request unprocessed
)
RATE_LIMITED = (ccxt.DDoSProtection, ccxt.RateLimitExceeded)


class Operation(Enum):
    CREATE = "create"
    CANCEL = "cancel"
    READ = "read"


def classify(
    error: BaseException,
    *,
    operation: Operation,
    venue: str,
    status: int | None = None,
    secrets: Iterable[str] = (),
    account_key: str = "",
) -> VenueError:
    """The VenueError to raise for `error`, raised by ccxt during `operation` (for the account
    `account_key`, if a private call)."""
    if isinstance(error, VenueError):
        return error
    message = f"{venue}: {scrub(_text(error), secrets)}"
    if never_sent(error):
        return Unreachable(f"{venue} is unreachable: {scrub(_text(error), secrets)}")
    if not isinstance(error, ccxt.BaseError):
        return OutcomeUnknown(message)  # our own bug or a parse failure: may have acted
    if status is not None and status >= 500:
        return OutcomeUnknown(message)
    if isinstance(error, ccxt.InvalidNonce):
        return NonceRefused(message, account_key=account_key)
    if isinstance(error, ccxt.AuthenticationError) or status == 401:
        # A 401 is refused before anything is processed, whatever ccxt calls it (Binance's
        # -2015 becomes DDoSProtection once a key has worked, as Binance also bans with it).
        return KeyRefused(message, account_key=account_key)
    if isinstance(error, ccxt.DuplicateOrderId) or (
        operation is Operation.CREATE and "duplicate" in str(error).lower()
    ):
        # The venue has an order with this id: it exists, the reconciler looks it up.
        if operation is Operation.CREATE:
            return DuplicateClientOrderId(message)
        return Rejected(message)
    if isinstance(error, RATE_LIMITED):
        # A refused cancel is safe to report: the caller looks the order up and can cancel
        # again. A create that was answered 429 may still have reached the matching engine.
        return Rejected(message) if operation is Operation.CANCEL else OutcomeUnknown(message)
    if isinstance(error, ccxt.OrderNotFound):
        return OutcomeUnknown(message) if operation is Operation.CREATE else Rejected(message)
    if isinstance(error, (ccxt.InvalidOrder, *DEFINITE)):
        return Rejected(message)
    if status in REFUSED_STATUSES and type(error) in (
        ccxt.ExchangeError,
        ccxt.ExchangeNotAvailable,
    ):
        # ccxt could not name the error (a bare 400 or 403 is "ExchangeNotAvailable" to it),
        # but the venue refused the request.
        return Rejected(message)
    if status is not None and 200 <= status < 300 and type(error) is ccxt.ExchangeError:
        # An error body ccxt does not know, in a 200 (Kraken, Coinbase's success=false): the
        # venue answered with a refusal. Its known "internal error" bodies are not this class.
        return Rejected(message)
    return OutcomeUnknown(message)


def _text(error: BaseException) -> str:
    text = str(error).strip()
    return text or type(error).__name__


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without query strings and credential values, and not too long."""
    text = URL_QUERY.sub(r"\1?…", text)
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "••••")
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1] + "…"
    return text
