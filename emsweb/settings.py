"""Settings, read from the environment.

Production fails closed: SECRET_KEY, DATABASE_URL, REDIS_URL and EMSWEB_FIELD_KEYS have no
default and DEBUG is off unless asked for. `make run` generates the embedded default's values
under var/ (emsweb.embedded) and passes them in the environment; manage.py reads them from there
when the environment gives none of those four.
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
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "accounts",
    "orders",
    "risk",
    "stream",
    "market",
    "fix",
    "venues.paper",
    "positions",
    "algos",
]

MIDDLEWARE = [
    # /healthz, /readyz, /metrics: answered before the host check and the HTTPS redirect.
    "emsweb.health.InternalEndpointsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "emsweb.errors.RejectNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.access.AdminSecondFactorMiddleware",  # the admin: second factor, step-up on changes
    "accounts.access.RefusedChangeAuditMiddleware",  # sees CSRF refusals too: they come later
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
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

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

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
# Without this, Celery closes a worker's database connection after every task: a new PostgreSQL
# connection per order is a large share of the order path's cost (bench/README.md has the
# figures). Reused for this many tasks; emsweb.celery closes it sooner when Django's
# own rules (CONN_MAX_AGE, a failed query) or a failed task say so.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
# On the threads pool (the order worker's) emsweb.watchdog enforces the hard limit.
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=30)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=60)
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
    # A parent's step places its slice's child: order-path work, on the order path's worker.
    "algos.tasks.step_parent": {"queue": "orders"},
    # The trading screen's books and candles: a worker of their own (emsweb.launcher, compose).
    "market.tasks.refresh_market_data": {"queue": "market"},
}
CELERY_TASK_QUEUES_CONSUMED = "orders,default,market"

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
    "refresh-quotes": {
        "task": "orders.tasks.refresh_all_quotes",
        "schedule": timedelta(seconds=EMSWEB_SYNC_INTERVAL),
        "options": {"expires": EMSWEB_SYNC_INTERVAL},
    },
    "portfolio-snapshot": {
        "task": "accounts.tasks.record_portfolio_snapshot",
        "schedule": timedelta(minutes=1),
    },
    "refresh-instruments": {
        "task": "orders.tasks.refresh_all_instruments",
        "schedule": timedelta(hours=1),
    },
    "refresh-market-data": {
        "task": "market.tasks.refresh_market_data",
        "schedule": timedelta(seconds=1),
        "options": {"expires": 1},
    },
    "prune-stream-events": {
        "task": "stream.tasks.prune_stream_events",
        "schedule": timedelta(minutes=10),
    },
}
# Execution algorithms (algos/): beat's tick finds the parents due. A slice later than the
# tolerance (at most half its interval) is recorded missed, its amount moved to the next one.
EMSWEB_ALGO_TICK_SECONDS = env.float("EMSWEB_ALGO_TICK_SECONDS", default=1.0)
EMSWEB_ALGO_SLICE_TOLERANCE = env.float("EMSWEB_ALGO_SLICE_TOLERANCE", default=5.0)
EMSWEB_ALGO_POLL_SECONDS = env.float("EMSWEB_ALGO_POLL_SECONDS", default=1.0)
CELERY_BEAT_SCHEDULE["algo-tick"] = {
    "task": "algos.tasks.algo_tick",
    "schedule": timedelta(seconds=EMSWEB_ALGO_TICK_SECONDS),
    "options": {"expires": EMSWEB_ALGO_TICK_SECONDS},
}
# CANCEL_ON_DISCONNECT (/v1/ws): a key's orders placed with it are canceled once the key has had
# no live connection for this many seconds (30 at most: past that, a script that died leaves
# orders working too long). A closed connection queues the check for when the grace ends; this
# sweep also covers a stream process killed without closing its connections.
EMSWEB_CANCEL_ON_DISCONNECT_GRACE = env.float("EMSWEB_CANCEL_ON_DISCONNECT_GRACE", default=10.0)
if not 0 <= EMSWEB_CANCEL_ON_DISCONNECT_GRACE <= 30:
    raise environ.ImproperlyConfigured("EMSWEB_CANCEL_ON_DISCONNECT_GRACE is 0 to 30 seconds")
EMSWEB_CANCEL_ON_DISCONNECT_SWEEP = env.float("EMSWEB_CANCEL_ON_DISCONNECT_SWEEP", default=2.0)
CELERY_BEAT_SCHEDULE["cancel-on-disconnect"] = {
    "task": "orders.tasks.cancel_disconnected_orders",
    "schedule": timedelta(seconds=EMSWEB_CANCEL_ON_DISCONNECT_SWEEP),
    "options": {"expires": EMSWEB_CANCEL_ON_DISCONNECT_SWEEP},
}

# --- emsweb -----------------------------------------------------------------------------------
# Fernet keys, newest first: the first encrypts, all decrypt (`manage.py rotate_field_keys`).
EMSWEB_FIELD_KEYS = env.list("EMSWEB_FIELD_KEYS")

# A RECEIVED order older than this is assumed to have lost its task and is queued again.
EMSWEB_SWEEP_RECEIVED_AFTER = env.float("EMSWEB_SWEEP_RECEIVED_AFTER", default=10.0)
# A PENDING_CANCEL order unchanged this long has its cancel sent again: its task may have been
# lost (a broker down when it was queued) or its outcome unknown (the venue did not answer).
EMSWEB_SWEEP_CANCEL_AFTER = env.float("EMSWEB_SWEEP_CANCEL_AFTER", default=30.0)
# A ROUTING order is left alone this long (its worker may still be waiting for the venue),
# then looked up at the venue by client order id on every sync.
EMSWEB_RECONCILE_AFTER = env.float("EMSWEB_RECONCILE_AFTER", default=15.0)
# "Not found" is evidence, not proof: an order is declared never placed only after this many
# lookups that found nothing AND this long since the order was claimed for routing.
EMSWEB_NOT_FOUND_LOOKUPS = env.int("EMSWEB_NOT_FOUND_LOOKUPS", default=3)
EMSWEB_NEVER_PLACED_AFTER = env.float("EMSWEB_NEVER_PLACED_AFTER", default=120.0)
# A claimed order is sent within this many seconds of its claim or not at all (then the sync
# settles it): with the venue call's own bounds (EMSWEB_CCXT_*), no worker can still be sending
# it once it may be declared never placed; the hard time limit (emsweb.watchdog on the order
# worker's threads pool) stops one that stalls inside the venue call.
EMSWEB_ROUTE_SEND_DEADLINE = env.float("EMSWEB_ROUTE_SEND_DEADLINE", default=30.0)
# Trading on an account waits until a full sync has reconciled it with the venue: after a worker
# starts, and whenever the last successful sync is older than this (several missed ticks).
EMSWEB_RECONCILED_FOR = env.float("EMSWEB_RECONCILED_FOR", default=10 * EMSWEB_SYNC_INTERVAL)
# How long a routing task waits for another worker's sync of the account to finish.
EMSWEB_RECONCILE_WAIT = env.float("EMSWEB_RECONCILE_WAIT", default=10.0)
# An order kept waiting that long for its account to reconcile is rejected, nothing sent:
# sending it much later, at a price the trader chose minutes ago, would be worse.
EMSWEB_UNRECONCILED_REJECT_AFTER = env.float("EMSWEB_UNRECONCILED_REJECT_AFTER", default=60.0)
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
# The paper perpetuals' funding: paid at every whole multiple of this many seconds since the
# epoch (8 h; tests set it shorter), this fraction of a position's value at mark, longs to shorts.
EMSWEB_PAPER_FUNDING_SECONDS = env.int("EMSWEB_PAPER_FUNDING_SECONDS", default=8 * 3600)
EMSWEB_PAPER_FUNDING_RATE = Decimal(env.str("EMSWEB_PAPER_FUNDING_RATE", default="0.0001"))
# PAPER2 (venues/paper/second.py), a second paper exchange: its markets start this fraction away
# from the paper exchange's start prices (0.001: 0.1 % higher), then walk on their own.
EMSWEB_PAPER2_PRICE_OFFSET = Decimal(env.str("EMSWEB_PAPER2_PRICE_OFFSET", default="0.001"))

# POST /v1/orders waits this long for the routing outcome before answering 504 (the order is
# still tracked and reconciled; /v1/orders/status tells what became of it).
EMSWEB_API_ROUTING_WAIT = env.float("EMSWEB_API_ROUTING_WAIT", default=10.0)
# Linking an account (POST /v1/accounts, the admin's Link) waits this long for a worker's first
# read of its balances, so that an order placed right after is checked against them.
EMSWEB_LINK_BALANCES_WAIT = env.float("EMSWEB_LINK_BALANCES_WAIT", default=10.0)

# --- desk: sign-in, two-factor, lockout, sessions ---------------------------------------------
# Anyone who may trade signs in with a one-time password too. On unless switched off; the
# embedded `make run` default switches it off.
EMSWEB_REQUIRE_2FA = env.bool("EMSWEB_REQUIRE_2FA", default=True)
# Changes to keys, accounts, grants and roles need a code typed within this many seconds.
EMSWEB_STEP_UP_SECONDS = env.int("EMSWEB_STEP_UP_SECONDS", default=300)
OTP_TOTP_ISSUER = "emsweb"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Behind AXES_PROXY_COUNT reverse proxies, the client address is the X-Forwarded-For entry the
# outermost one appended (accounts.audit.client_ip), for the lockout and the audit log alike.
AXES_IPWARE_PROXY_COUNT = env.int("AXES_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "accounts.audit.client_ip"  # reads the count above; no ipware needed
AXES_USERNAME_CALLABLE = "accounts.audit.axes_username"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

# Sessions live in Redis, so that a blotter poll that finds nothing new costs no session query.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": CELERY_BROKER_URL.replace("redis+socket://", "unix://", 1),
    }
}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)

# The ticket asks for a second confirmation when the limit is this far from the market (%).
EMSWEB_TICKET_CONFIRM_PERCENT = Decimal(env.str("EMSWEB_TICKET_CONFIRM_PERCENT", default="5"))
EMSWEB_HISTORY_PAGE_SIZE = env.int("EMSWEB_HISTORY_PAGE_SIZE", default=50)
# The event stream (stream/): how long numbered events are kept for clients that resume with
# ?since=<seq> (older: snapshots again, with "resync"), and how often the stream server runs
# the sequencer when no poke wakes it.
EMSWEB_STREAM_RETENTION_SECONDS = env.int("EMSWEB_STREAM_RETENTION_SECONDS", default=86400)
EMSWEB_STREAM_SEQUENCE_EVERY = env.float("EMSWEB_STREAM_SEQUENCE_EVERY", default=0.2)
# On PostgreSQL a process that commits events numbers them itself, on a thread of its own, right
# after its commit (stream.passes); off, it pokes the stream server's hubs to.
EMSWEB_STREAM_WRITERS_SEQUENCE = env.bool("EMSWEB_STREAM_WRITERS_SEQUENCE", default=True)
# The desk's risk rules (limits, trading states) are read from a copy in Redis that every change
# replaces at once; this bounds how long a copy lives should a change fail to reach Redis.
# Short, so that a halt that missed Redis still holds within seconds; a copy costs two queries.
EMSWEB_RISK_RULES_KEEP_SECONDS = env.int("EMSWEB_RISK_RULES_KEEP_SECONDS", default=5)

# --- production hardening ---------------------------------------------------------------------
# Fail closed: the defaults are what production behind TLS needs, and `manage.py check --deploy
# --fail-level WARNING` passes with them (CI runs it). `make run` and the tests serve plain http
# on 127.0.0.1 and say so explicitly with EMSWEB_HTTPS=false (emsweb.embedded, tests/settings.py).
EMSWEB_HTTPS = env.bool("EMSWEB_HTTPS", default=True)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=EMSWEB_HTTPS)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=EMSWEB_HTTPS)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=EMSWEB_HTTPS)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 86400 if EMSWEB_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Behind a proxy that terminates TLS: SECURE_PROXY_SSL_HEADER=HTTP_X_FORWARDED_PROTO,https, and
# only if the proxy always overwrites X-Forwarded-Proto (else a client could claim https).
_proxy_ssl_header = env.list("SECURE_PROXY_SSL_HEADER", default=[])
SECURE_PROXY_SSL_HEADER = tuple(_proxy_ssl_header) if _proxy_ssl_header else None
if SECURE_PROXY_SSL_HEADER is not None and len(SECURE_PROXY_SSL_HEADER) != 2:
    raise environ.ImproperlyConfigured(
        "SECURE_PROXY_SSL_HEADER is HEADER,value, e.g. HTTP_X_FORWARDED_PROTO,https"
    )
X_FRAME_OPTIONS = "DENY"
# No inline script or style anywhere, nonces neither: every page loads its code from /static/.
# EMSWEB_CSP_REPORT_ONLY=true sends the same policy as Content-Security-Policy-Report-Only.
_csp = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}
if env.bool("EMSWEB_CSP_REPORT_ONLY", default=False):
    CONTENT_SECURITY_POLICY_REPORT_ONLY = _csp
else:
    CONTENT_SECURITY_POLICY = _csp
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    # A database that does not answer fails /readyz in seconds rather than hanging it.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 5)

# --- deployment: logs, health, metrics --------------------------------------------------------
# json: one JSON object per line (emsweb.logging), for production; plain: for a terminal.
LOG_FORMAT = env.str("LOG_FORMAT", default="json")
if LOG_FORMAT not in ("json", "plain"):
    raise environ.ImproperlyConfigured("LOG_FORMAT is json or plain")
LOGGING["formatters"]["json"] = {"()": "emsweb.logging.JsonFormatter"}
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
if LOG_FORMAT == "json":
    LOGGING_CONFIG = "emsweb.logging.configure"
# Celery keeps the root handler above instead of installing its own, so its lines are JSON too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = LOG_FORMAT != "json"
# emsweb is not an installed app, so autodiscovery would not find the heartbeat task.
CELERY_IMPORTS = ["emsweb.tasks"]
# Beat publishes the heartbeat this often; /readyz fails when beat's tick or a worker's run of it
# is older than EMSWEB_HEARTBEAT_STALE.
EMSWEB_HEARTBEAT_INTERVAL = env.float("EMSWEB_HEARTBEAT_INTERVAL", default=10.0)
EMSWEB_HEARTBEAT_STALE = env.float("EMSWEB_HEARTBEAT_STALE", default=60.0)
# One per queue: the order path's worker takes nothing off `default`, and /readyz must know that
# each queue still has a worker.
for _queue in ("default", "orders"):
    CELERY_BEAT_SCHEDULE[f"heartbeat-{_queue}"] = {
        "task": "emsweb.tasks.heartbeat",
        "schedule": timedelta(seconds=EMSWEB_HEARTBEAT_INTERVAL),
        "args": (_queue,),
        "options": {"expires": EMSWEB_HEARTBEAT_INTERVAL, "queue": _queue},
    }
# GET /metrics wants "Authorization: Bearer <this>"; unset, the endpoint is off.
EMSWEB_METRICS_TOKEN = env.str("EMSWEB_METRICS_TOKEN", default="")
# The routing-latency histogram covers the orders received in this many seconds before a scrape.
EMSWEB_METRICS_WINDOW = env.float("EMSWEB_METRICS_WINDOW", default=3600.0)

# --- ccxt venues ---
# More ccxt exchanges, by configuration: venue code -> ccxt id, e.g. "OKX=okx,BYBIT=bybit". Their
# required parameters come from ccxt's requiredCredentials (apiKey -> PublicApiKey, ...).
EMSWEB_CCXT_VENUES = env.dict("EMSWEB_CCXT_VENUES", default={})
# One HTTP request to an exchange, in seconds. With the waits below and a cold markets load it
# stays well inside Celery's soft time limit (CELERY_TASK_SOFT_TIME_LIMIT = 30 s).
EMSWEB_CCXT_TIMEOUT = env.float("EMSWEB_CCXT_TIMEOUT", default=8.0)
# The longest a request waits for its share of the rate budget or its key's turn before it is
# given up unsent (an order is then REJECTED as unreachable, never sent late).
EMSWEB_CCXT_MAX_WAIT = env.float("EMSWEB_CCXT_MAX_WAIT", default=6.0)
# The shared budget per exchange and key refills at ccxt's own rate; this many seconds of it
# may be spent at once, and calls other than cancels leave this fraction of it for cancels.
EMSWEB_CCXT_BURST_SECONDS = env.float("EMSWEB_CCXT_BURST_SECONDS", default=10.0)
EMSWEB_CCXT_CANCEL_RESERVE = env.float("EMSWEB_CCXT_CANCEL_RESERVE", default=0.25)
# Market data (the trading screen's book and candles) leaves this fraction for every other call
# and never waits for its turn: it is read next time instead.
EMSWEB_CCXT_MARKET_DATA_RESERVE = env.float("EMSWEB_CCXT_MARKET_DATA_RESERVE", default=0.5)
# After a 429 or ban answer: back off base * 2^n seconds (jittered), at most this long.
EMSWEB_CCXT_BACKOFF_BASE = env.float("EMSWEB_CCXT_BACKOFF_BASE", default=2.0)
EMSWEB_CCXT_BACKOFF_MAX = env.float("EMSWEB_CCXT_BACKOFF_MAX", default=60.0)
# Markets (tick, lot, minimums) are kept this long per process and in Redis; the
# refresh-instruments beat task reloads them on schedule.
EMSWEB_CCXT_MARKETS_TTL = env.float("EMSWEB_CCXT_MARKETS_TTL", default=3600.0)
EMSWEB_CCXT_TICKERS_TTL = env.float("EMSWEB_CCXT_TICKERS_TTL", default=30.0)
# Fills: a first sync reads this far back; later ones re-read this much before the cursor.
EMSWEB_CCXT_FILLS_LOOKBACK = env.float("EMSWEB_CCXT_FILLS_LOOKBACK", default=86400.0)
EMSWEB_CCXT_FILLS_OVERLAP = env.float("EMSWEB_CCXT_FILLS_OVERLAP", default=300.0)
# Where open orders are read per symbol (Binance), an unscoped read still runs this often, so
# that orders placed outside emsweb are found.
EMSWEB_CCXT_UNSCOPED_EVERY = env.float("EMSWEB_CCXT_UNSCOPED_EVERY", default=60.0)
# The assets whose perpetuals and futures a derivatives venue loads as instruments (the ticket
# searches these); "*" loads every contract the exchange lists.
EMSWEB_DERIVATIVES_ASSETS = env.list("EMSWEB_DERIVATIVES_ASSETS", default=["BTC", "ETH"])
# The hosted EMS as a venue: its trading REST API, its key, and the venue codes routed through
# it (emsweb venue code -> the hosted EMS's exchange id), e.g. "EMSKRAKEN=KRAKEN".
EMSWEB_HOSTED_EMS_URL = env.str("EMSWEB_HOSTED_EMS_URL", default="")
EMSWEB_HOSTED_EMS_KEY = env.str("EMSWEB_HOSTED_EMS_KEY", default="")
EMSWEB_HOSTED_EMS_TIMEOUT = env.float("EMSWEB_HOSTED_EMS_TIMEOUT", default=8.0)
EMSWEB_HOSTED_EMS_VENUES = env.dict("EMSWEB_HOSTED_EMS_VENUES", default={})

# --- the web port's stream (stream.hub, stream.consumers: /v1/ws and /stream) -----------------
# A client that falls behind is closed as a slow consumer (1013 "slow consumer"), when either
# bound is passed. How far: this many events waiting for it beyond what its connection holds
# unread (the kernel's 128 KiB and the server's 64 KiB, emsweb.web_worker); only references to
# events every connection shares, 80 KB at most per connection. At least one sequencer batch
# (1,000), since a batch reaches every connection at once.
EMSWEB_STREAM_CLIENT_BUFFER = env.int("EMSWEB_STREAM_CLIENT_BUFFER", default=10000)
# How long: seconds a message may wait for the client to make room for it. Once closed, the
# client has as long again to read what it was sent and the close frame; then the connection is
# dropped, so that a client that never reads holds nothing.
EMSWEB_STREAM_CLIENT_WAIT = env.float("EMSWEB_STREAM_CLIENT_WAIT", default=10.0)

# The trading screen's market data (market/): books read this often (seconds) and candles this
# often, for the instruments on some screen; a page is told "stale" once the book it shows is
# older than EMSWEB_MARKET_STALE_AFTER, and sent at most EMSWEB_MARKET_PUSH_RATE updates a
# second (the latest wins).
EMSWEB_MARKET_BOOK_EVERY = env.float("EMSWEB_MARKET_BOOK_EVERY", default=1.0)
EMSWEB_MARKET_CANDLES_EVERY = env.float("EMSWEB_MARKET_CANDLES_EVERY", default=5.0)
EMSWEB_MARKET_BOOK_LEVELS = env.int("EMSWEB_MARKET_BOOK_LEVELS", default=10)
EMSWEB_MARKET_STALE_AFTER = env.float("EMSWEB_MARKET_STALE_AFTER", default=5.0)
EMSWEB_MARKET_PUSH_RATE = env.float("EMSWEB_MARKET_PUSH_RATE", default=10.0)
# The web port's HTTP requests run Django's WSGI application in this many threads per process
# (emsweb.asgi), as gunicorn's gthread workers did.
EMSWEB_HTTP_THREADS = env.int("GUNICORN_THREADS", default=8)

# The FIX gateway (`manage.py fix_gateway`, the `fix` process): off unless a port is set. Its
# sequence-number store and logs live under EMSWEB_FIX_DIR.
EMSWEB_FIX_PORT = env.int("EMSWEB_FIX_PORT", default=None)
EMSWEB_FIX_HOST = env.str("EMSWEB_FIX_HOST", default="0.0.0.0")
EMSWEB_FIX_DIR = Path(env.str("EMSWEB_FIX_DIR", default=str(VAR_DIR / "fix")))
# TLS on the gateway's port when a certificate is given (PEM, its chain; the key in its own file
# or in the same one); with a CA bundle, every client must present a certificate it signed.
EMSWEB_FIX_TLS_CERT = env.str("EMSWEB_FIX_TLS_CERT", default="")
EMSWEB_FIX_TLS_KEY = env.str("EMSWEB_FIX_TLS_KEY", default="")
EMSWEB_FIX_TLS_CLIENT_CA = env.str("EMSWEB_FIX_TLS_CLIENT_CA", default="")
