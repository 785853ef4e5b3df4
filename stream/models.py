"""The event stream's table: the outbox every writer adds to, and the log every reader reads.

A writer adds one StreamEvent (seq NULL) in the transaction of the change it announces; the
sequencer (stream.sequencer) numbers committed rows and stores their wire message. `seq` is
gap-free and only grows; the autoincrement id is not a sequence readers may rely on (see the
README's "Event stream").
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class EventKind(models.TextChoices):
    ORDER = "order", "Order"
    BALANCE = "balance", "Balance"
    ACCOUNT = "account", "Account"
    POSITION = "position", "Position"


class StreamEvent(models.Model):
    """One committed change of an order, a balance or an account: the outbox and the log."""

    id = models.BigAutoField(primary_key=True)
    seq = models.BigIntegerField(null=True)
    kind = models.CharField(max_length=16, choices=EventKind.choices)
    # Not foreign keys: an account or a balance removed keeps its past events.
    account_id = models.IntegerField()
    ref_id = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)
    # The wire JSON without "seq", stored with it by the sequencer (or by a writer whose
    # subject is about to be deleted, when nothing will be left to read).
    message = models.TextField(blank=True)

    class Meta:
        indexes = [
            # The sequencer's search for what is not numbered yet stays small however long
            # the log grows.
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="streamevent_pending"),
        ]
        constraints = [
            # Partial, so that the search for unnumbered rows can only use the index above:
            # in order, and skipping the entries of rows numbered since (an index over every
            # seq, NULLs included, had the planner re-read each numbered row's page).
            models.UniqueConstraint(
                fields=["seq"], condition=Q(seq__isnull=False), name="streamevent_seq_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seq or '-'} {self.kind} {self.ref_id}"


class StreamCursor(models.Model):
    """The one row (pk 1) whose `last_seq` is the last number handed out; the sequencer
    updates it first in its transaction, which makes it the sequencer's lock."""

    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"last seq {self.last_seq}"
