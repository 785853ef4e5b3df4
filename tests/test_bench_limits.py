"""`python -m bench --risk-limits`: every limit on every scope the bench trades in, set through
risk.services, and none of them refuses an order the bench submits. (That the option reaches
a whole run: tests/test_bench_run.py.)"""

import pytest

from accounts.models import DeskRole
from accounts.services import account_link
from bench import fixtures, limits
from orders.instruments import instruments_refresh
from orders.quotes import quotes_refresh
from orders.sync import account_sync
from risk.models import DESK, RiskUsage, account_scope, trader_scope
from risk.rules import LIMIT_FIELDS, desk_rules

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(redis_broker):
    """A bench account as the bench's stack leaves it: linked, its balances (and their USD
    rates) read, the paper quotes stored."""
    instruments_refresh(venue="PAPER")
    account, _ = account_link(exchange_id=f"{fixtures.PREFIX}LIMITS", parameters={})
    account_sync(account_id=account.pk)
    quotes_refresh(venue="PAPER")
    yield account
    redis_broker.delete("emsweb:quotes:PAPER")


@pytest.fixture
def trader(db):
    return fixtures.desk_user("bench-trader-limits", DeskRole.TRADER)


@pytest.fixture
def every_scope_limited(account, trader):
    limits.limits_set()
    limits.limits_set(account=account)
    limits.limits_set(user=trader)


def test_every_limit_is_set_on_the_desk_the_account_and_the_trader(
    account, trader, every_scope_limited
):
    rules = desk_rules()
    for scope in (DESK, account_scope(account.pk), trader_scope(trader.pk)):
        unset = [
            name for name in LIMIT_FIELDS if getattr(rules.limits[scope], name) in (None, set())
        ]
        # An empty denied list: every paper instrument is one the bench trades.
        assert unset == ["denied_instruments"], scope
        allowed = rules.limits[scope].allowed_instruments
        assert allowed == {"PAPER_SPOT_BTC_USD", "PAPER_SPOT_ETH_USD", "PAPER_SPOT_OXT_USD",
                           "PAPER_SPOT_USD_JPY"}  # fmt: skip


def test_every_order_the_bench_submits_passes_and_counts_in_each_scope(
    account, trader, every_scope_limited
):
    for n in range(len(fixtures.RESTING)):
        fixtures.submit(account, f"limits-{n}", n, trader)
    for n in range(len(fixtures.RESTING)):
        fixtures.submit(account, f"limits-ioc-{n}", n, trader, "IMMEDIATE_OR_CANCEL")
    usage = dict(RiskUsage.objects.values_list("scope", "orders"))
    orders = 2 * len(fixtures.RESTING)
    assert usage == {
        DESK: orders,
        account_scope(account.pk): orders,
        trader_scope(trader.pk): orders,
    }


def test_a_run_without_the_option_starts_from_a_desk_without_limits(every_scope_limited):
    assert limits.limits_clear() == 3
    assert desk_rules().limits == {}
