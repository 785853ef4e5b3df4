"""The schedule's arithmetic, pure: when a slice is due and how much should be done by it.

The plan is cumulative: slice n wants `target(n)` done in all, and a child asks for what is
still missing. So a missed slice, one merged for being below the venue's minimum, or a child
that filled short all move to the next slice number on their own (the catch-up), and a change
of amount or end time applies from the next slice.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

from .models import Algorithm, ParentOrder


def unit_random(parent_id: int, number: int, salt: str) -> Decimal:
    """A number in [0, 1) fixed by the parent, the slice and `salt`: a replayed schedule
    draws the same jitter."""
    digest = hashlib.sha256(f"{parent_id}:{number}:{salt}".encode()).digest()
    return Decimal(int.from_bytes(digest[:6], "big")) / Decimal(2**48)


def scheduled_at(parent: ParentOrder, number: int, base: datetime) -> datetime:
    """When slice `number` is due, given `base`, the un-jittered time of that slot: time
    jitter only ever delays, by up to half the jitter fraction of an interval, so slices keep
    their order."""
    if not parent.jitter:
        return base
    delay = parent.jitter / 2 * unit_random(parent.pk, number, "time") * parent.interval_seconds
    return base + timedelta(seconds=float(delay))


def slices_total(parent: ParentOrder) -> int:
    return parent.slice_count


def weights(parent: ParentOrder, total: int) -> list[Decimal]:
    """Each slice's share of the plan: equal for TWAP, by the volume profile for VWAP."""
    if parent.algorithm != Algorithm.VWAP or not parent.profile:
        return [Decimal(1)] * total
    profile = [Decimal(str(volume)) for volume in parent.profile]
    # A quiet minute still gets a little: no slice is planned at nothing.
    floor = sum(profile, Decimal(0)) / len(profile) / 100 or Decimal(1)
    shares = []
    for number in range(total):
        minute = parent.start_at + timedelta(seconds=number * parent.interval_seconds)
        shares.append(max(profile[minute.minute % len(profile)], floor))
    return shares


def target(parent: ParentOrder, number: int) -> Decimal:
    """What the plan wants done once slice `number` is sent: from the plan's restart point
    (`plan_slice`, `plan_done`) to the whole amount at the last slice, by the slices' weights,
    with size jitter on all but the last."""
    total = slices_total(parent)
    if number >= total - 1:
        return parent.amount
    shares = weights(parent, total)
    start = min(parent.plan_slice, total - 1)
    left = sum(shares[start:], Decimal(0))
    through = sum(shares[start : number + 1], Decimal(0))
    remaining = parent.amount - parent.plan_done
    planned = parent.plan_done + remaining * through / left
    if parent.jitter:
        one_slice = remaining * shares[number] / left
        swing = (unit_random(parent.pk, number, "size") * 2 - 1) * parent.jitter * one_slice
        planned += swing
    return max(Decimal(0), min(parent.amount, planned))


def slot_time(parent: ParentOrder, number: int) -> datetime:
    """Slice `number`'s un-jittered time: the start plus whole intervals."""
    return parent.start_at + timedelta(seconds=number * parent.interval_seconds)


def tolerance(parent: ParentOrder, seconds: float) -> timedelta:
    """How late a slice may still go out: the setting, but never more than half an interval."""
    return timedelta(seconds=min(seconds, parent.interval_seconds / 2))
