"""ccxt exchange instances, made once per process and reused, and the markets they share.

- One instance per account per worker process, reused across tasks (ccxt keeps HTTP
  connections and, for some venues, state between calls); a new one when the keys change.
- One public instance per exchange for markets and tickers, and another for market data (the
  trading screen's book and candles): the same public budget, at the lowest priority (limits.py),
  and decimal strings as the exchange wrote them.
- Markets are loaded once and kept for `EMSWEB_CCXT_MARKETS_TTL`, in this process and in Redis
  (as JSON), so that no task loads them per call and a fresh worker does not load them again.
- Every HTTP request goes through a Gate (limits.py): the shared budget, the back-off after a
  429, and for an account the lock that keeps one request at a time on its key.

Nothing here logs: ccxt's debug log carries request headers (keys, signatures) and is off.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import ccxt
import redis
from django.conf import settings

from emsweb.redis import redis_client
from venues.errors import Rejected
from venues.registry import CREDENTIAL_NAMES

from .errors import RATE_LIMITED
from .limits import PREFIX, Budget, Gate, next_nonce
from .profiles import Profile


class Silent:
    """ccxt logs every request with its headers (keys, signatures) at DEBUG, so an instance gets
    this instead of a logger: nothing it says is kept. Not a disabled logging.Logger, which any
    later logging.config.dictConfig() would enable again."""

    def _nothing(self, *args, **kwargs) -> None:
        return None

    debug = info = warning = error = exception = critical = log = _nothing


SILENT = Silent()
logging.getLogger("ccxt").setLevel(logging.WARNING)  # its module logger, for other instances

CCXT_FIELDS = {name: field for field, name in CREDENTIAL_NAMES.items()}
_lock = threading.Lock()
# An account's instance and the public one are per thread: the order worker's threads would
# otherwise share one, and ccxt keeps per-request state on it (Kraken's cancel reads
# `last_http_response` after the request, when another thread's answer may be there), as the
# gate's cancel-first flag is. Each thread's instance is used by one call at a time, as each
# pool process's was.
_accounts: dict[tuple[str, int], Connection] = {}
_public: dict[tuple[str, bool, int], Connection] = {}
_market_data: dict[tuple[str, bool], Connection] = {}
_markets: dict[tuple[str, bool], Markets] = {}


@dataclass
class Markets:
    loaded_at: float
    markets: dict
    currencies: dict
    helpers: dict  # exchange-specific market state ccxt keeps in options (Kraken's altnames)
    version: int = field(default_factory=time.monotonic_ns)
    _spot: dict | None = field(default=None, repr=False)
    _contracts: dict | None = field(default=None, repr=False)

    def fresh(self) -> bool:
        return time.time() - self.loaded_at < settings.EMSWEB_CCXT_MARKETS_TTL

    def spot(self) -> dict[str, dict]:
        """Tradable spot markets by the exchange's own symbol (the market's `id`)."""
        if self._spot is None:
            self._spot = {
                str(market["id"]): market
                for market in self.markets.values()
                if market.get("spot") and market.get("active") is not False
            }
        return self._spot

    def contracts(self) -> dict[str, dict]:
        """Tradable perpetuals and futures (linear or inverse; no options), by the exchange's own
        symbol."""
        if self._contracts is None:
            self._contracts = {
                str(market["id"]): market
                for market in self.markets.values()
                if (market.get("swap") or market.get("future"))
                and (market.get("linear") or market.get("inverse"))
                and market.get("active") is not False
            }
        return self._contracts

    def tradable(self, *, derivatives: bool) -> dict[str, dict]:
        """What a venue trades: its contracts for a derivatives venue, else its spot markets."""
        return self.contracts() if derivatives else self.spot()


class Connection:
    """One ccxt instance and its gate. `status` is the HTTP status of the last answer this
    thread had, by which a failure is classified: an account's and the public instances are
    per thread, but the market data one is shared by a process's threads, and another thread's
    200 read for a 503 would turn "outcome unknown" into "refused"."""

    def __init__(self, exchange: ccxt.Exchange, gate: Gate, secrets: tuple[str, ...]):
        self.exchange = exchange
        self.gate = gate
        self.secrets = secrets
        self._answers = threading.local()
        self.markets_version = 0
        self.fingerprint = ""
        _instrument(self)

    @property
    def status(self) -> int | None:
        return getattr(self._answers, "status", None)

    @status.setter
    def status(self, status: int | None) -> None:
        self._answers.status = status

    def use_markets(self, markets: Markets) -> None:
        if self.markets_version != markets.version:
            self.exchange.set_markets(markets.markets, markets.currencies or None)
            self.exchange.options.update(markets.helpers)
            self.markets_version = markets.version


def account_connection(
    *, profile: Profile, account_key: str, credentials: Mapping[str, str], sandbox: bool
) -> Connection:
    """The account's instance in this thread, made on first use or when its keys changed."""
    fingerprint = _fingerprint(profile.ccxt_id, sandbox, credentials)
    key = (account_key, threading.get_ident())
    with _lock:
        connection = _accounts.get(key)
        if connection is None or connection.fingerprint != fingerprint:
            exchange = _exchange(profile, credentials, sandbox)
            # Budget, lock and nonce belong to the exchange's key, whichever account uses it.
            api_key = credentials.get("apiKey") or account_key
            key_scope = (
                f"{profile.ccxt_id}:{_fingerprint(profile.ccxt_id, sandbox, {'k': api_key})}"
            )
            gate = Gate(
                Budget.for_exchange(f"key:{key_scope}", exchange.rateLimit),
                venue=profile.title(exchange),
                lock_scope=key_scope,
            )
            secrets = tuple(value for value in credentials.values() if value)
            connection = Connection(exchange, gate, secrets)
            connection.fingerprint = fingerprint
            # Exchanges that sign with a counter take it from Redis: above any other worker's.
            exchange.incrementing_nonce = lambda: next_nonce(key_scope, int(exchange.nonce()))
            _accounts[key] = connection
    return connection


def public_connection(profile: Profile, sandbox: bool) -> Connection:
    key = (profile.ccxt_id, sandbox, threading.get_ident())
    with _lock:
        connection = _public.get(key)
        if connection is None:
            connection = _public[key] = _public_connection(profile, sandbox, market_data=False)
    return connection


def market_data_connection(profile: Profile, sandbox: bool) -> Connection:
    """The instance that reads books and candles: it shares the public budget but leaves a larger
    reserve and never waits (limits.Gate), and reads numbers as strings (Decimal-safe)."""
    key = (profile.ccxt_id, sandbox)
    with _lock:
        connection = _market_data.get(key)
        if connection is None:
            connection = _public_connection(profile, sandbox, market_data=True)
            connection.exchange.number = str
            _market_data[key] = connection
    return connection


def _public_connection(profile: Profile, sandbox: bool, *, market_data: bool) -> Connection:
    exchange = _exchange(profile, {}, sandbox)
    scope = f"public:{profile.ccxt_id}:{'sandbox' if sandbox else 'live'}"
    budget = Budget.for_exchange(scope, exchange.rateLimit)
    gate = Gate(budget, venue=profile.title(exchange), market_data=market_data)
    return Connection(exchange, gate, ())


def markets(profile: Profile, sandbox: bool, *, reload: bool = False) -> Markets:
    """The exchange's markets: this process's copy, else Redis's, else loaded now."""
    key = (profile.ccxt_id, sandbox)
    cached = _markets.get(key)
    if cached is not None and cached.fresh() and not reload:
        return cached
    shared = None if reload else _shared_markets(key)
    if shared is not None and shared.fresh():
        _markets[key] = shared
        return shared
    connection = public_connection(profile, sandbox)
    exchange = connection.exchange
    if not profile.load_currencies:
        exchange.has["fetchCurrencies"] = False
    loaded = profile.repair_markets(dict(exchange.load_markets(reload=True)))
    exchange.set_markets(loaded, exchange.currencies)
    helper_names = exchange.options.get("marketHelperProps") or []
    helpers = {name: exchange.options[name] for name in helper_names if name in exchange.options}
    fresh = Markets(time.time(), dict(loaded), dict(exchange.currencies or {}), helpers)
    connection.markets_version = fresh.version
    _markets[key] = fresh
    _share_markets(key, fresh)
    return fresh


def ccxt_credentials(parameters: Mapping[str, str]) -> dict[str, str]:
    """A venue's parameters (PublicApiKey, PrivateApiKey, PassPhrase, ...) as ccxt's fields."""
    fields = {}
    for name, value in parameters.items():
        field = CCXT_FIELDS.get(name)
        if field and value:
            value = str(value).strip()
            if "-----BEGIN" in value and "\\n" in value:
                value = value.replace("\\n", "\n")  # a PEM key pasted on one line
            fields[field] = value
    return fields


def reset() -> None:
    """Forget every instance and cached market (tests; a changed configuration)."""
    with _lock:
        _accounts.clear()
        _public.clear()
        _market_data.clear()
        _markets.clear()


# --- internals --------------------------------------------------------------------------------


def _exchange(profile: Profile, credentials: Mapping[str, str], sandbox: bool) -> ccxt.Exchange:
    exchange_class = getattr(ccxt, profile.ccxt_id, None)
    if exchange_class is None:
        raise Rejected(f"ccxt has no exchange {profile.ccxt_id!r}.")
    config = {
        "timeout": int(settings.EMSWEB_CCXT_TIMEOUT * 1000),
        "enableRateLimit": False,  # the shared gate does it, for every worker at once
        "verbose": False,
        "logger": SILENT,
        "options": {**profile.options, "maxRetriesOnFailure": 0},  # never re-send by itself
        **credentials,
    }
    exchange = exchange_class(config)
    # Money never passes through a float. An account's instance parses with number = str, so
    # amounts, prices, fills and balances arrive as the exchange's own decimal strings. ccxt's
    # Decimal mode is not used: its helpers (safe_string and kin) drop Decimal values, which
    # breaks market parsing. The public instance keeps floats for markets and tickers, whose
    # parsing compares numbers; ticks and lots read back exactly through repr().
    if credentials:
        exchange.number = str
    exchange.log = lambda *args: None
    if sandbox:
        if not exchange.urls.get("test"):
            raise Rejected(
                f"{profile.title(exchange)} has no sandbox: link the account without sandbox, "
                "with a small trade-only key."
            )
        exchange.set_sandbox_mode(True)
    return exchange


def _instrument(connection: Connection) -> None:
    """Route every request of the instance through its gate and note each answer's status."""
    exchange = connection.exchange
    fetch2, on_rest_response = exchange.fetch2, exchange.on_rest_response

    def gated_fetch2(path, api="public", method="GET", params=None, config=None):
        params, config = params or {}, config or {}
        cost = exchange.calculate_rate_limiter_cost(api, method, path, params, config)
        with connection.gate.turn(1.0 if cost is None else float(cost)):
            connection.status = None
            try:
                return fetch2(path, api, method, params, config)
            except Exception as error:
                # A 429 or a ban, however ccxt names it (an error body may hide the status).
                if isinstance(error, RATE_LIMITED) or connection.status in (418, 429):
                    connection.gate.back_off()
                raise

    def noting_on_rest_response(code, reason, url, method, *rest):
        connection.status = int(code) if code is not None else None
        return on_rest_response(code, reason, url, method, *rest)

    exchange.fetch2 = gated_fetch2
    exchange.on_rest_response = noting_on_rest_response


def _fingerprint(ccxt_id: str, sandbox: bool, credentials: Mapping[str, str]) -> str:
    material = json.dumps([ccxt_id, sandbox, sorted(credentials.items())])
    return hashlib.sha256(material.encode()).hexdigest()[:24]


def _markets_key(key: tuple[str, bool]) -> str:
    return f"{PREFIX}:markets:{key[0]}:{'sandbox' if key[1] else 'live'}"


def _shared_markets(key: tuple[str, bool]) -> Markets | None:
    try:
        raw = redis_client().get(_markets_key(key))
    except redis.RedisError:
        return None
    if not raw:
        return None
    try:
        stored = json.loads(raw, object_hook=_decode)
        return Markets(
            stored["loaded_at"], stored["markets"], stored["currencies"], stored["helpers"]
        )
    except (ValueError, KeyError, TypeError):
        return None


def _share_markets(key: tuple[str, bool], fresh: Markets) -> None:
    document = {
        "loaded_at": fresh.loaded_at,
        "markets": fresh.markets,
        "currencies": fresh.currencies,
        "helpers": fresh.helpers,
    }
    # Failing that, each process keeps its own copy.
    with contextlib.suppress(redis.RedisError, TypeError, ValueError):
        redis_client().set(
            _markets_key(key),
            json.dumps(document, default=_encode),
            ex=int(settings.EMSWEB_CCXT_MARKETS_TTL) + 60,
        )


def _encode(value: object) -> object:
    if isinstance(value, Decimal):
        return {"$decimal": str(value)}
    raise TypeError(f"{type(value).__name__} is not JSON")


def _decode(document: dict) -> object:
    if len(document) == 1 and "$decimal" in document:
        return Decimal(document["$decimal"])
    return document
