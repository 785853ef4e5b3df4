"""Structured logs for production: one JSON object per line, one line per event.

`LOG_FORMAT=json` (the default) selects `JsonFormatter` for Django, Celery and gunicorn; `make
run` and the tests keep the plain format. Fields passed with `extra=` become keys of the line,
so an order-path call logs `extra=order_context(order)` and every line about that order carries
its client order id and account. Keys that name a secret are masked, and so are query parameters
that carry one (an API key may be sent as `?apikey=`): a log line never holds a secret.
"""

from __future__ import annotations

import json
import logging
import logging.config
import re
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

# The attributes every LogRecord has; anything else on a record came from `extra=`.
RECORD_ATTRIBUTES = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}
SECRET_NAME = re.compile(r"pass|secret|token|api_?key|credential|authorization|cookie", re.I)
MASK = "***"


def configure(config: dict) -> None:
    """LOGGING_CONFIG for JSON logs: Python warnings become log lines too, not raw stderr."""
    logging.config.dictConfig(config)
    logging.captureWarnings(True)


def order_context(order) -> dict[str, str]:
    """`extra=` for a log call about one order: its client order id and its account."""
    return {"client_order_id": order.client_order_id, "account": order.account.exchange_id}


def account_context(account) -> dict[str, str]:
    """`extra=` for a log call about one account."""
    return {"account": account.exchange_id}


def masked(name: str, value: object) -> object:
    if SECRET_NAME.search(name):
        return MASK
    if hasattr(value, "method") and hasattr(value, "path_info"):
        # A Django request (django.request's `extra`): its repr has the query string, which
        # may carry ?apikey=. Its method and path say enough.
        return f"{value.method} {value.path_info}"
    return value


def masked_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(name, masked(name, value)) for name, value in pairs], safe="*")


def masked_path(path: str) -> str:
    """A path with its query string masked (`/v1/ws?apikey=***&since=5`)."""
    base, mark, query = path.partition("?")
    return f"{base}?{masked_query(query)}" if mark else path


class QueryMask(logging.Filter):
    """For uvicorn's lines (access, and a WebSocket's accepted/403 lines): each argument that is
    a path with a query string is masked as gunicorn's access lines are."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(
            isinstance(arg, str) and "?" in arg for arg in record.args
        ):
            record.args = tuple(
                masked_path(arg) if isinstance(arg, str) and arg.startswith("/") else arg
                for arg in record.args
            )
        return True


def gunicorn_access_fields(atoms: dict) -> dict[str, object]:
    """An access-log line from gunicorn's atoms, the query string masked, no request line."""
    fields = {
        "method": atoms.get("m"),
        "path": atoms.get("U"),
        "status": int(atoms["s"]) if str(atoms.get("s", "")).isdigit() else atoms.get("s"),
        "bytes": atoms.get("B"),
        "duration_ms": round(int(atoms.get("D", 0)) / 1000, 3),
        "remote_addr": atoms.get("h"),
        "user_agent": atoms.get("a"),
    }
    if atoms.get("q"):
        fields["query"] = masked_query(atoms["q"])
    return fields


class JsonFormatter(logging.Formatter):
    """`{"time": ..., "level": ..., "logger": ..., "message": ..., <extra fields>}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            # Its message is the request line, query string included: rebuilt, masked, instead.
            line["message"] = "request"
            line.update(gunicorn_access_fields(record.args))
        else:
            line["message"] = record.getMessage()
        for name, value in record.__dict__.items():
            if name not in RECORD_ATTRIBUTES and not name.startswith("_"):
                line[name] = masked(name, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str, ensure_ascii=False)
