"""The EMS API's wire format: JSON numbers that are never floats, and the contract's times.

Numbers leave as the Decimal's own digits (0.11 stays 0.11, 5e-15 round-trips) and arrive parsed
straight to Decimal. Times leave as UTC with seven fractional digits (2024-02-23T01:13:15.6096269Z)
and arrive in any of the formats the contract lists.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from decimal import Context, Decimal
from typing import Any

import simplejson
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja.errors import HttpError
from ninja.parser import Parser
from ninja.renderers import BaseRenderer

JSON = "application/json"


WIDE = Context(prec=120)  # wider than any stored value (38 digits), so nothing is rounded


def wire_decimal(value: Decimal) -> Decimal:
    """The value's own digits: no trailing zeros from the database, no exponent on integers."""
    value = value.normalize(WIDE)
    if value.as_tuple().exponent > 0 and value.adjusted() < 60:
        return value.quantize(Decimal(1), context=WIDE)
    return value


def _wire_value(value: Any) -> Any:
    """What the encoder cannot write itself: a Decimal as its own digits, a time as the
    contract's text. Called by simplejson only for such values, not for every one."""
    if isinstance(value, Decimal):
        return simplejson.RawJSON(str(wire_decimal(value)))
    if isinstance(value, datetime):
        return format_time(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(data: Any) -> str:
    return simplejson.dumps(
        data,
        default=_wire_value,
        use_decimal=False,
        ensure_ascii=False,
        namedtuple_as_object=False,
    )


def json_response(data: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type=JSON)


class DecimalRenderer(BaseRenderer):
    media_type = JSON

    def render(self, request: HttpRequest, data: Any, *, response_status: int) -> str:
        return dumps(data)


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a number")


def loads(text: str | bytes) -> Any:
    """JSON with every number as a Decimal; anything malformed is a 400 that says why."""
    try:
        return simplejson.loads(text, use_decimal=True, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as problem:
        raise HttpError(400, f"Malformed JSON: {problem}") from None


class DecimalParser(Parser):
    def parse_body(self, request: HttpRequest) -> dict:
        try:
            body = request.body
        except RequestDataTooBig:
            raise HttpError(400, "The request body is too large.") from None
        return loads(body)


# --- times ------------------------------------------------------------------------------------

_TIME = re.compile(
    r"^(?P<date>\d{4}-?\d{2}-?\d{2})"
    r"(?:T(?P<hour>\d{2})(?::?(?P<minute>\d{2})(?::?(?P<second>\d{2})(?:\.?(?P<fraction>\d{1,7}))?)?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})?$"
)


def parse_time(text: str) -> datetime:
    """Any input format the contract lists (yyyy-MM-ddTHH:mm:ss.fffffff ... yyyyMMdd); UTC
    unless the text says otherwise. Anything else is a ValueError that says why."""
    match = _TIME.match(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"{text!r} is not a time in a format the API accepts")
    parts = match.groupdict()
    date = parts["date"].replace("-", "")
    fraction = (parts["fraction"] or "0").ljust(7, "0")
    try:
        moment = datetime(
            int(date[:4]),
            int(date[4:6]),
            int(date[6:8]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
            int(fraction[:6]),
            tzinfo=UTC,
        )
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time on the calendar") from None
    zone = parts["zone"]
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        if hours > 14 or minutes > 59:
            raise ValueError(f"{text!r} has an impossible UTC offset")
        try:
            moment -= sign * timedelta(hours=hours, minutes=minutes)
        except OverflowError:
            raise ValueError(f"{text!r} is outside the calendar once in UTC") from None
    return moment


def format_time(moment: datetime) -> str:
    # isoformat, not strftime: far cheaper per value, and the year always has four digits.
    if moment.tzinfo is not UTC:  # the database's times are in UTC already
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:-6] + "0Z"


# --- error bodies -----------------------------------------------------------------------------


def validation_error(errors: dict[str, list[str]]) -> HttpResponse:
    """ASP.NET's ProblemDetails, as the hosted EMS answers a 400."""
    body = {
        "type": "https://tools.ietf.org/html/rfc7231#section-6.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "traceId": uuid.uuid4().hex,
        "errors": errors,
    }
    return json_response(body, status=400)


def without_nulls(body: dict, *, keep: Collection[str] = ()) -> dict:
    """`body` without its keys that have no value, but for those in `keep`. Where the contract
    types a field as a string, CoinAPI's generated clients refuse a null; the hosted EMS's real
    answers show null for a few fields only, and those are the ones to keep."""
    return {key: value for key, value in body.items() if value is not None or key in keep}


def message_reject(
    status: int, reject_reason: str, message: str, *, exchange_id=None, rejected_message=None
) -> HttpResponse:
    body = {
        "type": "MESSAGE_REJECT",
        "reject_reason": reject_reason,
        "exchange_id": exchange_id,
        "message": message,
        "rejected_message": rejected_message,
    }
    return json_response(without_nulls(body), status=status)


def message(text: str, *, exchange_id: str | None = None) -> HttpResponse:
    """A 200 MESSAGE (cancel all, accounts removed): the MessageReject shape the contract types
    these answers with, without a reason since nothing was rejected."""
    body = {"type": "MESSAGE", "exchange_id": exchange_id, "message": text}
    return json_response(without_nulls(body))
