"""Reads for accounts, and the one place that says who may see and do what.

Roles: a desk admin manages users, accounts and keys and may trade every account; a trader
trades the accounts granted to them; a viewer reads everything and changes nothing. An API key
acts as its user, and a read-only key never trades. Every view and endpoint asks here.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import ApiKey, DeskMember, DeskRole, ExchangeAccount


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
    if api_key is not None and api_key.read_only:
        return ExchangeAccount.objects.none()
    role = user_role(user=user)
    enabled = accounts_visible(user=user).filter(enabled=True)
    if role == DeskRole.ADMIN:
        return enabled
    if role == DeskRole.TRADER:
        return enabled.filter(grants__user=user)
    return ExchangeAccount.objects.none()


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
