"""Trading states: the kill switch halts as well as cancels (a trader's: their accounts; a desk
admin's: the desk), only a desk admin resumes, and HALTED is in the database, so it holds
after every process and Redis start again."""

import pytest
import redis
from django.core.exceptions import PermissionDenied
from django.db.models import Q

from accounts.models import AuditEvent
from emsweb.redis import redis_client
from orders.models import Order
from orders.services import OrderInvalid, order_route, order_submit, orders_kill_switch
from orders.sync import account_sync
from risk.models import ScopeState, TradingState
from risk.rules import RULES_KEY, _encode, _load, desk_rules, rules_for, trading_halted
from risk.services import trading_halt, trading_resume, trading_state_set
from tests.factories import AccountFactory, OrderFactory
from venues.base import OrdStatus as S
from venues.paper.models import PaperRequest

from .conftest import ticket

pytestmark = pytest.mark.django_db


def submit(account, user, client_order_id: str) -> Order:
    return order_submit(account=account, ticket=ticket(client_order_id), user=user)


def states() -> dict[str, str]:
    return {row.scope_label: row.state for row in ScopeState.objects.exclude(state="ACTIVE")}


def test_a_traders_kill_switch_halts_and_cancels_their_accounts_only(account, trader):
    other = AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")
    working = OrderFactory(account=account, status=S.NEW)
    assert orders_kill_switch(accounts=[account], user=trader) == 1
    assert Order.objects.get(pk=working.pk).status == S.PENDING_CANCEL
    assert states() == {"account PAPER/TEST": TradingState.HALTED}
    with pytest.raises(OrderInvalid, match="Trading is halted on account PAPER/TEST"):
        submit(account, trader, "after-kill")
    assert rules_for(account_id=other.pk, user_id=None).states == ()

    halted = AuditEvent.objects.get(action="TRADING_STATE")
    assert (halted.actor, halted.target, halted.detail) == (
        trader, "PAPER/TEST", {"state": "HALTED", "was": "ACTIVE", "reason": "Kill switch"},
    )  # fmt: skip


def test_a_desk_admins_kill_switch_halts_the_whole_desk(account, desk_admin):
    other = AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")
    orders_kill_switch(accounts=[account], user=desk_admin)
    assert states() == {"the desk": TradingState.HALTED}
    assert trading_halted(account_id=other.pk) == "Trading is halted on the desk."


def test_only_a_desk_admin_resumes_and_the_resume_is_audited(account, trader, desk_admin):
    orders_kill_switch(accounts=[account], user=trader)
    for state in (TradingState.ACTIVE, TradingState.REDUCING):
        with pytest.raises(PermissionDenied):
            trading_state_set(state=state, account=account, user=trader)
    with pytest.raises(PermissionDenied):
        trading_resume(account=account, user=None)  # the shell names the admin who resumes
    assert states() == {"account PAPER/TEST": TradingState.HALTED}

    trading_resume(account=account, user=desk_admin, ip="192.0.2.7")
    assert states() == {}
    assert submit(account, trader, "after-resume").status == S.RECEIVED
    resumed = AuditEvent.objects.filter(action="TRADING_STATE").latest("id")
    assert (resumed.actor, resumed.target, resumed.ip, resumed.detail["was"]) == (
        desk_admin, "PAPER/TEST", "192.0.2.7", "HALTED",
    )  # fmt: skip


def test_a_halt_holds_after_redis_and_every_process_start_again(account, desk_admin):
    orders_kill_switch(accounts=[account], user=desk_admin)
    redis_client().flushdb()  # Redis restarted empty
    redis_client.cache_clear()  # a new process: no client, nothing remembered
    assert trading_halted(account_id=account.pk) == "Trading is halted on the desk."
    with pytest.raises(OrderInvalid, match="Trading is halted on the desk"):
        submit(account, desk_admin, "after-restart")


def test_an_order_accepted_just_before_a_halt_is_not_sent(account, desk_admin):
    account_sync(account_id=account.pk)  # reconciled: routing would send at once
    order = submit(account, desk_admin, "just-before")
    trading_halt(user=desk_admin)  # a halt the kill switch's cancels did not see it in
    order_route(order_id=order.pk)
    order.refresh_from_db()
    assert (order.status, order.error_message) == (
        S.REJECTED, "Not sent: Trading is halted on the desk.",
    )  # fmt: skip
    assert not PaperRequest.objects.filter(kind="SUBMIT").exists()


def test_rules_read_before_a_change_are_never_taken_after_it(account, desk_admin):
    desk_rules()  # a copy made, ACTIVE
    client = redis_client()
    version = client.hget(RULES_KEY, "version") or b"0"
    before = _load()
    trading_halt(user=desk_admin)
    # A process that read the database before the halt writes its copy after it.
    client.hset(RULES_KEY, mapping={"rules": _encode(before), "rules_version": version})
    assert trading_halted(account_id=account.pk) == "Trading is halted on the desk."


def test_a_state_change_without_redis_still_reads_from_the_database(
    account, desk_admin, monkeypatch
):
    class Down:
        def __getattr__(self, name):
            raise redis.ConnectionError("Redis is down")

    monkeypatch.setattr("risk.rules.redis_client", lambda: Down())
    trading_halt(accounts=[account], user=desk_admin)
    assert trading_halted(account_id=account.pk) == "Trading is halted on account PAPER/TEST."
    assert ScopeState.objects.filter(Q(account=account), state="HALTED").exists()
