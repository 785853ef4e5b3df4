"""Settings, read from the environment.

Production fails closed: SECRET_KEY, DATABASE_URL, REDIS_URL and EMSWEB_FIELD_KEYS have no
default and DEBUG is off unless asked for. `make run` (emsweb.launcher) generates the embedded
default's values under var/ and passes them in the environment.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "ninja",
    "accounts",
    "orders",
    "venues.paper",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "emsweb.urls"
WSGI_APPLICATION = "emsweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_env() -> dict:
    database = env.db("DATABASE_URL")
    if database["ENGINE"] == "django.db.backends.sqlite3":
        # One writer at a time: take the write lock when the transaction starts instead of
        # failing with "database is locked" when a reader upgrades; WAL lets readers go on.
        database["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": (
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;"
            ),
        }
    else:
        database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
        database["CONN_HEALTH_CHECKS"] = True
    return database


DATABASES = {"default": database_from_env()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

LOGIN_URL = "admin:login"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# --- Redis and Celery -------------------------------------------------------------------------
# REDIS_URL is redis://host:port/db or unix:///path/to/redis.sock (the embedded default).
REDIS_URL = env.str("REDIS_URL")

CELERY_BROKER_URL = (
    REDIS_URL.replace("unix://", "redis+socket://", 1)
    if REDIS_URL.startswith("unix://")
    else REDIS_URL
)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # PostgreSQL is the source of truth, not a result backend
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 30
CELERY_TASK_TIME_LIMIT = 60
# An unacknowledged message is redelivered after this long, even while it still runs: keep it
# far above the hard time limit (checked by a test).
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_SOFT_SHUTDOWN_TIMEOUT = 10
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ROUTES = {
    "orders.tasks.route_order": {"queue": "orders"},
    "orders.tasks.cancel_order": {"queue": "orders"},
    "orders.tasks.cancel_all_orders": {"queue": "orders"},
}
CELERY_TASK_QUEUES_CONSUMED = "orders,default"

EMSWEB_SYNC_INTERVAL = env.float("EMSWEB_SYNC_INTERVAL", default=2.0)
EMSWEB_SWEEP_INTERVAL = env.float("EMSWEB_SWEEP_INTERVAL", default=5.0)
CELERY_BEAT_SCHEDULE = {
    "sync-accounts": {
        "task": "orders.tasks.sync_all_accounts",
        "schedule": timedelta(seconds=EMSWEB_SYNC_INTERVAL),
        "options": {"expires": EMSWEB_SYNC_INTERVAL},
    },
    "sweep-received-orders": {
        "task": "orders.tasks.sweep_received_orders",
        "schedule": timedelta(seconds=EMSWEB_SWEEP_INTERVAL),
        "options": {"expires": EMSWEB_SWEEP_INTERVAL},
    },
    "refresh-instruments": {
        "task": "orders.tasks.refresh_all_instruments",
        "schedule": timedelta(hours=1),
    },
}

# --- emsweb -----------------------------------------------------------------------------------
# Fernet keys, newest first: the first encrypts, all decrypt (`manage.py rotate_field_keys`).
EMSWEB_FIELD_KEYS = env.list("EMSWEB_FIELD_KEYS")

# A RECEIVED order older than this is assumed to have lost its task and is queued again.
EMSWEB_SWEEP_RECEIVED_AFTER = env.float("EMSWEB_SWEEP_RECEIVED_AFTER", default=10.0)
# A ROUTING order is left alone this long (its worker may still be waiting for the venue),
# then looked up at the venue by client order id on every sync.
EMSWEB_RECONCILE_AFTER = env.float("EMSWEB_RECONCILE_AFTER", default=15.0)
# "Not found" is evidence, not proof: an order is declared never placed only after this many
# lookups that found nothing AND this long since the order was claimed for routing.
EMSWEB_NOT_FOUND_LOOKUPS = env.int("EMSWEB_NOT_FOUND_LOOKUPS", default=3)
EMSWEB_NEVER_PLACED_AFTER = env.float("EMSWEB_NEVER_PLACED_AFTER", default=120.0)
# A sync that has not finished in this long is presumed dead and its lock expires.
EMSWEB_SYNC_LOCK_SECONDS = env.int("EMSWEB_SYNC_LOCK_SECONDS", default=60)
# Balances are read from the venue when something changed, and at least this often.
EMSWEB_BALANCE_REFRESH = env.float("EMSWEB_BALANCE_REFRESH", default=30.0)

# The paper exchange. Its markets step on the sync tick, at most once per this many seconds
# (0 freezes them: prices then move only when set, which is what tests want).
EMSWEB_PAPER_TICK_SECONDS = env.float("EMSWEB_PAPER_TICK_SECONDS", default=2.0)
EMSWEB_PAPER_SEED = env.int("EMSWEB_PAPER_SEED", default=20261123)
EMSWEB_PAPER_MAKER_FEE = Decimal(env.str("EMSWEB_PAPER_MAKER_FEE", default="0.0016"))
EMSWEB_PAPER_TAKER_FEE = Decimal(env.str("EMSWEB_PAPER_TAKER_FEE", default="0.0026"))
EMSWEB_PAPER_START_PRICES = {
    symbol: Decimal(price)
    for symbol, price in env.dict(
        "EMSWEB_PAPER_START_PRICES",
        default={"BTCUSD": "50000", "ETHUSD": "3000", "OXTUSD": "0.11", "USDJPY": "150"},
    ).items()
}

# POST /v1/orders waits this long for the routing outcome before answering 504 (the order is
# still tracked and reconciled; /v1/orders/status tells what became of it).
EMSWEB_API_ROUTING_WAIT = env.float("EMSWEB_API_ROUTING_WAIT", default=10.0)
