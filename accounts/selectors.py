"""Reads for accounts, and the one place that says who may see and trade which account.

Until desk roles land, every active user may see and trade every account; an API key that is
read-only never trades. Every view and endpoint asks here, so roles change only this module.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import ApiKey, ExchangeAccount


def accounts_visible(*, user: AbstractBaseUser) -> QuerySet[ExchangeAccount]:
    if not user.is_active:
        return ExchangeAccount.objects.none()
    return ExchangeAccount.objects.all()


def accounts_tradable(
    *, user: AbstractBaseUser, api_key: ApiKey | None = None
) -> QuerySet[ExchangeAccount]:
    if api_key is not None and api_key.read_only:
        return ExchangeAccount.objects.none()
    return accounts_visible(user=user).filter(enabled=True)


def may_manage_accounts(*, user: AbstractBaseUser, api_key: ApiKey | None = None) -> bool:
    return user.is_active and not (api_key is not None and api_key.read_only)
