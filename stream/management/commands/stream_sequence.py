"""Run one pass of the stream's sequencer (the stream server runs it on its own; this is for
operators and tests)."""

from django.core.management.base import BaseCommand

from stream.sequencer import sequence_pending


class Command(BaseCommand):
    help = "Number the committed events of the stream's outbox, and publish them."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="at most this many")

    def handle(self, *args, limit: int, **options):
        events = sequence_pending(limit=limit)
        if events:
            self.stdout.write(f"numbered {len(events)}: seq {events[0].seq}-{events[-1].seq}")
        else:
            self.stdout.write("nothing to number")
