"""The Algo ticket: a parent as a person asks for it on the page."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from accounts.models import ExchangeAccount

from .durations import duration_seconds
from .models import Algorithm, ChildStyle, EndPolicy
from .tickets import DEFAULT_SLIPPAGE, ParentTicket


class ParentForm(forms.Form):
    algorithm = forms.ChoiceField(choices=Algorithm.choices, initial=Algorithm.TWAP)
    accounts = forms.ModelMultipleChoiceField(
        queryset=ExchangeAccount.objects.none(), widget=forms.CheckboxSelectMultiple
    )
    side = forms.ChoiceField(choices=[("BUY", "Buy"), ("SELL", "Sell")])
    symbol = forms.CharField(max_length=100, initial="BTCUSD")
    amount = forms.DecimalField(max_digits=38, decimal_places=18, min_value=Decimal("1e-18"))
    duration = forms.CharField(max_length=16, required=False, initial="10MIN")
    interval = forms.CharField(max_length=16, required=False, initial="30SEC")
    limit_price = forms.DecimalField(max_digits=38, decimal_places=18, required=False)
    display_amount = forms.DecimalField(max_digits=38, decimal_places=18, required=False)
    participation = forms.DecimalField(max_digits=10, decimal_places=6, required=False)
    child_style = forms.ChoiceField(choices=ChildStyle.choices, initial=ChildStyle.IOC)
    end_policy = forms.ChoiceField(choices=EndPolicy.choices, initial=EndPolicy.LEAVE)

    def __init__(self, *args, accounts=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["accounts"].queryset = accounts or ExchangeAccount.objects.none()

    def clean_duration(self) -> int:
        return self._seconds("duration")

    def clean_interval(self) -> int:
        return self._seconds("interval")

    def _seconds(self, name: str) -> int:
        text = self.cleaned_data.get(name) or ""
        if not text:
            return 0
        try:
            return duration_seconds(text)
        except ValueError as problem:
            raise forms.ValidationError(str(problem)) from None

    def ticket(self) -> ParentTicket:
        data = self.cleaned_data
        return ParentTicket(
            algorithm=data["algorithm"],
            side=data["side"],
            symbol=data["symbol"].strip(),
            amount=data["amount"],
            accounts=tuple(data["accounts"]),
            duration_seconds=data["duration"],
            interval_seconds=data["interval"],
            limit_price=data["limit_price"],
            slippage=DEFAULT_SLIPPAGE,
            child_style=data["child_style"],
            end_policy=data["end_policy"],
            display_amount=data["display_amount"],
            participation=data["participation"],
        )
