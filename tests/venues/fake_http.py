"""The exchanges' HTTP, answered at the requests edge: ccxt's own code runs (signing, request
building, error mapping, parsing) and every request it makes is recorded. Nothing leaves the
machine: a request no test answered fails the test."""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict


@dataclass
class Sent:
    method: str
    url: str
    headers: dict
    body: str
    at: float = field(default_factory=time.monotonic)  # when it was sent, for rates

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""

    @property
    def query(self) -> dict:
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    @property
    def form(self) -> dict:
        return dict(parse_qsl(self.body or "", keep_blank_values=True))

    @property
    def json(self):
        return json.loads(self.body) if self.body else None

    @property
    def params(self) -> dict:
        """What the request carries, wherever it carries it: query, form or JSON body."""
        values = dict(self.query)
        if self.body:
            try:
                document = json.loads(self.body)
            except ValueError:
                values.update(self.form)
            else:
                if isinstance(document, dict):
                    values.update(document)
        return values


@dataclass
class Route:
    method: str
    path: re.Pattern
    answer: Callable[[Sent], requests.Response]
    times: int | None = None
    used: int = 0


@dataclass
class FakeExchange:
    """Answers requests from any thread: routing and the request log are taken under a lock;
    answers are made outside it, so a slow answer does not hold up another thread's request."""

    routes: list[Route] = field(default_factory=list)
    sent: list[Sent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on(
        self,
        method: str,
        path: str,
        body=None,
        *,
        status: int = 200,
        raises=None,
        times: int | None = None,
        headers: dict | None = None,
        answer: Callable[[Sent], object] | None = None,
    ) -> None:
        """Answer `method path` (a regex on the URL's path) with `body` as JSON, or raise.
        `answer(request)` may compute the body, or return a whole requests.Response.
        The route added last wins; `times` limits how often it answers."""

        def respond(request: Sent) -> requests.Response:
            if raises is not None:
                raise raises(request) if callable(raises) else raises
            document = answer(request) if answer is not None else body
            if isinstance(document, requests.Response):
                return document  # the answer made its own (another status, a broken body)
            return response(request.url, document, status=status, headers=headers)

        self.routes.append(Route(method, re.compile(f"^{path}$"), respond, times))

    def requests_to(self, path: str, method: str | None = None) -> list[Sent]:
        pattern = re.compile(f"^{path}$")
        return [
            request
            for request in self.sent
            if pattern.match(request.path) and (method is None or request.method == method)
        ]

    def __call__(self, session, method, url, data=None, headers=None, **kwargs):
        body = data.decode() if isinstance(data, bytes) else (data or "")
        request = Sent(method.upper(), url, dict(headers or {}), body)
        with self._lock:
            self.sent.append(request)
            route = self._route_for(request)
        if route is None:
            raise AssertionError(f"no answer for {request.method} {request.url}")
        return route.answer(request)

    def _route_for(self, request: Sent) -> Route | None:
        for route in reversed(self.routes):
            if route.method != request.method or not route.path.match(request.path):
                continue
            if route.times is not None and route.used >= route.times:
                continue
            route.used += 1
            return route
        return None


# --- the fake as an HTTP server, for other processes ----------------------------------------------

URL_HEADER = "X-Fake-Url"  # the URL the request was made to, carried to the server
REAL_REQUEST = requests.Session.request  # as imported: before any test patches it


@contextlib.contextmanager
def served(exchange: FakeExchange) -> Iterator[str]:
    """`exchange` answering over HTTP on localhost, from a thread of this process; yields the
    server's URL for `forward()` in other processes. A request nobody answered gets a 599 and
    is kept in `exchange.unanswered`."""
    exchange.unanswered = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k: v for k, v in self.headers.items() if k != URL_HEADER}
            try:
                answer = exchange(None, self.command, self.headers[URL_HEADER], body, headers)
            except AssertionError as problem:
                exchange.unanswered.append(str(problem))
                answer = response(self.headers[URL_HEADER], str(problem), status=599)
            self.send_response(answer.status_code, answer.reason or None)
            self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
            self.send_header("Content-Length", str(len(answer.content)))
            self.end_headers()
            self.wfile.write(answer.content)

        do_GET = do_POST = do_DELETE = do_PUT = _answer

        def log_message(self, format, *args) -> None:  # noqa: A002 - the stdlib's name
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def forward(server_url: str) -> None:
    """In this process, send every requests.Session request to `served()`'s server instead."""
    send = REAL_REQUEST

    def forwarded(session, method, url, data=None, headers=None, **kwargs):
        headers = {**(headers or {}), URL_HEADER: url}
        timeout = kwargs.get("timeout")
        return send(session, method, server_url, data=data, headers=headers, timeout=timeout)

    requests.Session.request = forwarded


def response(url: str, document, *, status: int = 200, headers: dict | None = None):
    answer = requests.Response()
    answer.status_code = status
    answer.reason = {
        200: "OK",
        400: "Bad Request",
        401: "Unauthorized",
        403: "Forbidden",
        404: "Not Found",
        429: "Too Many Requests",
        500: "Internal Server Error",
        502: "Bad Gateway",
        503: "Service Unavailable",
    }.get(status, "")
    text = document if isinstance(document, str) else json.dumps(document)
    answer._content = text.encode()
    content_type = "application/json" if not isinstance(document, str) else "text/html"
    answer.headers = CaseInsensitiveDict({"Content-Type": content_type, **(headers or {})})
    answer.url = url
    answer.encoding = "utf-8"
    return answer


# --- the network failing, as requests raises it ------------------------------------------------


def refused(request: Sent) -> Exception:
    """No connection could be made: nothing was sent."""
    reason = urllib3.exceptions.NewConnectionError(
        None, "Failed to establish a new connection: [Errno 111] Connection refused"
    )
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.MaxRetryError(None, request.url, reason)
    )


def read_timeout(request: Sent) -> Exception:
    """Sent, and no answer in time: the venue may have acted."""
    return requests.exceptions.ReadTimeout(
        f"HTTPSConnectionPool(host='{request.host}', port=443): Read timed out. (read timeout=8)"
    )


def dropped(request: Sent) -> Exception:
    """Sent, and the connection closed before the answer."""
    return requests.exceptions.ConnectionError(
        urllib3.exceptions.ProtocolError(
            "Connection aborted.", ConnectionResetError(104, "Connection reset by peer")
        )
    )
