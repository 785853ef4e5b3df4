import os
import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.models import ExchangeAccount
from accounts.services import account_link
from orders.instruments import instruments_refresh

DEMO_ACCOUNT = "PAPER/DEMO"


class Command(BaseCommand):
    help = (
        "Make a fresh installation usable: the admin user (from DJANGO_SUPERUSER_USERNAME and "
        "DJANGO_SUPERUSER_PASSWORD, or a generated password printed once) and the paper "
        f"account {DEMO_ACCOUNT} with its instruments."
    )

    def handle(self, *args, **options):
        self._ensure_admin()
        if not ExchangeAccount.objects.filter(exchange_id=DEMO_ACCOUNT).exists():
            account_link(exchange_id=DEMO_ACCOUNT, parameters={})
            self.stdout.write(f"Linked the paper account {DEMO_ACCOUNT}.")
        count = instruments_refresh(venue="PAPER")
        self.stdout.write(f"Paper exchange: {count} instruments.")

    def _ensure_admin(self):
        User = get_user_model()
        username = os.environ.get("DJANGO_SUPERUSER_USERNAME") or "admin"
        password = os.environ.get("DJANGO_SUPERUSER_PASSWORD")
        if User.objects.filter(username=username).exists():
            return
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        if generated:
            self.stdout.write(
                self.style.WARNING(
                    f"Created the admin user {username!r} with the password: {password}\n"
                    "It is shown this once; change it after signing in."
                )
            )
        else:
            self.stdout.write(f"Created the admin user {username!r}.")
