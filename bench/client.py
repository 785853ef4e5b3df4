"""A keep-alive HTTP client per thread, and request timing with 1 or N concurrent clients."""

from __future__ import annotations

import http.client
import threading
import time
from collections.abc import Callable

# A request is sent again on a reset connection (bench orders carry unique client order ids,
# and a POST sent twice is answered from the first: the API is idempotent on them).
ATTEMPTS = 4


class Client:
    """One persistent connection, as a client library with keep-alive would hold."""

    def __init__(self, port: int, headers: dict[str, str] | None = None):
        self.port = port
        self.headers = headers or {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection, or recycled its worker
                # (gunicorn's max_requests): a worker that exits drops the connections it had
                # accepted and not yet read, so even a fresh connection may be reset once.
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == ATTEMPTS:
                    raise
                time.sleep(0.05 * attempt)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.connection.close()


class Unexpected(Exception):
    pass


def timed(
    port: int,
    headers: dict[str, str],
    clients: int,
    requests_each: int,
    make: Callable[[int, int], tuple[str, str, bytes | None]],
    expect: int = 200,
    warm_up: int = 5,
) -> list[float]:
    """Latencies in ms of `clients` threads each sending `requests_each` requests made by
    `make(client, n) -> (method, path, body)`, after `warm_up` untimed ones each."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors: list[str] = []
    barrier = threading.Barrier(clients)

    def work(k: int) -> None:
        client = Client(port, headers)
        try:
            for n in range(-warm_up, requests_each):
                if n == 0:
                    barrier.wait(timeout=120)  # all clients start timing together
                method, path, body = make(k, n)
                before = time.perf_counter()
                status, content = client.request(method, path, body)
                elapsed = (time.perf_counter() - before) * 1000
                if status != expect:
                    raise Unexpected(f"{method} {path}: {status} {content[:300]!r}")
                if n >= 0:
                    latencies[k].append(elapsed)
        except threading.BrokenBarrierError:
            pass  # another client failed: its error is the one reported
        except Exception as problem:  # noqa: BLE001 - reported below, the run stops
            errors.append(str(problem))
            barrier.abort()
        finally:
            client.close()

    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise Unexpected(errors[0])
    return [value for each in latencies for value in each]
