"""/healthz and /readyz, and the container healthchecks.

/healthz: the web process is up (no database, no Redis). /readyz: the database and Redis answer,
and every heartbeat (emsweb.heartbeats) is fresh, the FIX gateway's included when it is on.

The internal endpoints (these two and /metrics) are answered by `InternalEndpointsMiddleware`,
first in MIDDLEWARE: before the host check and the HTTPS redirect, so that a container
healthcheck on 127.0.0.1 and Prometheus on the internal network reach them over plain http.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.request

import django
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

from emsweb.heartbeats import BEAT_KEY, FIX_KEY, heartbeat_check, heartbeats_expected
from emsweb.metrics import metrics
from emsweb.redis import redis_client

# --- checks -----------------------------------------------------------------------------------


def _timed(probe) -> dict:
    started = time.monotonic()
    try:
        probe()
    except Exception as problem:  # noqa: BLE001 - any failure means not ready; say which
        return {"ok": False, "error": f"{type(problem).__name__}: {problem}"}
    return {"ok": True, "latency_ms": round((time.monotonic() - started) * 1000, 2)}


def _database_probe() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def readiness() -> dict:
    """Each check with its latency (database, Redis) or its age (worker, beat)."""
    client = redis_client()
    checks = {"database": _timed(_database_probe), "redis": _timed(client.ping)}
    for name, key in heartbeats_expected().items():
        if checks["redis"]["ok"]:
            try:
                checks[name] = heartbeat_check(client, key)
            except Exception as problem:  # noqa: BLE001
                checks[name] = {"ok": False, "error": f"{type(problem).__name__}: {problem}"}
        else:
            checks[name] = {"ok": False, "error": "Redis is not reachable"}
    ready = all(check["ok"] for check in checks.values())
    return {"status": "ready" if ready else "not ready", "checks": checks}


# --- views and the middleware that serves them ------------------------------------------------


def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> HttpResponse:
    report = readiness()
    return JsonResponse(report, status=200 if report["status"] == "ready" else 503)


def internal_views() -> dict:
    return {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}


class InternalEndpointsMiddleware:
    """Answers the internal endpoints before the rest of the stack sees the request."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.views = internal_views()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = self.views.get(request.path_info)
        if view is None:
            return self.get_response(request)
        if request.method not in ("GET", "HEAD"):
            return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
        response = view(request)
        response["Cache-Control"] = "no-store"
        return response


# --- container healthchecks: python -m emsweb.health web|beat|fix ------------------------------


def main(argv: list[str]) -> int:
    """Exit 0 when healthy. `web`: this container's /readyz answers 200; `beat`: beat's tick is
    fresh (a worker is not needed for that); `fix`: the FIX gateway's loop is."""
    if argv == ["web"]:
        url = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/readyz"
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return 0 if response.status == 200 else 1
        except OSError as problem:  # HTTPError (503) included
            print(f"{url}: {problem}", file=sys.stderr)
            return 1
    if argv in (["beat"], ["fix"]):
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")
        django.setup()
        check = heartbeat_check(redis_client(), BEAT_KEY if argv == ["beat"] else FIX_KEY)
        print(json.dumps(check))
        return 0 if check["ok"] else 1
    print("usage: python -m emsweb.health web|beat|fix", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
