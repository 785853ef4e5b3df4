"""What the Algo pages show: a parent's progress against its schedule, its children, its chart."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from accounts.selectors import accounts_tradable
from orders.models import Order

from .models import ParentOrder, ParentSlice
from .schedule import slot_time, target
from .selectors import children, parent_fills, parent_progress, parents_visible

LISTED = 50  # the newest parents a list shows


@dataclass(frozen=True)
class ParentRow:
    parent: ParentOrder
    filled: Decimal
    working: Decimal
    scheduled: Decimal  # what the plan wanted done by now
    children: list[Order]
    may_control: bool

    @property
    def filled_percent(self) -> int:
        return int(self.filled / self.parent.amount * 100)

    @property
    def scheduled_percent(self) -> int:
        return int(min(self.scheduled, self.parent.amount) / self.parent.amount * 100)


def scheduled_by_now(parent: ParentOrder) -> Decimal:
    if parent.algorithm == "ICEBERG":
        return parent.amount
    last = ParentSlice.objects.filter(parent=parent).order_by("-number").first()
    return last.target if last is not None else Decimal(0)


def parents_context(*, user) -> dict:
    """The parents' part of the Algo page and of the blotter: the newest the user may see."""
    parents = parents_visible(user=user).order_by("-created_at")[:LISTED]
    return {"rows": parent_rows(user=user, parents=parents)}


def parent_rows(*, user, parents) -> list[ParentRow]:
    tradable = set(accounts_tradable(user=user).values_list("pk", flat=True))
    rows = []
    for parent in parents:
        progress = parent_progress(parent)
        accounts = set(parent.accounts.values_list("pk", flat=True))
        rows.append(
            ParentRow(
                parent=parent,
                filled=progress.filled,
                working=progress.working,
                scheduled=scheduled_by_now(parent),
                children=list(children(parent).select_related("account").order_by("created_at")),
                may_control=accounts <= tradable,
            )
        )
    return rows


def chart_data(parent: ParentOrder) -> dict:
    """uPlot's series, times in epoch seconds: the schedule's cumulative target at each slice
    time, and the cumulative filled amount at each fill."""
    if parent.algorithm == "ICEBERG":
        plan = []
    else:
        plan = [
            [slot_time(parent, n).timestamp(), float(target(parent, n))]
            for n in range(parent.slice_count)
        ]
    filled, points = Decimal(0), []
    for fill in parent_fills(parent):
        filled += fill.amount
        points.append([fill.time.timestamp(), float(filled)])
    return {"schedule": plan, "filled": points, "now": timezone.now().timestamp()}
