from django.core.management.base import BaseCommand, CommandError

from accounts import credentials
from accounts.audit import audit_record
from accounts.models import AuditAction, ExchangeAccount
from accounts.services import credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every account's exchange keys under the first key of EMSWEB_FIELD_KEYS. "
        "Afterwards the older keys can be removed from the setting."
    )

    def handle(self, *args, **options):
        count = credentials_rotate()
        tokens = ExchangeAccount.objects.exclude(credentials="").values_list(
            "credentials", flat=True
        )
        behind = sum(not credentials.readable_by_newest_key(token) for token in tokens.iterator())
        audit_record(
            action=AuditAction.ACCOUNT_KEYS,
            target="every account",
            change="re-encrypted under the newest field key",
            accounts=count,
            not_readable_by_newest_key=behind,
        )
        if behind:
            # An account linked under an older key while this ran: run it again.
            raise CommandError(f"{behind} account(s) still need an older key: run it again.")
        self.stdout.write(
            f"Re-encrypted the keys of {count} account(s) under the newest field key; every "
            "account's keys now decrypt with it alone, so the older keys can be removed."
        )
