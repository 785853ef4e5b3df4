import pytest

from tests.paper.helpers import ACCOUNT_KEY, intent
from venues.base import OrderRef, OrdStatus
from venues.errors import OutcomeUnknown, Rejected, Unreachable
from venues.paper import adapter, engine
from venues.paper.models import Fault, PaperOrder, PaperRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def sleeps(monkeypatch) -> list[float]:
    """The seconds the adapter sleeps, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(adapter.time, "sleep", slept.append)
    return slept


def test_an_unreachable_exchange_fails_every_call_and_changes_nothing(venue):
    resting = venue.submit(intent())
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.UNREACHABLE)

    calls = [
        lambda: venue.submit(intent()),
        lambda: venue.cancel(OrderRef("BTCUSD", client_order_id=resting.client_order_id)),
        venue.cancel_all,
        lambda: venue.lookup(resting.client_order_id, "BTCUSD"),
        venue.open_orders,
        lambda: venue.fills_since(None),
        venue.balances,
        venue.instruments,
    ]
    for call in calls:
        with pytest.raises(Unreachable, match="Exchange is unreachable."):
            call()

    assert list(PaperOrder.objects.values_list("status", flat=True)) == ["NEW"]


def test_a_timeout_before_accept_records_nothing(venue, sleeps):
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.TIMEOUT_BEFORE_ACCEPT, fault_delay_ms=0)
    sent = intent()

    with pytest.raises(OutcomeUnknown):
        venue.submit(sent)

    assert venue.lookup(sent.client_order_id, "BTCUSD") is None
    assert not PaperOrder.objects.exists()


def test_a_timeout_before_accept_leaves_the_order_to_cancel_live(venue, sleeps):
    placed = venue.submit(intent())
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.TIMEOUT_BEFORE_ACCEPT, fault_delay_ms=0)

    with pytest.raises(OutcomeUnknown):
        venue.cancel(OrderRef("BTCUSD", client_order_id=placed.client_order_id))

    assert venue.lookup(placed.client_order_id, "BTCUSD").status == OrdStatus.NEW


def test_a_timeout_after_accept_records_the_order_though_the_caller_never_hears(venue, sleeps):
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.TIMEOUT_AFTER_ACCEPT, fault_delay_ms=0)
    sent = intent()

    with pytest.raises(OutcomeUnknown):
        venue.submit(sent)

    assert venue.lookup(sent.client_order_id, "BTCUSD").status == OrdStatus.NEW
    with pytest.raises(OutcomeUnknown):
        venue.cancel(OrderRef("BTCUSD", client_order_id=sent.client_order_id))
    assert venue.lookup(sent.client_order_id, "BTCUSD").status == OrdStatus.CANCELED


def test_a_timeout_after_accept_hides_a_rejection_too(venue, sleeps):
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.TIMEOUT_AFTER_ACCEPT, fault_delay_ms=0)

    with pytest.raises(OutcomeUnknown):
        venue.submit(intent(amount="100"))

    assert not PaperOrder.objects.exists()


def test_a_timeout_waits_the_fault_delay_before_raising(venue, sleeps):
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.TIMEOUT_AFTER_ACCEPT, fault_delay_ms=1500)

    with pytest.raises(OutcomeUnknown):
        venue.submit(intent())

    assert sleeps == [1.5]


def test_reads_answer_normally_under_a_timeout_fault(venue, sleeps):
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.TIMEOUT_BEFORE_ACCEPT, fault_delay_ms=0)

    assert venue.open_orders() == []
    assert len(venue.balances()) == 6  # BTC, ETH, JPY, OXT, USD, USDT
    assert sleeps == []


def test_latency_is_waited_before_every_request(venue, sleeps):
    engine.set_knobs(ACCOUNT_KEY, latency_ms=250)

    venue.submit(intent())
    venue.open_orders()

    assert sleeps == [0.25, 0.25]


def test_clearing_the_fault_makes_the_exchange_answer_again(venue):
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.UNREACHABLE)
    engine.set_knobs(ACCOUNT_KEY, fault=Fault.NONE)

    assert venue.submit(intent()).status == OrdStatus.NEW


def test_unknown_knobs_and_faults_are_refused():
    with pytest.raises(TypeError):
        engine.set_knobs(ACCOUNT_KEY, jitter_ms=5)
    with pytest.raises(ValueError):
        engine.set_knobs(ACCOUNT_KEY, fault="SLOW")


def test_a_rejection_is_raised_as_is_without_a_fault(venue):
    with pytest.raises(Rejected):
        venue.submit(intent(amount="100"))


def test_the_request_log_holds_each_request_the_exchange_received_once_knobs_or_not(venue, sleeps):
    received = [venue.submit(intent()).client_order_id]  # no knob: logged with the account read
    engine.set_knobs(ACCOUNT_KEY, latency_ms=50)
    received.append(venue.submit(intent()).client_order_id)
    engine.set_knobs(ACCOUNT_KEY, latency_ms=0, fault=Fault.TIMEOUT_AFTER_ACCEPT, fault_delay_ms=0)
    late = intent()
    with pytest.raises(OutcomeUnknown):
        venue.submit(late)
    received.append(late.client_order_id)
    for fault in (Fault.TIMEOUT_BEFORE_ACCEPT, Fault.UNREACHABLE):
        engine.set_knobs(ACCOUNT_KEY, fault=fault)
        with pytest.raises((OutcomeUnknown, Unreachable)):
            venue.submit(intent())

    log = PaperRequest.objects.order_by("id")
    assert list(log.values_list("kind", "client_order_id")) == [("SUBMIT", c) for c in received]
    assert {request.account.account_key for request in log} == {ACCOUNT_KEY}
