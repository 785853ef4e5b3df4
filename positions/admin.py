"""Positions in the admin: each account's positions as last synced, and its leverage and margin
mode per derivative, set here as on the trading screen: through positions.services.leverage_set
(the venue first, then the row and its stream event, audited). For desk admins."""

from django import forms
from django.contrib import admin

from accounts.audit import client_ip
from accounts.selectors import may_manage_risk
from orders.instruments import instrument_find
from orders.models import Instrument

from .models import Position
from .services import LeverageInvalid, leverage_set

FIGURES = [
    "side", "size", "entry_price", "mark_price", "unrealized_pnl", "realized_pnl", "margin",
    "maintenance_margin", "liquidation_price", "settlement_asset", "fees", "funding",
    "liquidated_at", "updated_at",
]  # fmt: skip


class LeverageForm(forms.ModelForm):
    instrument = forms.ModelChoiceField(
        queryset=Instrument.objects.exclude(kind="SPOT").filter(active=True), required=False
    )

    class Meta:
        model = Position
        fields = ["account", "instrument", "leverage", "cross"]

    def clean(self):
        data = super().clean()
        if self.instance.pk is None:
            instrument = data.get("instrument")
            if instrument is None:
                raise forms.ValidationError({"instrument": "Choose a derivative."})
            if data.get("account") and instrument.venue != data["account"].venue:
                raise forms.ValidationError({"instrument": "Not an instrument of its venue."})
        return data


@admin.register(Position)
class PositionAdmin(admin.ModelAdmin):
    form = LeverageForm
    list_display = [
        "account", "symbol_id_coinapi", "side", "size", "entry_price", "mark_price",
        "unrealized_pnl", "leverage", "cross", "liquidation_price", "updated_at",
    ]  # fmt: skip
    list_filter = ["account"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["account", "instrument", "leverage", "cross"]
        return ["account", "symbol_id_exchange", "leverage", "cross", *FIGURES]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["account", "symbol_id_exchange", *FIGURES]

    def has_module_permission(self, request):
        return may_manage_risk(user=request.user)

    has_view_permission = has_change_permission = has_add_permission = (
        lambda self, request, obj=None: may_manage_risk(user=request.user)
    )

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        instrument = form.cleaned_data.get("instrument") or instrument_find(
            venue=obj.account.venue, symbol=obj.symbol_id_exchange
        )
        try:
            saved = leverage_set(
                account=obj.account,
                instrument=instrument,
                leverage=obj.leverage,
                cross=obj.cross,
                user=request.user,
                ip=client_ip(request),
            )
        except LeverageInvalid as refused:
            messages = [m for found in refused.errors.values() for m in found]
            self.message_user(request, "; ".join(messages), level="error")
            return
        obj.pk = saved.pk
