from django import forms

from venues.registry import CATALOG

from .models import ApiKey
from .services import AccountInvalid, account_link


class ExchangeAccountForm(forms.Form):
    """Link an account or replace its keys. Keys are write-only: never rendered back."""

    exchange_id = forms.CharField(
        max_length=100, help_text="Venue code and an optional tag, e.g. KRAKEN/JOHN."
    )
    sandbox = forms.BooleanField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        names = sorted({name for info in CATALOG.values() for name in info.required_parameters})
        for name in names:
            self.fields[name] = forms.CharField(
                required=False,
                widget=forms.PasswordInput(render_value=False),
                help_text="Leave empty if the venue does not need it.",
            )

    def save(self, *, user):
        parameters = {
            name: value
            for name, value in self.cleaned_data.items()
            if name not in ("exchange_id", "sandbox") and value
        }
        try:
            return account_link(
                exchange_id=self.cleaned_data["exchange_id"],
                parameters=parameters,
                user=user,
                sandbox=self.cleaned_data["sandbox"],
            )
        except AccountInvalid as invalid:
            for name, messages in invalid.errors.items():
                for message in messages:
                    self.add_error(name if name in self.fields else None, message)
            return None


class ApiKeyForm(forms.Form):
    label = forms.CharField(max_length=100, required=False)
    read_only = forms.BooleanField(required=False)
    fix_sender_comp_id = forms.CharField(max_length=64, required=False)
    fix_target_comp_id = forms.CharField(max_length=64, required=False)

    def clean(self):
        cleaned = super().clean()
        sender, target = cleaned.get("fix_sender_comp_id"), cleaned.get("fix_target_comp_id")
        taken = ApiKey.objects.filter(
            fix_sender_comp_id=sender, fix_target_comp_id=target, revoked_at__isnull=True
        )
        if sender and taken.exists():
            raise forms.ValidationError("An active key already has these FIX CompIDs.")
        return cleaned
