"""The risk rules in force: every scope's limits and every trading state that is not ACTIVE,
read by each submit (and each routing) from one copy in Redis, in one round trip.

The copy is tagged with the version it was made from. Every change bumps the version, at once
and again once committed, so a copy made from what the database said before the change is
never taken for the current one, whoever wrote it when; a copy lives at most
EMSWEB_RISK_RULES_KEEP_SECONDS should a bump fail to reach Redis. Without Redis the rules are
read from the database: the rules never fail open.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal

import redis
from django.conf import settings
from django.db import transaction

from emsweb.redis import redis_client

from .models import (
    DESK,
    RiskLimits,
    ScopeState,
    TradingState,
    account_scope,
    instrument_names,
    trader_scope,
)

logger = logging.getLogger(__name__)

RULES_KEY = "emsweb:risk:rules"
DECIMALS = frozenset(
    {"max_order_notional_usd", "max_daily_notional_usd", "price_band_percent", "max_position_usd"}
)
INSTRUMENT_LISTS = frozenset({"allowed_instruments", "denied_instruments"})


@dataclass(frozen=True)
class Limits:
    """One scope's limits, as an order is checked against them; None is no limit."""

    scope: str
    label: str
    max_order_notional_usd: Decimal | None = None
    max_working_orders: int | None = None
    max_orders_per_second: int | None = None
    max_orders_per_minute: int | None = None
    max_daily_notional_usd: Decimal | None = None
    price_band_percent: Decimal | None = None
    reference_max_age_seconds: int = 30
    allowed_instruments: frozenset[str] = field(default_factory=frozenset)
    denied_instruments: frozenset[str] = field(default_factory=frozenset)
    max_position_usd: Decimal | None = None

    @property
    def counts_usage(self) -> bool:
        """Whether an order must count what the scope has working and has submitted."""
        return any(
            value is not None
            for value in (
                self.max_working_orders,
                self.max_orders_per_second,
                self.max_orders_per_minute,
                self.max_daily_notional_usd,
            )
        )

    @property
    def counts_rate(self) -> bool:
        return self.max_orders_per_second is not None or self.max_orders_per_minute is not None

    @property
    def needs_notional(self) -> bool:
        return self.max_order_notional_usd is not None or self.max_daily_notional_usd is not None


LIMIT_FIELDS = tuple(name.name for name in fields(Limits) if name.name not in {"scope", "label"})


@dataclass(frozen=True)
class ScopeRules:
    """What applies to one order: the limits of its scopes, and their states not ACTIVE."""

    limits: tuple[Limits, ...]
    states: tuple[tuple[str, str, str], ...]  # (scope, label, state)

    def __bool__(self) -> bool:
        return bool(self.limits or self.states)


@dataclass(frozen=True)
class DeskRules:
    limits: dict[str, Limits]
    states: dict[str, tuple[str, str]]  # scope -> (label, state)

    def for_order(self, *, account_id: int, user_id: int | None) -> ScopeRules:
        scopes = [DESK, account_scope(account_id)]
        if user_id is not None:
            scopes.append(trader_scope(user_id))
        return ScopeRules(
            limits=tuple(self.limits[scope] for scope in scopes if scope in self.limits),
            states=tuple((scope, *self.states[scope]) for scope in scopes if scope in self.states),
        )


def rules_for(*, account_id: int, user_id: int | None) -> ScopeRules:
    """The limits and trading states an order of this account (by this trader) must meet."""
    return desk_rules().for_order(account_id=account_id, user_id=user_id)


def trading_halted(*, account_id: int) -> str:
    """Why new orders on the account must not be sent (the desk or it is HALTED), or ""."""
    rules = rules_for(account_id=account_id, user_id=None)
    for _, label, state in rules.states:
        if state == TradingState.HALTED:
            return f"Trading is halted on {label}."
    return ""


def desk_rules() -> DeskRules:
    try:
        version, copy, copy_version = redis_client().hmget(
            RULES_KEY, ["version", "rules", "rules_version"]
        )
    except redis.RedisError:
        logger.warning("risk rules: Redis did not answer; read from the database", exc_info=True)
        return _load()
    version = version or b"0"
    if copy is not None and copy_version == version:
        return _decode(copy)
    rules = _load()
    try:
        with redis_client().pipeline() as pipe:
            pipe.hset(RULES_KEY, mapping={"rules": _encode(rules), "rules_version": version})
            pipe.expire(RULES_KEY, settings.EMSWEB_RISK_RULES_KEEP_SECONDS)
            pipe.execute()
    except redis.RedisError:
        logger.warning("risk rules: could not keep a copy in Redis", exc_info=True)
    return rules


def rules_changed() -> None:
    """Call inside the transaction that changes limits or states: the copy in Redis is no longer
    taken, from now (for this transaction's own reads) and again once committed (for a copy
    another process made meanwhile from what the database said before)."""
    _bump()
    transaction.on_commit(_bump, robust=True)


def _bump() -> None:
    try:
        redis_client().hincrby(RULES_KEY, "version", 1)
    except redis.RedisError:
        logger.error(
            "risk rules: a change could not reach Redis; the old copy may be read for up to %s s",
            settings.EMSWEB_RISK_RULES_KEEP_SECONDS,
            exc_info=True,
        )


def _load() -> DeskRules:
    limits = {}
    rows = RiskLimits.objects.select_related("account", "user")
    for row in rows.only(*LIMIT_FIELDS, "account__exchange_id", "user__username"):
        values = {name: getattr(row, name) for name in LIMIT_FIELDS}
        for name in INSTRUMENT_LISTS:
            values[name] = frozenset(instrument_names(values[name]))
        limits[row.scope] = Limits(scope=row.scope, label=row.scope_label, **values)
    states = {
        row.scope: (row.scope_label, row.state)
        for row in ScopeState.objects.exclude(state=TradingState.ACTIVE)
        .select_related("account")
        .only("state", "account__exchange_id")
    }
    return DeskRules(limits, states)


def _encode(rules: DeskRules) -> str:
    def plain(limits: Limits) -> dict:
        values = asdict(limits)
        for name in DECIMALS:
            values[name] = None if values[name] is None else str(values[name])
        for name in INSTRUMENT_LISTS:
            values[name] = sorted(values[name])
        return values

    return json.dumps(
        {
            "limits": [plain(limits) for limits in rules.limits.values()],
            "states": rules.states,
        }
    )


def _decode(raw: bytes) -> DeskRules:
    data = json.loads(raw)
    limits = {}
    for values in data["limits"]:
        for name in DECIMALS:
            values[name] = None if values[name] is None else Decimal(values[name])
        for name in INSTRUMENT_LISTS:
            values[name] = frozenset(values[name])
        limits[values["scope"]] = Limits(**values)
    return DeskRules(limits, {scope: tuple(state) for scope, state in data["states"].items()})
