from django.contrib import admin

from emsweb.admin import ReadOnlyAdmin

from .models import StreamEvent


@admin.register(StreamEvent)
class StreamEventAdmin(ReadOnlyAdmin):
    """The event log, read-only: writers add to it, the sequencer numbers it."""

    list_display = ["seq", "kind", "account_id", "ref_id", "created_at"]
    list_filter = ["kind"]
    search_fields = ["=seq", "=ref_id"]
    ordering = ["-id"]
