"""Reads for accounts, and the one place that says who may see and do what.

Roles: a desk admin manages users, accounts and keys and may trade every account; a trader
trades the accounts granted to them; a viewer reads everything and changes nothing. An API key
acts as its user, and a read-only key never trades. Every view and endpoint asks here.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connections
from django.db.models import QuerySet

from emsweb import sql

from .models import ApiKey, DeskMember, DeskRole, ExchangeAccount, TradingGrant

# Which accounts a user may trade (_trading_reach).
EVERY_ENABLED, GRANTED = "every enabled account", "the enabled accounts granted to the user"


def user_role(*, user: AbstractBaseUser) -> str:
    """The user's desk role. Remembered on the user object, which a request loads afresh (the
    session's user, an API key's user): a page asks it two or three times (the second-factor
    check, then each permission), and a role changed meanwhile applies from the next request."""
    if not user.is_authenticated or not user.is_active:
        return DeskRole.VIEWER
    if user.is_superuser:
        return DeskRole.ADMIN
    role = getattr(user, "_desk_role", None)
    if role is None:
        member = DeskMember.objects.filter(user=user).only("role").first()
        role = user._desk_role = member.role if member else DeskRole.VIEWER
    return role


def user_role_remember(user: AbstractBaseUser, role: str | None) -> None:
    """Tell user_role the user's DeskMember role (None: they have none), read along with them."""
    user._desk_role = role or DeskRole.VIEWER


def accounts_visible(*, user: AbstractBaseUser) -> QuerySet[ExchangeAccount]:
    """Everyone on the desk sees every account: the history and balances are shared."""
    if not user.is_authenticated or not user.is_active:
        return ExchangeAccount.objects.none()
    return ExchangeAccount.objects.all()


def accounts_tradable(
    *, user: AbstractBaseUser, api_key: ApiKey | None = None
) -> QuerySet[ExchangeAccount]:
    reach = _trading_reach(user=user, api_key=api_key)
    if reach is None:
        return ExchangeAccount.objects.none()
    enabled = accounts_visible(user=user).filter(enabled=True)
    return enabled.filter(grants__user=user) if reach == GRANTED else enabled


def account_tradable(
    *, user: AbstractBaseUser, exchange_id: str, api_key: ApiKey | None = None
) -> ExchangeAccount | None:
    """The account `exchange_id` names, if it is among accounts_tradable(user, api_key); else
    None. Every order a script sends asks: one statement built once per process, where the
    ORM's compiling of the same read cost more CPU than the rest of finding the account."""
    reach = _trading_reach(user=user, api_key=api_key)
    if reach is None:
        return None
    connection = connections["default"]
    statement = _tradable_statement(connection.vendor, granted=reach == GRANTED)
    params = [exchange_id, True, user.pk] if reach == GRANTED else [exchange_id, True]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        row = cursor.fetchone()
    return None if row is None else sql.loaded(connection, ExchangeAccount, row)


def _trading_reach(*, user: AbstractBaseUser, api_key: ApiKey | None) -> str | None:
    """Which accounts the user, through the key if given, may trade: EVERY_ENABLED, GRANTED,
    or None. What accounts_tradable and account_tradable both read."""
    if api_key is not None and api_key.read_only:
        return None
    if not user.is_authenticated or not user.is_active:
        return None  # accounts_visible: none
    role = user_role(user=user)
    if role == DeskRole.ADMIN:
        return EVERY_ENABLED
    if role == DeskRole.TRADER:
        return GRANTED
    return None


@cache
def _tradable_statement(vendor: str, *, granted: bool) -> str:
    connection = next(c for c in connections.all() if c.vendor == vendor)
    quote = connection.ops.quote_name
    account, grant = ExchangeAccount._meta, TradingGrant._meta
    statement = (
        f"SELECT {sql.columns(connection, ExchangeAccount, 't0')}"
        f" FROM {quote(account.db_table)} t0"
        f" WHERE t0.{quote(account.get_field('exchange_id').column)} = %s"
        f" AND t0.{quote(account.get_field('enabled').column)} = %s"
    )
    if granted:
        statement += (
            f" AND EXISTS (SELECT 1 FROM {quote(grant.db_table)} g"
            f" WHERE g.{quote(grant.get_field('account').column)} = t0.{quote(account.pk.column)}"
            f" AND g.{quote(grant.get_field('user').column)} = %s)"
        )
    return statement


def may_trade_anything(*, user: AbstractBaseUser) -> bool:
    return user_role(user=user) in (DeskRole.ADMIN, DeskRole.TRADER)


def may_manage_accounts(*, user: AbstractBaseUser, api_key: ApiKey | None = None) -> bool:
    if api_key is not None and api_key.read_only:
        return False
    return user_role(user=user) == DeskRole.ADMIN


def may_manage_risk(*, user: AbstractBaseUser, api_key: ApiKey | None = None) -> bool:
    """Set risk limits, resume trading, halt a scope from the risk page: a desk admin's, like
    managing accounts. (Anyone halts the accounts they trade with the kill switch.)"""
    return may_manage_accounts(user=user, api_key=api_key)


def api_keys_usable(*, ids: set[int]) -> set[int]:
    """Those of `ids` that still authenticate: not revoked, their user active."""
    usable = ApiKey.objects.filter(pk__in=ids, revoked_at__isnull=True, user__is_active=True)
    return set(usable.values_list("pk", flat=True))


def users_active(*, ids: set[int]) -> set[int]:
    """Those of `ids` that are active users."""
    return set(
        get_user_model().objects.filter(pk__in=ids, is_active=True).values_list("pk", flat=True)
    )
