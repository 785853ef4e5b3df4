from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from algos.models import ParentSlice
from algos.schedule import target
from algos.selectors import children, parent_progress
from tests.algos.conftest import step, twap
from venues.base import OrdStatus
from venues.paper import engine


def iceberg(account, *, amount="1", display="0.2", price="49000", side="BUY"):
    return twap(
        [account],
        algorithm="ICEBERG",
        amount=amount,
        duration=0,
        interval=0,
        side=side,
        limit_price=Decimal(price),
        display_amount=Decimal(display),
    )


def test_an_iceberg_shows_only_its_visible_part_and_refills_once_it_fills(account):
    parent = iceberg(account, price="49000")
    now = timezone.now()
    step(parent, now)
    resting = children(parent).get()
    assert (resting.amount_order, resting.price, resting.status) == (
        Decimal("0.2"),
        Decimal(49000),
        OrdStatus.NEW,
    )
    step(parent, now + timedelta(seconds=5))
    assert children(parent).count() == 1  # still working: no second part

    engine.market_set_mid("BTCUSD", Decimal(48900))  # the market trades through 49,000
    for second in range(10, 70, 5):
        step(parent, now + timedelta(seconds=second))
    assert parent_progress(parent).filled == Decimal(1)
    assert list(children(parent).values_list("amount_order", flat=True)) == [Decimal("0.2")] * 5
    assert parent.status == "Completed"


def test_an_iceberg_at_a_marketable_price_fills_part_after_part(account):
    parent = iceberg(account, amount="0.5", display="0.2", price="50100")
    now = timezone.now()
    for second in range(0, 10):
        step(parent, now + timedelta(seconds=second))
    amounts = [c.amount_order for c in children(parent).order_by("pk")]
    assert amounts == [Decimal("0.2"), Decimal("0.2"), Decimal("0.1")]
    assert parent.status == "Completed"


def test_a_vwap_plans_its_slices_by_the_volume_profile_within_its_participation(account):
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    profile = [Decimal(1)] * 60
    profile[1] = Decimal(3)  # minute :01 trades three times as much
    parent = twap(
        [account],
        algorithm="VWAP",
        amount="0.6",
        duration=180,
        interval=60,
        now=start,
        profile=tuple(profile),
    )
    assert [target(parent, n) for n in range(3)] == [
        Decimal("0.12"),
        Decimal("0.48"),
        Decimal("0.6"),
    ]
    for minute in range(4):
        step(parent, start + timedelta(minutes=minute))
    amounts = list(ParentSlice.objects.filter(parent=parent).values_list("amount", flat=True))
    assert amounts == [Decimal("0.12"), Decimal("0.36"), Decimal("0.12")]


def test_a_vwap_slice_is_capped_at_its_participation_of_the_expected_volume(account):
    start = timezone.now().replace(minute=0, second=0, microsecond=0)
    parent = twap(
        [account],
        algorithm="VWAP",
        amount="0.6",
        duration=120,
        interval=60,
        now=start,
        profile=tuple([Decimal(1)] * 60),
        participation=Decimal("0.1"),
    )
    step(parent, start)
    assert ParentSlice.objects.get(parent=parent, number=0).amount == Decimal("0.1")


def test_a_vwap_reads_its_profile_from_the_venues_candles(account):
    parent = twap([account], algorithm="VWAP", amount="0.1", duration=120, interval=60)
    assert len(parent.profile) in (0, 60)
