"""Stops: the desk's controls (a halt, the kill switch, cancel-all) written on the scopes they hit,
for whatever sends orders on an account's behalf by itself (an algorithm's parent) to stop at.

Each stop takes the next number of one desk-wide sequence and writes it, with its reason, on the
rows (risk.models.ScopeState) of the desk or the accounts it hit, in a transaction of its own that
commits before the caller cancels anything. A parent keeps the number current when it started;
a higher one on the desk or one of its accounts stops it. The step that places a slice reads the
rows with `lock=True` in the transaction that places it: on PostgreSQL it share-locks them, so
either the stop's update waits for that transaction (and the cancel-all after it sees the child)
or the step sees the stop and places nothing. On SQLite every transaction holds the database's
write lock from its start (`transaction_mode` IMMEDIATE), which orders them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import ExchangeAccount

from .models import ScopeState


def _scopes(account_ids: Iterable[int] | None) -> Q:
    """The desk's row and the accounts' (None: the desk's alone)."""
    if account_ids is None:
        return Q(account__isnull=True)
    return Q(account__isnull=True) | Q(account_id__in=list(account_ids))


def scopes_ensure(*, account_ids: Iterable[int]) -> None:
    """The rows of the desk and of each account, made ACTIVE where missing: a stop and a step
    can then lock them."""
    wanted = [ScopeState(account_id=pk) for pk in account_ids] + [ScopeState(account=None)]
    ScopeState.objects.bulk_create(wanted, ignore_conflicts=True)


def stops_record(*, accounts: list[ExchangeAccount] | None, reason: str) -> None:
    """A stop on `accounts` (None: the whole desk), committed when this returns unless the
    caller's transaction holds it: call it before canceling anything."""
    ids = None if accounts is None else [account.pk for account in accounts]
    if ids == []:
        return
    with transaction.atomic():
        scopes_ensure(account_ids=ids or [])
        hit = Q(account__isnull=True) if ids is None else Q(account_id__in=ids)
        rows = ScopeState.objects.filter(hit)
        list(rows.select_for_update().order_by("pk").values_list("pk", flat=True))
        number = (ScopeState.objects.aggregate(last=Max("stop_number"))["last"] or 0) + 1
        rows.update(stop_number=number, stop_reason=reason[:255], stopped_at=timezone.now())


def stop_mark(*, account_ids: Iterable[int]) -> int:
    """The number a parent on these accounts starts with: any stop after it is higher."""
    account_ids = list(account_ids)
    scopes_ensure(account_ids=account_ids)
    return ScopeState.objects.aggregate(last=Max("stop_number"))["last"] or 0


def stop_since(*, account_ids: Iterable[int], mark: int, lock: bool = False) -> str:
    """Why the desk or one of the accounts was stopped after `mark` ("" when neither was). With
    `lock`, inside a transaction: their rows are share-locked until it ends, so no stop commits
    on them meanwhile."""
    account_ids = list(account_ids)
    rows = _rows(account_ids, lock)
    if lock and len(rows) < len(set(account_ids)) + 1:
        scopes_ensure(account_ids=account_ids)  # a row missing cannot be locked
        rows = _rows(account_ids, lock)
    for number, reason, account_id in rows:
        if number > mark:
            return f"{reason} on {_label(account_id)}"
    return ""


def _rows(account_ids: list[int], lock: bool) -> list[tuple[int, str, int | None]]:
    rows = (
        ScopeState.objects.filter(_scopes(account_ids))
        .order_by("pk")
        .values_list("stop_number", "stop_reason", "account_id")
    )
    if not lock or connection.vendor != "postgresql":
        return list(rows)
    # FOR SHARE: steps of many parents on one account hold it together; only a stop waits.
    # (Django's select_for_update offers the exclusive locks alone.)
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} FOR SHARE", params)
        return cursor.fetchall()


def _label(account_id: int | None) -> str:
    if account_id is None:
        return "the desk"
    return ExchangeAccount.objects.get(pk=account_id).exchange_id
