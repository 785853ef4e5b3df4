from django.core.management.base import BaseCommand

from accounts.services import credentials_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every account's exchange keys under the first key of EMSWEB_FIELD_KEYS. "
        "Afterwards the older keys can be removed from the setting."
    )

    def handle(self, *args, **options):
        count = credentials_rotate()
        self.stdout.write(
            f"Re-encrypted the keys of {count} account(s) under the newest field key."
        )
