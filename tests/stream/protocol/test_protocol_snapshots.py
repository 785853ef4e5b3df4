"""What a /v1/ws connection is sent on open, field by field against the contract (§6.2), and
against what REST answers for the same data."""

import re
from decimal import Decimal

import pytest
import simplejson

from accounts.models import DeskMember, DeskRole
from stream import protocol
from tests.api.conftest import ApiClient
from tests.factories import (
    AccountFactory,
    BalanceFactory,
    InstrumentFactory,
    OrderFactory,
    UserFactory,
)
from tests.stream.protocol.conftest import connection

pytestmark = pytest.mark.django_db

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$")
SYMBOL_FIELDS = [
    "symbol_id_exchange", "symbol_id_coinapi", "asset_id_base_exchange",
    "asset_id_quote_exchange", "asset_id_base_coinapi", "asset_id_quote_coinapi",
    "price_precision", "size_precision",
]  # fmt: skip


def decoded(messages: list[str]) -> list[dict]:
    return [simplejson.loads(message, use_decimal=True) for message in messages]


def rest(key: str, path: str):
    return simplejson.loads(ApiClient(key).get(path).content, use_decimal=True)


def test_server_info_has_the_contracts_fields_and_the_seq_it_is_current_as_of():
    info = simplejson.loads(protocol.server_info(seq=7))
    assert list(info) == [
        "type", "time", "instance_guid", "exchange_id", "server_version", "server_name",
        "dns_name", "is_running", "time_server_start", "seq",
    ]  # fmt: skip
    assert info["type"] == "SERVER_INFO" and info["seq"] == 7
    assert TIME.match(info["time"]) and TIME.match(info["time_server_start"])
    assert info["exchange_id"] is None and info["is_running"] is True
    assert info["server_name"] == "emsweb" and info["server_version"] and info["dns_name"]


def test_the_instance_guid_stays_the_same_for_the_life_of_the_process():
    first, later = (simplejson.loads(protocol.server_info(seq=seq)) for seq in (1, 2))
    assert first["instance_guid"] == later["instance_guid"]
    assert first["time_server_start"] == later["time_server_start"]


def test_each_visible_account_gets_its_four_snapshots_in_the_contracts_order(account, trader):
    AccountFactory(exchange_id="PAPER/ALT", tag="ALT")
    AccountFactory(exchange_id="PAPER/GONE", tag="GONE", enabled=False)
    messages = decoded(protocol.snapshots(user=trader, seq=3))
    assert [(m["exchange_id"], m["type"]) for m in messages] == [
        (exchange_id, kind)
        for exchange_id in ("PAPER/ALT", "PAPER/TEST")
        for kind in (
            "ORDER_EXEC_REPORT_SNAPSHOT", "BALANCE_SNAPSHOT", "POSITION_SNAPSHOT",
            "SYMBOLS_SNAPSHOT",
        )
    ]  # fmt: skip
    assert {m["seq"] for m in messages} == {3}
    assert not any("resync" in m for m in messages)


def test_the_order_snapshot_holds_the_open_orders_exactly_as_get_orders_reports_them(
    account, trader
):
    OrderFactory(account=account, client_order_id="open-1", status="NEW")
    OrderFactory(account=account, client_order_id="open-2", status="PARTIALLY_FILLED",
                 amount_filled=Decimal("0.25"), amount_open=Decimal("0.75"))  # fmt: skip
    OrderFactory(account=account, client_order_id="done", status="FILLED")
    _, key = connection(trader)
    [orders, *_] = decoded(protocol.snapshots(user=trader, seq=0))
    assert list(orders) == ["type", "exchange_id", "data", "seq"]
    assert (orders["type"], orders["exchange_id"]) == ("ORDER_EXEC_REPORT_SNAPSHOT", "PAPER/TEST")
    assert orders["data"] == rest(key, "/v1/orders")
    assert [report["client_order_id"] for report in orders["data"]] == ["open-1", "open-2"]


def test_the_balance_snapshot_is_what_get_balances_gives_for_the_account(account, trader):
    _, key = connection(trader)
    [_, balances, *_] = decoded(protocol.snapshots(user=trader, seq=0))
    [from_rest] = rest(key, "/v1/balances")
    assert balances == {**from_rest, "seq": 0}
    assert [item["asset_id_exchange"] for item in balances["data"]] == ["BTC", "USD"]
    assert balances["data"][1]["available"] == Decimal("100000")


def test_the_position_snapshot_is_empty_as_spot_venues_hold_none(account, trader):
    [_, _, positions, _] = decoded(protocol.snapshots(user=trader, seq=0))
    assert positions == {
        "type": "POSITION_SNAPSHOT", "exchange_id": "PAPER/TEST", "data": [], "seq": 0,
    }  # fmt: skip


def test_the_symbols_snapshot_lists_the_venues_instruments_with_their_tick_and_lot(trader):
    account = AccountFactory()
    InstrumentFactory()
    InstrumentFactory(
        symbol_id_exchange="ETHUSD",
        symbol_id_coinapi="PAPER_SPOT_ETH_USD",
        base="ETH",
        tick_size=Decimal("0.01000"),
        lot_size=Decimal("0.001"),
    )
    InstrumentFactory(
        symbol_id_exchange="OLDUSD",
        symbol_id_coinapi="PAPER_SPOT_OLD_USD",
        base="OLD",
        active=False,
    )
    InstrumentFactory(venue="KRAKEN", symbol_id_exchange="XBTUSD",
                      symbol_id_coinapi="KRAKEN_SPOT_BTC_USD")  # fmt: skip
    BalanceFactory(account=account, asset_id_exchange="XETH", asset_id_coinapi="ETH")
    [*_, symbols] = decoded(protocol.snapshots(user=trader, seq=0))
    assert symbols["type"] == "SYMBOLS_SNAPSHOT" and symbols["exchange_id"] == "PAPER/TEST"
    assert [list(item) for item in symbols["data"]] == [SYMBOL_FIELDS, SYMBOL_FIELDS]
    btc, eth = symbols["data"]
    assert btc == {
        "symbol_id_exchange": "BTCUSD", "symbol_id_coinapi": "PAPER_SPOT_BTC_USD",
        "asset_id_base_exchange": "BTC", "asset_id_quote_exchange": "USD",
        "asset_id_base_coinapi": "BTC", "asset_id_quote_coinapi": "USD",
        "price_precision": Decimal("0.1"), "size_precision": Decimal("0.0001"),
    }  # fmt: skip
    # The venue's own code of an asset, where the account's balances map it.
    assert (eth["asset_id_base_exchange"], eth["asset_id_base_coinapi"]) == ("XETH", "ETH")
    assert (eth["price_precision"], eth["size_precision"]) == (Decimal("0.01"), Decimal("0.001"))


def test_precisions_are_json_numbers_with_their_own_digits(account, trader):
    [*_, symbols] = protocol.snapshots(user=trader, seq=0)
    assert '"price_precision": 0.1,' in symbols and '"size_precision": 0.0001}' in symbols


def test_a_resync_marks_every_snapshot(account, trader):
    messages = decoded(protocol.snapshots(user=trader, seq=42, resync=True))
    assert len(messages) == 4
    assert all(m["resync"] is True and m["seq"] == 42 for m in messages)


def test_a_viewer_sees_the_desks_snapshots_like_rest_shows_them(account):
    viewer = UserFactory(username="vic")
    DeskMember.objects.create(user=viewer, role=DeskRole.VIEWER)
    OrderFactory(account=account, status="NEW")
    [orders, *_] = decoded(protocol.snapshots(user=viewer, seq=0))
    assert len(orders["data"]) == 1


def test_an_inactive_user_gets_no_snapshots(account, trader):
    trader.is_active = False
    assert protocol.snapshots(user=trader, seq=0) == []
