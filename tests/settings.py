"""Test settings: the real settings, with defaults for what a test run may leave unset.

CI sets DATABASE_URL and REDIS_URL to the machine's PostgreSQL and Redis. Without them the suite
uses a SQLite file under var/ (a file, not memory, so that a Celery worker process can share it)
and an embedded Redis on a unix socket that tests/conftest.py starts.
"""

import os
from pathlib import Path

VAR = Path(__file__).resolve().parent.parent / "var"
VAR.mkdir(exist_ok=True)

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("EMSWEB_FIELD_KEYS", "OhYmlZeedAupGjdPuPG6VtaiGPu3rWu1echYOspgwl8=")
# Per process, so that two test runs on one machine never share a database or a broker.
# A worker started by the tests inherits the parent's values through the environment.
os.environ.setdefault("DATABASE_URL", f"sqlite:///{VAR / f'test-{os.getpid()}.sqlite3'}")
os.environ.setdefault("REDIS_URL", f"unix://{VAR / f'test-redis-{os.getpid()}.sock'}")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
os.environ.setdefault("EMSWEB_PAPER_TICK_SECONDS", "0")
os.environ.setdefault("EMSWEB_RECONCILE_AFTER", "0.5")
os.environ.setdefault("EMSWEB_NEVER_PLACED_AFTER", "2")
os.environ.setdefault("EMSWEB_SWEEP_RECEIVED_AFTER", "1")
# Tests talk plain http to 127.0.0.1, and read logs as text.
os.environ.setdefault("EMSWEB_HTTPS", "false")
os.environ.setdefault("LOG_FORMAT", "plain")
os.environ.setdefault("EMSWEB_REQUIRE_2FA", "false")

from emsweb.settings import *  # noqa: E402, F403
from emsweb.settings import DATABASES  # noqa: E402

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405 - whitenoise warns when it is missing
WHITENOISE_USE_FINDERS = True  # the web server the browser tests start serves static/ as is
