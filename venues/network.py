"""Whether a failed HTTP request can have reached the server: requests and urllib3 only."""

from __future__ import annotations

from collections.abc import Iterable

import requests
import urllib3


def never_sent(error: BaseException) -> bool:
    """True when no connection was made, so the request cannot have reached the server:
    a refused connection, a failed DNS lookup, a connect timeout, a certificate refused."""
    for cause in causes(error):
        if isinstance(cause, requests.exceptions.ConnectTimeout):
            return True
        # urllib3 2: NewConnectionError (refused, DNS failure) is a ConnectTimeoutError.
        if isinstance(cause, urllib3.exceptions.ConnectTimeoutError):
            return True
        if isinstance(cause, urllib3.exceptions.MaxRetryError) and isinstance(
            cause.reason, urllib3.exceptions.ConnectTimeoutError
        ):
            return True
        if isinstance(cause, requests.exceptions.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(
            cause
        ):
            return True  # the handshake failed: no request was written
    return False


def causes(error: BaseException) -> Iterable[BaseException]:
    """The error and everything it was raised from or wraps."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [current.__cause__, current.__context__]
        pending += [arg for arg in getattr(current, "args", ()) if isinstance(arg, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            pending.append(reason)
