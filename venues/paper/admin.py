"""The paper exchange's tables, for inspection. Only an account's knobs can be changed here."""

from django.contrib import admin

from emsweb.admin import ReadOnlyAdmin, ReadOnlyInline
from venues.paper.models import PaperAccount, PaperBalance, PaperMarket, PaperOrder, PaperTrade


class BalanceInline(ReadOnlyInline):
    model = PaperBalance
    fields = ["asset", "total", "locked"]
    readonly_fields = fields


@admin.register(PaperAccount)
class PaperAccountAdmin(admin.ModelAdmin):
    list_display = ["account_key", "fault", "latency_ms", "fault_delay_ms", "created_at"]
    fields = ["account_key", "fault", "latency_ms", "fault_delay_ms", "created_at"]
    readonly_fields = ["account_key", "created_at"]
    inlines = [BalanceInline]

    def has_add_permission(self, request, obj=None):
        return False  # accounts are created on first use, funded


@admin.register(PaperMarket)
class PaperMarketAdmin(ReadOnlyAdmin):
    list_display = ["symbol", "mid", "step", "stepped_at"]


@admin.register(PaperOrder)
class PaperOrderAdmin(ReadOnlyAdmin):
    list_display = [
        "exchange_order_id",
        "account",
        "client_order_id",
        "symbol",
        "side",
        "price",
        "amount",
        "filled",
        "status",
        "time_in_force",
        "created_at",
    ]
    list_filter = ["status", "symbol", "side", "time_in_force"]
    search_fields = ["client_order_id", "account__account_key"]


@admin.register(PaperTrade)
class PaperTradeAdmin(ReadOnlyAdmin):
    list_display = ["id", "order", "price", "amount", "fee", "fee_asset", "liquidity", "time"]
    list_filter = ["liquidity"]
