"""Risk limits and trading states in the admin site, for desk admins only. Every change goes
through risk.services (audited, the rules' copy replaced); the admin site's own policy asks for
a fresh second factor first (accounts.access.AdminSecondFactorMiddleware)."""

from django.contrib import admin, messages

from accounts.audit import client_ip
from accounts.selectors import may_manage_risk

from .models import RiskLimits, ScopeState
from .selectors import risk_usage
from .services import (
    risk_limits_delete,
    risk_limits_save,
    trading_halt,
    trading_resume,
    trading_state_set,
)


class DeskAdminOnly(admin.ModelAdmin):
    """Seen and changed by desk admins alone."""

    def _desk_admin(self, request) -> bool:
        return may_manage_risk(user=request.user)

    def has_module_permission(self, request):
        return self._desk_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._desk_admin(request)

    def has_add_permission(self, request):
        return self._desk_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._desk_admin(request)


@admin.register(RiskLimits)
class RiskLimitsAdmin(DeskAdminOnly):
    list_display = [
        "__str__", "max_order_notional_usd", "max_working_orders", "max_orders_per_second",
        "max_orders_per_minute", "max_daily_notional_usd", "price_band_percent", "updated_at",
        "updated_by",
    ]  # fmt: skip
    list_select_related = ["account", "user", "updated_by"]
    autocomplete_fields = ["user"]
    readonly_fields = ["usage_now", "updated_at", "updated_by"]

    def has_delete_permission(self, request, obj=None):
        return self._desk_admin(request)

    @admin.display(description="Used now (against the saved limits)")
    def usage_now(self, limits):
        if limits.pk is None:
            return "—"
        usage = risk_usage(account=limits.account, user=limits.user)
        return "; ".join(
            f"{row.label}: {row.used}" + (f" of {row.limit}" if row.limit is not None else "")
            for row in usage.limits
            if row.used is not None
        )

    def save_model(self, request, obj, form, change):
        risk_limits_save(
            limits=obj, user=request.user, changed=form.changed_data, ip=client_ip(request)
        )

    def delete_model(self, request, obj):
        risk_limits_delete(limits=obj, user=request.user, ip=client_ip(request))

    def delete_queryset(self, request, queryset):
        for limits in queryset:
            self.delete_model(request, limits)


@admin.register(ScopeState)
class ScopeStateAdmin(DeskAdminOnly):
    """The desk's and each account's trading state. A state is never deleted: set it ACTIVE."""

    list_display = ["__str__", "state", "reason", "changed_by", "changed_at"]
    list_filter = ["state"]
    list_select_related = ["account", "changed_by"]
    fields = ["account", "state", "reason", "changed_by", "changed_at"]
    readonly_fields = ["changed_by", "changed_at"]
    actions = ["resume", "halt"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "account"] if obj is not None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        trading_state_set(
            state=obj.state,
            account=obj.account,
            user=request.user,
            ip=client_ip(request),
            reason=obj.reason,
        )
        # The service wrote the row (made it, when new): the admin's messages and links need it.
        obj.pk = ScopeState.objects.get(account=obj.account).pk

    @admin.action(description="Resume trading (ACTIVE)")
    def resume(self, request, queryset):
        for row in queryset.select_related("account"):
            trading_resume(user=request.user, account=row.account, ip=client_ip(request))
        self.message_user(request, f"Trading resumed on {queryset.count()} scope(s).")

    @admin.action(description="Halt trading (no new orders; working orders stay)")
    def halt(self, request, queryset):
        for row in queryset.select_related("account"):
            accounts = None if row.account is None else [row.account]
            trading_halt(
                accounts=accounts, user=request.user, ip=client_ip(request), reason="Admin site"
            )
        self.message_user(
            request,
            f"Trading halted on {queryset.count()} scope(s). Working orders stay: cancel them "
            "from the blotter (or press the kill switch, which halts and cancels).",
            messages.WARNING,
        )
