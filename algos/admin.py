"""Parents in the admin site: read-only, with their slices and history, and pause, resume and
cancel actions that go through algos.services (the same checks and audit as the pages and the
API): an admin who may not trade every account of a parent is refused it."""

from django.contrib import admin, messages

from accounts.audit import client_ip
from emsweb.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import ParentEvent, ParentOrder, ParentSlice
from .selectors import parent_tradable_by
from .services import ParentNotChangeable, parent_cancel, parent_pause, parent_resume


class ParentSliceInline(ReadOnlyInline):
    model = ParentSlice
    fields = [
        "number", "state", "scheduled_at", "sent_at", "target", "amount", "price", "account",
        "order", "note",
    ]  # fmt: skip


class ParentEventInline(ReadOnlyInline):
    model = ParentEvent
    fields = ["at", "kind", "status", "params", "note"]


@admin.register(ParentOrder)
class ParentOrderAdmin(ReadOnlyAdmin):
    """Parents change only through their services: the actions below, the pages, the API."""

    list_display = [
        "pk", "algorithm", "side", "amount", "symbol", "status", "next_slice", "next_due_at",
        "created_by", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "algorithm", "side"]
    search_fields = ["symbol", "status_info"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]
    inlines = [ParentSliceInline, ParentEventInline]
    actions = ["pause", "resume", "cancel"]

    @admin.action(description="Pause the selected parents")
    def pause(self, request, queryset):
        self._control(request, queryset, parent_pause, "paused")

    @admin.action(description="Resume the selected parents")
    def resume(self, request, queryset):
        self._control(request, queryset, parent_resume, "resumed")

    @admin.action(description="Cancel the selected parents (and their working children)")
    def cancel(self, request, queryset):
        self._control(request, queryset, parent_cancel, "canceled")

    def _control(self, request, queryset, control, done: str) -> None:
        changed = 0
        for parent in queryset.prefetch_related("accounts"):
            if not parent_tradable_by(parent, user=request.user):
                message = f"{parent}: you may not trade all of its accounts."
                self.message_user(request, message, messages.WARNING)
                continue
            try:
                control(parent=parent, user=request.user, ip=client_ip(request))
            except ParentNotChangeable as refusal:
                self.message_user(request, f"{parent}: {refusal}", messages.WARNING)
            else:
                changed += 1
        if changed:
            self.message_user(request, f"{changed} parent(s) {done}.")
