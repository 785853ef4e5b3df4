"""Every change to the risk controls: trading states (halt, reducing, resume) and limits. Each is
audited here, whichever door it came through (the kill switch, the admin site, the shell), and
replaces the copy of the rules that submits read (risk.rules), in the same transaction; in it
too, each account it bears on gets its stream event (its SERVER_INFO tells its `trading` state),
which pushes the change to open risk pages."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditAction, ExchangeAccount
from accounts.selectors import may_manage_risk
from accounts.services import account_streamed

from .models import RiskLimits, ScopeState, TradingState
from .rules import rules_changed
from .stops import stops_record


def trading_halt(
    *,
    accounts: Iterable[ExchangeAccount] | None = None,
    user: AbstractBaseUser | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    reason: str = "",
) -> None:
    """HALTED: no new orders on `accounts`, or on the whole desk when None; the algorithm
    parents on them stop (risk.stops)."""
    _state_set(TradingState.HALTED, accounts, user, api_key, ip, reason)


def trading_resume(
    *,
    user: AbstractBaseUser,
    account: ExchangeAccount | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    reason: str = "",
) -> None:
    """ACTIVE again, on `account` or (None) the desk. Only a desk admin resumes trading."""
    trading_state_set(
        state=TradingState.ACTIVE, user=user, account=account, api_key=api_key, ip=ip, reason=reason
    )


def trading_state_set(
    *,
    state: str,
    user: AbstractBaseUser,
    account: ExchangeAccount | None = None,
    api_key: ApiKey | None = None,
    ip: str | None = None,
    reason: str = "",
) -> None:
    """ACTIVE, REDUCING or HALTED on `account` or (None) the desk; all but HALTED need a desk
    admin."""
    _state_set(state, None if account is None else [account], user, api_key, ip, reason)


def _state_set(state, accounts, user, api_key, ip, reason) -> None:
    accounts = None if accounts is None else list(accounts)
    if accounts == []:
        return
    _authorize(state, user, api_key)
    scopes = Q(account__isnull=True) if accounts is None else Q(account__in=accounts)
    with transaction.atomic():
        ScopeState.objects.bulk_create(
            [ScopeState(account=account) for account in accounts or [None]], ignore_conflicts=True
        )
        rows = ScopeState.objects.select_for_update().filter(scopes).order_by("pk")
        before = sorted(set(rows.values_list("state", flat=True)))
        ScopeState.objects.filter(scopes).update(
            state=state, reason=reason[:255], changed_by=user, changed_at=timezone.now()
        )
        audit_record(
            action=AuditAction.TRADING_STATE,
            actor=user,
            api_key=api_key,
            ip=ip,
            target=_target(accounts),
            state=state,
            was=", ".join(before),
            reason=reason,
        )
        if state == TradingState.HALTED:
            stops_record(accounts=accounts, reason=f"Halted{f': {reason}' if reason else ''}")
        rules_changed()
        _accounts_streamed(accounts)


def _authorize(state, user, api_key) -> None:
    """Halting only stops new orders, and the door decides whose (the kill switch: the accounts
    the user may trade); going back to trading is for a desk admin alone."""
    if state == TradingState.HALTED:
        return
    user = user or getattr(api_key, "user", None)
    if user is None or not may_manage_risk(user=user, api_key=api_key):
        raise PermissionDenied("Only a desk admin may resume trading or set it to reducing.")


def _target(accounts: list[ExchangeAccount] | None) -> str:
    if accounts is None:
        return "desk"
    return ", ".join(account.exchange_id for account in accounts)[:255]


def risk_limits_save(
    *,
    limits: RiskLimits,
    user: AbstractBaseUser,
    changed: Iterable[str],
    ip: str | None = None,
) -> RiskLimits:
    """Save a scope's limits (new or edited), audited with the fields changed and their values.
    A limit lowered below what is used now refuses new orders until usage falls under it; it
    never cancels an order."""
    _authorize_limits(user)
    limits.full_clean()
    changed = [name for name in changed if name not in {"account", "user"}]
    with transaction.atomic():
        limits.updated_by = user
        limits.save()
        audit_record(
            action=AuditAction.RISK_LIMITS,
            actor=user,
            ip=ip,
            target=limits.scope_label,
            **{name: _shown(getattr(limits, name)) for name in changed},
        )
        rules_changed()
        _accounts_streamed(_accounts_of(limits))
    return limits


def risk_limits_delete(*, limits: RiskLimits, user: AbstractBaseUser, ip: str | None = None):
    """Remove a scope's limits: no limit there any more."""
    _authorize_limits(user)
    with transaction.atomic():
        audit_record(
            action=AuditAction.RISK_LIMITS, actor=user, ip=ip, target=limits.scope_label,
            removed="all limits",
        )  # fmt: skip
        accounts = _accounts_of(limits)
        limits.delete()
        rules_changed()
        _accounts_streamed(accounts)


def _authorize_limits(user: AbstractBaseUser) -> None:
    if not may_manage_risk(user=user):
        raise PermissionDenied("Only a desk admin sets risk limits.")


def _accounts_of(limits: RiskLimits) -> list[ExchangeAccount] | None:
    """The accounts whose orders a scope's limits bear on: its account, or (None) every one."""
    return None if limits.account_id is None else [limits.account]


def _accounts_streamed(accounts: list[ExchangeAccount] | None) -> None:
    """An event for each account (None: every account on the desk), in the caller's transaction.
    A trader's limits bear on their orders on any account: every account's event then."""
    if accounts is None:
        ids = list(ExchangeAccount.objects.values_list("pk", flat=True))
    else:
        ids = [account.pk for account in accounts]
    for account_id in ids:
        account_streamed(account_id=account_id)


def _shown(value: object) -> object:
    return "no limit" if value in (None, "") else value
