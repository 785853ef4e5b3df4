"""Factories for the rows most tests need."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.models import Balance, ExchangeAccount
from orders.models import Instrument, Order
from venues.base import OrdStatus


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"trader{n}")


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExchangeAccount
        django_get_or_create = ["exchange_id"]

    exchange_id = "PAPER/TEST"
    venue = "PAPER"
    tag = "TEST"


class InstrumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Instrument
        django_get_or_create = ["symbol_id_coinapi"]

    venue = "PAPER"
    symbol_id_exchange = "BTCUSD"
    symbol_id_coinapi = "PAPER_SPOT_BTC_USD"
    base = "BTC"
    quote = "USD"
    tick_size = Decimal("0.1")
    lot_size = Decimal("0.0001")
    min_amount = Decimal("0.0001")
    min_notional = Decimal("5")


class BalanceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Balance
        skip_postgeneration_save = True

    account = factory.SubFactory(AccountFactory)
    asset_id_exchange = "USD"
    balance = Decimal("100000")
    available = Decimal("100000")

    @factory.post_generation
    def read_from_the_venue(balance, create, extracted, **kwargs):
        """A balance row is what a read of the venue left: the account's balances are known."""
        if create:
            ExchangeAccount.objects.filter(
                pk=balance.account_id, balances_synced_at__isnull=True
            ).update(balances_synced_at=timezone.now())


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    client_order_id = factory.Sequence(lambda n: f"order-{n}")
    account = factory.SubFactory(AccountFactory)
    instrument = factory.SubFactory(InstrumentFactory)
    side = "BUY"
    time_in_force = "GOOD_TILL_CANCEL"
    amount_order = Decimal("1")
    amount_open = factory.LazyAttribute(lambda order: order.amount_order)
    price = Decimal("50000")
    status = OrdStatus.RECEIVED
