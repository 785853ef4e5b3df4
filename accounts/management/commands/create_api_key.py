from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for a user and print it once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--label", default="")
        parser.add_argument("--read-only", action="store_true", help="a key that cannot trade")

    def handle(self, *args, username, label, read_only, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        api_key, key = api_key_create(user=user, label=label, read_only=read_only)
        kind = "read-only " if read_only else ""
        self.stderr.write(f"Created {kind}API key {api_key.prefix}… for {username}. Shown once:")
        self.stdout.write(key)
