"""Linking an account tests its key in a worker (a balance read) and records what it may do;
a key that can withdraw is flagged where the exchange tells."""

from __future__ import annotations

import pytest

from accounts import services
from accounts.models import ExchangeAccount
from accounts.services import account_key_check, account_link
from tests.venues.scripts.binance import Binance
from tests.venues.scripts.binance_usdm import BinanceFts
from tests.venues.scripts.bybit import Bybit
from tests.venues.scripts.coinbase_advanced import CoinbaseAdvanced
from tests.venues.scripts.gemini import Gemini
from tests.venues.scripts.kraken import Kraken
from tests.venues.scripts.okx import Okx

pytestmark = pytest.mark.django_db


def link(script, fake):
    script.markets(fake)
    account, _ = account_link(exchange_id=f"{script.code}/KEYS", parameters=script.credentials)
    return account


def recorded(account) -> ExchangeAccount:
    return ExchangeAccount.objects.get(pk=account.pk)


@pytest.mark.fault(25, "a linked key that can withdraw")
def test_a_key_that_can_withdraw_is_flagged(fake):
    script = Binance()
    account = link(script, fake)
    script.balance(fake)
    fake.on("GET", "/sapi/v1/account/apiRestrictions", {
        "ipRestrict": False, "createTime": 1795400000000, "enableReading": True,
        "enableWithdrawals": True, "enableInternalTransfer": True, "enableMargin": False,
        "enableFutures": False, "permitsUniversalTransfer": True, "enableVanillaOptions": False,
        "enableFixApiTrade": False, "enableFixReadOnly": False,
        "enableSpotAndMarginTrading": True, "enablePortfolioMarginTrading": False,
    })  # fmt: skip

    check = account_key_check(account_id=account.pk)

    account = recorded(account)
    assert check.ok and account.key_checked_at is not None and account.key_check_error == ""
    assert (account.key_can_trade, account.key_can_withdraw) == (True, True)
    assert "can withdraw" in account.key_check_note


@pytest.mark.parametrize(
    ("script_class", "path", "method", "answer", "expected"),
    [
        (
            CoinbaseAdvanced,
            "/api/v3/brokerage/key_permissions",
            "GET",
            {"can_view": True, "can_trade": True, "can_transfer": False,
             "portfolio_uuid": "p-1", "portfolio_type": "DEFAULT"},
            (True, False),
        ),
        (
            Gemini,
            "/v1/roles",
            "POST",
            {"isAuditor": False, "isFundManager": False, "isTrader": True},
            (True, False),
        ),
        (
            BinanceFts,
            "/sapi/v1/account/apiRestrictions",
            "GET",
            {"ipRestrict": True, "createTime": 1795400000000, "enableReading": True,
             "enableWithdrawals": False, "enableInternalTransfer": False, "enableMargin": False,
             "enableFutures": True, "permitsUniversalTransfer": False,
             "enableVanillaOptions": False, "enableFixApiTrade": False,
             "enableFixReadOnly": False, "enableSpotAndMarginTrading": False,
             "enablePortfolioMarginTrading": False},
            (True, False),
        ),
        (
            Bybit,
            "/v5/user/query-api",
            "GET",
            {"retCode": 0, "retMsg": "", "result": {
                "id": "13770661", "note": "emsweb", "apiKey": "XXXXXXXXXXd9Y5WuyS",
                "readOnly": 0, "secret": "",
                "permissions": {"ContractTrade": ["Order", "Position"], "Spot": [],
                                "Wallet": ["AccountTransfer"], "Options": [],
                                "Derivatives": [], "CopyTrading": [], "BlockTrade": [],
                                "Exchange": [], "NFT": [], "Affiliate": []},
                "ips": ["203.0.113.7"], "type": 1, "deadlineDay": -1, "unified": 0, "uta": 1,
                "userID": 24617703, "isMaster": True},
             "retExtInfo": {}, "time": 1795400000000},
            (True, False),
        ),
        (
            Okx,
            "/api/v5/account/config",
            "GET",
            {"code": "0", "msg": "", "data": [{
                "acctLv": "2", "autoLoan": False, "ctIsoMode": "automatic", "greeksType": "PA",
                "level": "Lv1", "levelTmp": "", "mgnIsoMode": "automatic", "posMode": "net_mode",
                "uid": "44705892343619584", "mainUid": "44705892343619584", "label": "emsweb",
                "roleType": "0", "traderInsts": [], "spotRoleType": "0", "spotTraderInsts": [],
                "opAuth": "0", "kycLv": "3", "ip": "203.0.113.7", "perm": "read_only,trade",
                "liquidationGear": "-1", "enableSpotBorrow": False, "spotBorrowAutoRepay": False,
                "type": "0"}]},
            (True, False),
        ),
        (
            Okx,
            "/api/v5/account/config",
            "GET",
            {"code": "0", "msg": "", "data": [{"uid": "44705892343619584", "label": "all",
                                               "perm": "read_only,withdraw,trade"}]},
            (True, True),
        ),
    ],
    ids=["COINBASEADV", "GEMINI", "BINANCEFTS", "BYBIT", "OKX", "OKX-withdraw"],
)  # fmt: skip
def test_a_keys_permissions_are_recorded_as_the_exchange_says(
    fake, script_class, path, method, answer, expected
):
    script = script_class()
    account = link(script, fake)
    script.balance(fake)
    fake.on(method, path, answer)
    account_key_check(account_id=account.pk)
    account = recorded(account)
    assert (account.key_can_trade, account.key_can_withdraw) == expected
    assert account.key_check_error == ""


def test_where_the_exchange_does_not_say_the_flags_stay_unknown(fake):
    script = Kraken()
    account = link(script, fake)
    script.balance(fake)
    account_key_check(account_id=account.pk)
    account = recorded(account)
    assert (account.key_can_trade, account.key_can_withdraw) == (None, None)
    assert "does not say whether it can withdraw" in account.key_check_note


def test_a_key_that_does_not_work_is_recorded_with_the_exchanges_words(fake):
    script = Kraken()
    account = link(script, fake)
    fake.on("POST", "/0/private/BalanceEx", {"error": ["EAPI:Invalid key"]})
    check = account_key_check(account_id=account.pk)
    account = recorded(account)
    assert not check.ok
    assert "EAPI:Invalid key" in account.key_check_error
    for secret in script.secrets:
        assert secret not in account.key_check_error


def test_a_paper_account_is_checked_by_a_balance_read():
    account, _ = account_link(exchange_id="PAPER/KEYS", parameters={})
    assert account_key_check(account_id=account.pk).ok
    assert recorded(account).key_check_error == ""


def test_linking_queues_the_key_check_after_the_first_sync(monkeypatch):
    from accounts import tasks as account_tasks
    from orders import tasks

    queued = []
    monkeypatch.setattr(tasks.sync_account, "delay", lambda pk: queued.append(("sync", pk)))
    monkeypatch.setattr(
        account_tasks.check_account_key, "delay", lambda pk: queued.append(("key", pk))
    )
    account, _ = account_link(exchange_id="PAPER/KEYS", parameters={})
    services._queue_first_sync(account)
    assert queued == [("sync", account.pk), ("key", account.pk)]
