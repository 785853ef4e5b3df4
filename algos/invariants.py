"""The invariant checker, extended to parents (orders.invariants checks their children as the
orders they are, against the venue's own record). For a parent, an empty list means:

- its slices are numbered 0, 1, 2... with no gap, and the cursor is past the last: nothing was
  skipped silently;
- each slice placed has exactly one child, with the client order id derived from the parent and
  that number, on one of the parent's accounts; and no child exists that no slice placed;
- no more was filled than the parent's amount;
- no child was placed after the parent finished.
"""

from __future__ import annotations

from orders.invariants import account_invariants_check
from orders.money import plain

from .models import ParentOrder, ParentSlice, SliceState, child_client_order_id
from .selectors import children, parent_progress

PLACED = frozenset({SliceState.SENT, SliceState.REJECTED})


def parent_invariants_check(*, parent: ParentOrder, with_children: bool = True) -> list[str]:
    parent.refresh_from_db()
    name = f"parent {parent.pk}"
    violations = []
    rows = list(ParentSlice.objects.filter(parent=parent).order_by("number"))
    numbers = [row.number for row in rows]
    if numbers != list(range(len(numbers))):
        violations.append(f"{name}: slice numbers {numbers} have a gap")
    if parent.next_slice != len(numbers):
        violations.append(f"{name}: cursor at {parent.next_slice}, {len(numbers)} slices recorded")
    accounts = set(parent.accounts.values_list("pk", flat=True))
    placed = {}
    for row in rows:
        if row.state in PLACED:
            wanted = child_client_order_id(parent.pk, row.number)
            if row.order is None or row.order.client_order_id != wanted:
                violations.append(f"{name}: slice {row.number} placed without its child {wanted}")
                continue
            placed[row.order.pk] = row
        elif row.order_id is not None:
            violations.append(f"{name}: slice {row.number} is {row.state} but has a child")
    for child in children(parent):
        if child.pk not in placed:
            violations.append(f"{name}: child {child.client_order_id} placed by no slice")
        if child.account_id not in accounts:
            violations.append(f"{name}: child {child.client_order_id} on a foreign account")
        if parent.finished_at and child.created_at > parent.finished_at:
            violations.append(f"{name}: child {child.client_order_id} placed after it finished")
    filled = parent_progress(parent).filled
    if filled > parent.amount:
        violations.append(f"{name}: filled {plain(filled)} of {plain(parent.amount)}")
    if with_children:
        for account in parent.accounts.all():
            violations += account_invariants_check(account=account)
    return violations


def invariants_check_parents() -> list[str]:
    """Every parent's invariants (their children's accounts checked once each)."""
    violations = []
    accounts = {}
    for parent in ParentOrder.objects.all():
        violations += parent_invariants_check(parent=parent, with_children=False)
        accounts.update({a.pk: a for a in parent.accounts.all()})
    for account in accounts.values():
        violations += account_invariants_check(account=account)
    return violations
