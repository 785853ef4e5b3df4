"""What a change of the risk controls writes to the stream, in its own transaction: one account
event per account it bears on, whose SERVER_INFO (a message /v1/ws clients know) tells the
account's trading state in force as emsweb's `trading`; a desk-wide change, one for every
account. Open risk pages are pushed from these."""

import json
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from risk.models import RiskLimits, TradingState
from risk.services import (
    risk_limits_delete,
    trading_halt,
    trading_resume,
    trading_state_set,
)
from stream.models import EventKind, StreamEvent
from stream.sequencer import sequence_pending
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def other(account):
    return AccountFactory(exchange_id="PAPER/OTHER", tag="OTHER")


def trading() -> dict[str, str]:
    """exchange_id -> `trading` of each event the sequencer hands out now (all SERVER_INFO)."""
    found = {}
    for event in sequence_pending():
        message = json.loads(event.message)
        assert (event.kind, message["type"]) == (EventKind.ACCOUNT, "SERVER_INFO")
        found[message["exchange_id"]] = message["trading"]
    return found


def test_halting_an_account_is_its_server_info_saying_halted_and_no_other_accounts(
    account, other, desk_admin
):
    sequence_pending()
    trading_halt(accounts=[account], user=desk_admin, reason="venue incident")
    (event,) = sequence_pending()
    assert event.account_id == account.pk
    assert json.loads(event.message) == {
        "seq": event.seq,
        "type": "SERVER_INFO",
        "exchange_id": "PAPER/TEST",
        "is_running": False,
        "connection": "NOT_SYNCED",
        "error": None,
        "alert": None,
        "trading": "HALTED",
    }


def test_a_desk_wide_change_is_an_event_for_every_account_with_the_state_each_trades_under(
    account, other, desk_admin
):
    trading_halt(accounts=[other], user=desk_admin)
    assert trading() == {"PAPER/OTHER": "HALTED"}

    trading_state_set(state=TradingState.REDUCING, user=desk_admin)
    # The stricter of the desk's state and the account's own.
    assert trading() == {"PAPER/TEST": "REDUCING", "PAPER/OTHER": "HALTED"}

    trading_halt(user=desk_admin, reason="Kill switch")
    assert trading() == {"PAPER/TEST": "HALTED", "PAPER/OTHER": "HALTED"}

    trading_resume(user=desk_admin)
    assert trading() == {"PAPER/TEST": "ACTIVE", "PAPER/OTHER": "HALTED"}
    trading_resume(user=desk_admin, account=other)
    assert trading() == {"PAPER/OTHER": "ACTIVE"}


def test_a_limit_edit_is_an_event_for_the_accounts_it_bears_on(
    account, other, trader, set_limits, desk_admin
):
    sequence_pending()
    set_limits(account=account, max_working_orders=3)
    assert trading() == {"PAPER/TEST": "ACTIVE"}
    set_limits(max_daily_notional_usd=Decimal("100000"))
    assert trading() == {"PAPER/TEST": "ACTIVE", "PAPER/OTHER": "ACTIVE"}
    # A trader's limits bear on their orders on any account.
    set_limits(user=trader, max_orders_per_minute=10)
    assert trading() == {"PAPER/TEST": "ACTIVE", "PAPER/OTHER": "ACTIVE"}

    risk_limits_delete(limits=RiskLimits.objects.get(account=account), user=desk_admin)
    assert trading() == {"PAPER/TEST": "ACTIVE"}


def test_a_refused_change_writes_no_event(account, trader):
    sequence_pending()
    with pytest.raises(PermissionDenied):
        trading_resume(user=trader, account=account)
    assert not StreamEvent.objects.filter(seq__isnull=True).exists()
