"""Production settings fail closed, pass Django's deployment checklist, and send a strict CSP;
the embedded default and the tests say explicitly that they serve plain http."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from emsweb import embedded
from emsweb.celery import app

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "PATH": os.environ["PATH"],
    "DJANGO_SETTINGS_MODULE": "emsweb.settings",
    "SECRET_KEY": "a-production-secret-key-of-fifty-characters-or-more-0123456789",
    "DATABASE_URL": "sqlite:////tmp/emsweb-never-opened.sqlite3",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
    "EMSWEB_FIELD_KEYS": "OhYmlZeedAupGjdPuPG6VtaiGPu3rWu1echYOspgwl8=",
    "ALLOWED_HOSTS": "ems.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://ems.example.com",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        env={**PRODUCTION, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
    )


def setting(name: str, **env: str) -> str:
    return manage("shell", "-c", f"from django.conf import settings; print(settings.{name})", **env)


@pytest.mark.fault(25, "check --deploy --fail-level WARNING")
def test_production_settings_pass_the_deployment_checklist_with_warnings_as_failures():
    checked = manage("check", "--deploy", "--fail-level", "WARNING")
    assert checked.returncode == 0, checked.stderr
    assert "no issues" in checked.stdout


def test_without_a_secret_key_nothing_starts():
    env = {name: value for name, value in PRODUCTION.items() if name != "SECRET_KEY"}
    run = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "check"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode != 0 and "SECRET_KEY" in run.stderr


@pytest.mark.fault(25, "production settings: HSTS, secure cookies")
def test_production_defaults_are_https_only_with_debug_off():
    printed = manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.SECURE_SSL_REDIRECT, "
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, "
        "s.SECURE_PROXY_SSL_HEADER, s.LOG_FORMAT)",
    )
    assert printed.stdout.split()[-7:] == [
        "False", "True", "True", "True", "31536000", "None", "json"
    ]  # fmt: skip


def test_the_proxy_header_is_read_from_the_environment_and_checked():
    printed = setting(
        "SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https"
    )
    assert printed.stdout.strip().endswith("('HTTP_X_FORWARDED_PROTO', 'https')")
    wrong = setting("SECURE_PROXY_SSL_HEADER", SECURE_PROXY_SSL_HEADER="https")
    assert wrong.returncode != 0 and "SECURE_PROXY_SSL_HEADER is HEADER,value" in wrong.stderr


def test_plain_http_is_asked_for_explicitly_by_the_embedded_default_and_the_tests(tmp_path):
    given = embedded.embedded_settings(tmp_path, environ={})
    assert given["EMSWEB_HTTPS"] == "false" and given["LOG_FORMAT"] == "plain"
    assert not settings.SECURE_SSL_REDIRECT and not settings.SESSION_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS == 0


@pytest.mark.fault(25, "CSP header on pages")
def test_pages_get_a_content_security_policy_without_inline_script(client):
    response = client.get("/admin/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_the_api_docs_page_runs_no_inline_script(client):
    """django-ninja loads Swagger UI and its init from /static/ and passes its settings as a
    JSON data block, which a CSP does not execute: no relaxation needed for /v1/docs."""
    response = client.get("/v1/docs")
    assert response.status_code == 200
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    for attributes, body in re.findall(r"<script([^>]*)>(.*?)</script>", response.text, re.S):
        assert "src=" in attributes or 'type="application/json"' in attributes, attributes
        assert "src=" not in attributes or not body.strip()
    assert not re.search(r"\son[a-z]+=", response.text)


def test_the_heartbeat_task_is_registered_for_workers_and_scheduled_by_beat():
    app.loader.import_default_modules()  # what a worker and beat do at start
    assert "emsweb.tasks.heartbeat" in app.tasks
    for queue in ("default", "orders"):  # each queue's worker proves itself alive
        entry = settings.CELERY_BEAT_SCHEDULE[f"heartbeat-{queue}"]
        assert entry["task"] == "emsweb.tasks.heartbeat"
        assert entry["args"] == (queue,) and entry["options"]["queue"] == queue
        assert entry["options"]["expires"] <= settings.EMSWEB_HEARTBEAT_STALE
