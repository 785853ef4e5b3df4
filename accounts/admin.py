from django.contrib import admin, messages
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from .forms import ExchangeAccountForm
from .models import ApiKey, Balance, ExchangeAccount


class BalanceInline(admin.TabularInline):
    model = Balance
    extra = 0
    can_delete = False
    readonly_fields = [
        "asset_id_exchange", "balance", "available", "locked", "rate_usd", "last_updated_by",
        "updated_at",
    ]  # fmt: skip

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ExchangeAccount)
class ExchangeAccountAdmin(admin.ModelAdmin):
    list_display = ["exchange_id", "venue", "enabled", "sandbox", "last_sync_at", "last_sync_error"]
    list_filter = ["venue", "enabled"]
    search_fields = ["exchange_id"]
    fields = [
        "exchange_id", "venue", "tag", "enabled", "sandbox", "masked_credentials", "created_by",
        "created_at", "last_sync_at", "last_sync_error", "last_sync_error_at",
    ]  # fmt: skip
    readonly_fields = [
        "exchange_id", "venue", "tag", "masked_credentials", "created_by", "created_at",
        "last_sync_at", "last_sync_error", "last_sync_error_at",
    ]  # fmt: skip
    inlines = [BalanceInline]

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
                self.message_user(request, f"{verb} {account.exchange_id}.", messages.SUCCESS)
                return redirect("admin:accounts_exchangeaccount_change", account.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Link an exchange account",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/accounts/link.html", context)


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
    fields = ["prefix", "user", "label", "read_only", "created_at", "last_used_at", "revoked_at"]

    def has_add_permission(self, request):
        return False  # keys are made by `manage.py create_api_key`, which shows them once


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
