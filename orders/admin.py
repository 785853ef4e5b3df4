from django.contrib import admin, messages

from accounts.audit import client_ip
from emsweb.admin import ReadOnlyAdmin, ReadOnlyInline

from .models import Fill, Instrument, Order, OrderEvent
from .services import OrderNotCancelable, order_cancel


class OrderEventInline(ReadOnlyInline):
    model = OrderEvent
    fields = ["status", "at", "cause", "note"]


class FillInline(ReadOnlyInline):
    model = Fill
    fields = ["time", "price", "amount", "fee", "fee_asset", "liquidity", "trade_id"]


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    """Orders are read-only here: they change only through the lifecycle."""

    list_display = [
        "client_order_id", "account", "instrument", "side", "amount_order", "price", "status",
        "amount_filled", "created_at",
    ]  # fmt: skip
    list_filter = ["status", "side", "account", "origin"]
    search_fields = ["client_order_id", "exchange_order_id"]
    date_hierarchy = "created_at"
    inlines = [OrderEventInline, FillInline]
    actions = ["cancel_orders"]
    list_select_related = ["account", "instrument"]

    @admin.action(description="Cancel the selected orders")
    def cancel_orders(self, request, queryset):
        for order in queryset:
            try:
                order_cancel(order=order, user=request.user, ip=client_ip(request))
            except OrderNotCancelable as refusal:
                self.message_user(request, str(refusal), messages.WARNING)


@admin.register(Instrument)
class InstrumentAdmin(admin.ModelAdmin):
    list_display = [
        "symbol_id_coinapi", "symbol_id_exchange", "tick_size", "lot_size", "min_amount",
        "min_notional", "active",
    ]  # fmt: skip
    list_filter = ["venue", "active"]
    search_fields = ["symbol_id_coinapi", "symbol_id_exchange"]
    readonly_fields = ["updated_at"]
