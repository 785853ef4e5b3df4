"""A parent's start, change, pause, resume and cancel are audited under actions of their own,
whichever door asked; the admin site shows parents with their slices and steers them through the
same services."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import AuditEvent
from algos.models import ParentOrder, ParentSlice
from algos.services import parent_cancel, parent_pause, parent_resume, parent_update
from stream.models import StreamEvent
from tests.algos.conftest import linked, step, twap


def test_each_control_of_a_parent_is_audited_under_its_own_action(account, admin_user):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start, user=admin_user)
    parent_update(parent=parent, changes={"amount": Decimal(2)}, user=admin_user, ip="10.0.0.1")
    parent_pause(parent=parent, user=admin_user, ip="10.0.0.1")
    parent_resume(parent=parent, user=admin_user, ip="10.0.0.1")
    parent_cancel(parent=parent, user=admin_user, ip="10.0.0.1")

    entries = AuditEvent.objects.filter(target=f"algo {parent.pk}").order_by("id")
    assert list(entries.values_list("action", flat=True)) == [
        "ALGO_START",
        "ALGO_CHANGE",
        "ALGO_PAUSE",
        "ALGO_RESUME",
        "ALGO_CANCEL",
    ]
    assert {(entry.actor, entry.ip) for entry in entries[1:]} == {(admin_user, "10.0.0.1")}
    assert entries[1].detail["amount"] == "2"
    assert not AuditEvent.objects.filter(action__in=["ORDER_PLACED", "TRADING_STATE"]).exists()


def test_the_admin_shows_a_parent_with_its_slices(account, admin_client):
    start = timezone.now()
    parent = twap([account], amount="1", duration=120, interval=30, now=start)
    step(parent, start)
    listing = admin_client.get("/admin/algos/parentorder/").content.decode()
    assert f"/admin/algos/parentorder/{parent.pk}/change/" in listing
    page = admin_client.get(f"/admin/algos/parentorder/{parent.pk}/change/").content.decode()
    slice_row = ParentSlice.objects.get(parent=parent)
    assert slice_row.order.client_order_id in page
    assert 'name="_save"' not in page  # read-only: no save button


def test_the_admins_actions_go_through_the_services_with_their_audit(
    account, admin_client, admin_user
):
    start = timezone.now()
    parents = [twap([account], amount="1", duration=120, interval=30, now=start) for _ in range(2)]
    ids = [parent.pk for parent in parents]

    admin_client.post("/admin/algos/parentorder/", {"action": "pause", "_selected_action": ids})
    assert set(ParentOrder.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "Paused"
    }
    admin_client.post("/admin/algos/parentorder/", {"action": "resume", "_selected_action": ids})
    admin_client.post("/admin/algos/parentorder/", {"action": "cancel", "_selected_action": ids})
    assert set(ParentOrder.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        "Cancelled"
    }
    actions = AuditEvent.objects.filter(actor=admin_user, action__startswith="ALGO_")
    assert sorted(actions.values_list("action", flat=True)) == sorted(
        ["ALGO_PAUSE", "ALGO_RESUME", "ALGO_CANCEL"] * 2
    )
    assert set(actions.values_list("ip", flat=True)) == {"127.0.0.1"}

    answer = admin_client.post(
        "/admin/algos/parentorder/", {"action": "pause", "_selected_action": ids}, follow=True
    )
    assert "it cannot become Paused" in answer.content.decode()


def test_a_parent_on_two_accounts_tells_each_change_once_on_the_stream(account):
    other = linked("PAPER/OTHER")
    start = timezone.now()
    parent = twap([account, other], amount="1", duration=120, interval=30, now=start)
    parent_pause(parent=parent, now=start + timedelta(seconds=1))
    events = StreamEvent.objects.filter(kind="parent", ref_id=parent.pk)
    assert events.count() == 2  # Running, Paused: once each, not once per account
    assert set(events.values_list("account_id", flat=True)) == {min(account.pk, other.pk)}
