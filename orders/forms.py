import uuid
from datetime import UTC

from django import forms

from accounts.models import ExchangeAccount
from venues.base import OrdSide, OrdStatus, TimeInForce

from .services import OrderTicket

TIME_IN_FORCE_CHOICES = [
    (TimeInForce.GOOD_TILL_CANCEL, "Good till cancel"),
    (TimeInForce.GOOD_TILL_TIME_OMS, "Good till time (emsweb cancels)"),
    (TimeInForce.GOOD_TILL_TIME_EXCHANGE, "Good till time (exchange cancels)"),
    (TimeInForce.IMMEDIATE_OR_CANCEL, "Immediate or cancel"),
    (TimeInForce.FILL_OR_KILL, "Fill or kill"),
]


class TicketForm(forms.Form):
    """The order ticket. Money fields stay strings here: the service parses them as Decimal."""

    client_order_id = forms.CharField(widget=forms.HiddenInput, max_length=255)
    account = forms.ModelChoiceField(queryset=ExchangeAccount.objects.none(), empty_label=None)
    symbol = forms.CharField(
        label="Instrument",
        max_length=100,
        widget=forms.TextInput(
            attrs={"list": "instruments", "autocomplete": "off", "placeholder": "BTC/USD"}
        ),
    )
    side = forms.ChoiceField(choices=OrdSide.choices, widget=forms.RadioSelect, initial="BUY")
    amount = forms.CharField(max_length=60, widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    price = forms.CharField(
        label="Limit price",
        max_length=60,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    time_in_force = forms.ChoiceField(choices=TIME_IN_FORCE_CHOICES, initial="GOOD_TILL_CANCEL")
    expire_time = forms.DateTimeField(
        label="Expires (UTC)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )
    post_only = forms.BooleanField(label="Post only", required=False)
    reduce_only = forms.BooleanField(label="Reduce only", required=False)  # DO_NOT_INCREASE
    # The ticket's second confirmation of a limit far from the market: the checkbox's value names
    # the side and price it confirms ("BUY at 30000"), which the ticket's check compares.
    confirm_far = forms.CharField(required=False, max_length=100)
    # "trade" when the ticket sits on the trading screen, which fixes its account and instrument.
    screen = forms.CharField(widget=forms.HiddenInput, required=False, max_length=10)

    def __init__(self, *args, accounts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = accounts
        if not self.is_bound:
            self.initial.setdefault("client_order_id", f"web-{uuid.uuid4().hex}")

    def ticket(self) -> OrderTicket:
        data = self.cleaned_data
        expire_time = data.get("expire_time")
        if expire_time is not None:
            expire_time = expire_time.replace(tzinfo=UTC)
        return OrderTicket(
            client_order_id=data["client_order_id"],
            symbol=data["symbol"].strip(),
            side=data["side"],
            amount=data["amount"].strip(),
            price=data["price"].strip(),
            time_in_force=data["time_in_force"],
            expire_time=expire_time,
            exec_inst=tuple(
                value
                for value, asked in (
                    ("MAKER_OR_CANCEL", data.get("post_only")),
                    ("DO_NOT_INCREASE", data.get("reduce_only")),
                )
                if asked
            ),
        )


# The service names fields as the API does; the ticket shows them next to its own fields.
SERVICE_TO_TICKET_FIELD = {
    "amount_order": "amount",
    "symbol_id_exchange": "symbol",
    "exchange_id": "account",
    "exec_inst": "post_only",
}


class HistoryFilterForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ExchangeAccount.objects.all(), required=False)
    venue = forms.CharField(required=False, max_length=32)
    instrument = forms.CharField(required=False, max_length=100)
    side = forms.ChoiceField(choices=[("", "Any side"), *OrdSide.choices], required=False)
    status = forms.ChoiceField(choices=[("", "Any status"), *OrdStatus.choices], required=False)
    user = forms.CharField(required=False, max_length=150)
    date_from = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label="Order id", required=False, max_length=255)
    sort = forms.ChoiceField(
        choices=[("-created", "Newest first"), ("created", "Oldest first")], required=False
    )
