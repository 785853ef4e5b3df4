from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from emsweb.admin import ReadOnlyAdmin, ReadOnlyInline

from .audit import audit_record
from .forms import ExchangeAccountForm
from .keys import api_keys_changed
from .models import (
    ApiKey,
    AuditAction,
    AuditEvent,
    Balance,
    DeskMember,
    ExchangeAccount,
    TradingGrant,
)
from .services import account_balances_wait, account_connection_test, account_streamed


class BalanceInline(ReadOnlyInline):
    model = Balance
    readonly_fields = [
        "asset_id_exchange", "balance", "available", "locked", "rate_usd", "last_updated_by",
        "updated_at",
    ]  # fmt: skip


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(admin.ModelAdmin):
    list_display = [
        "exchange_id", "venue", "enabled", "sandbox", "last_sync_at", "last_sync_error",
        "alert_kind",
    ]  # fmt: skip
    list_filter = ["venue", "enabled"]
    search_fields = ["exchange_id"]
    fields = [
        "exchange_id", "venue", "tag", "enabled", "sandbox", "masked_credentials", "created_by",
        "created_at", "last_sync_at", "last_sync_error", "last_sync_error_at", "key_checked_at",
        "key_check", "key_can_trade", "key_can_withdraw", "alert_kind", "alert", "alert_at",
    ]  # fmt: skip
    readonly_fields = [
        "exchange_id", "venue", "tag", "masked_credentials", "created_by", "created_at",
        "last_sync_at", "last_sync_error", "last_sync_error_at", "key_checked_at", "key_check",
        "key_can_trade", "key_can_withdraw", "alert_kind", "alert", "alert_at",
    ]  # fmt: skip

    @admin.display(description="Key check")
    def key_check(self, account):
        return account.key_check_error or account.key_check_note or "—"

    inlines = [BalanceInline]
    actions = ["test_connection"]

    @admin.action(description="Test connection (queue a sync; the result shows as last sync)")
    def test_connection(self, request, queryset):
        for account in queryset:
            account_connection_test(account=account)
        self.message_user(
            request,
            "Key check queued. Reload in a few seconds: 'Key checked at' and 'Key check' tell "
            "whether a balance fetch with these keys worked and what the key may do. A check "
            "that works clears the account's alert.",
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if "enabled" in form.changed_data:
            account_streamed(account_id=obj.pk)  # in the admin's transaction, with the change
            audit_record(
                action=AuditAction.ACCOUNT_STATE,
                request=request,
                target=obj.exchange_id,
                enabled=obj.enabled,
            )

    @admin.display(description="Credentials")
    def masked_credentials(self, account):
        return (
            ", ".join(f"{key}: {value}" for key, value in account.credentials_hint.items()) or "—"
        )

    def get_urls(self):
        link = path("link/", self.admin_site.admin_view(self.link_view), name="accounts_link")
        return [link, *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:accounts_link")

    def link_view(self, request):
        """Add an account or replace its keys; secrets go in and never come back out."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = ExchangeAccountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            result = form.save(user=request.user)
            if result is not None:
                account, created = result
                verb = "Linked" if created else "Updated the keys of"
                audit_record(
                    action=AuditAction.ACCOUNT_KEYS,
                    request=request,
                    target=account.exchange_id,
                    change="linked" if created else "keys replaced",
                )
                self._report_balances(request, f"{verb} {account.exchange_id}", account)
                return redirect("admin:accounts_exchangeaccount_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Link an exchange account",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/link.html", context)

    def _report_balances(self, request, done: str, account: ExchangeAccount) -> None:
        """Wait for the first read of the account's balances, and say whether it came."""
        if account_balances_wait(account=account):
            self.message_user(request, f"{done}; its balances are read.", messages.SUCCESS)
            return
        account.refresh_from_db(fields=["last_sync_error"])
        why = f" ({account.last_sync_error})" if account.last_sync_error else ""
        self.message_user(
            request,
            f"{done}, but its balances are not read yet{why}: orders on it are refused until "
            "a sync reads them.",
            messages.WARNING,
        )


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "user",
        "label",
        "read_only",
        "created_at",
        "last_used_at",
        "revoked_at",
    ]
    readonly_fields = ["prefix", "user", "created_at", "last_used_at"]
    fields = [
        "prefix", "user", "label", "read_only", "fix_sender_comp_id", "fix_target_comp_id",
        "created_at", "last_used_at", "revoked_at",
    ]  # fmt: skip

    def has_add_permission(self, request):
        return False  # keys are made by `manage.py create_api_key`, which shows them once

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        api_keys_changed(key_id=obj.pk)  # revoked or made read-only: at once in this process

    def delete_model(self, request, obj):
        key_id = obj.pk
        super().delete_model(request, obj)
        api_keys_changed(key_id=key_id)

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        api_keys_changed()


@admin.register(Balance)
class BalanceAdmin(admin.ModelAdmin):
    """Every account's holdings, as last synced from the venues. Read-only: the venue decides."""

    list_display = [
        "account", "asset_id_exchange", "balance", "available", "locked", "rate_usd",
        "last_updated_by", "updated_at",
    ]  # fmt: skip
    list_filter = ["account", "asset_id_exchange"]
    list_select_related = ["account"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(DeskMember)
class DeskMemberAdmin(admin.ModelAdmin):
    list_display = ["user", "role"]
    list_filter = ["role"]
    autocomplete_fields = ["user"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(
            action=AuditAction.ROLE, request=request, target=obj.user.username, role=obj.role
        )


@admin.register(TradingGrant)
class TradingGrantAdmin(admin.ModelAdmin):
    list_display = ["user", "account", "granted_by", "granted_at"]
    list_filter = ["account"]
    fields = ["user", "account"]

    def save_model(self, request, obj, form, change):
        obj.granted_by = obj.granted_by or request.user
        super().save_model(request, obj, form, change)
        audit_record(
            action=AuditAction.ROLE,
            request=request,
            target=obj.user.username,
            granted=obj.account.exchange_id,
        )

    def delete_model(self, request, obj):
        audit_record(
            action=AuditAction.ROLE,
            request=request,
            target=obj.user.username,
            revoked=obj.account.exchange_id,
        )
        super().delete_model(request, obj)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only: readable here, never editable or deletable."""

    list_display = ["at", "actor_name", "action", "target", "ip"]
    list_filter = ["action"]
    search_fields = ["actor_name", "target"]
