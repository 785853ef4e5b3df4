# (account, status) becomes (account, status, created_at): it serves every query the old index
# did (working orders by account, the sync), and the history filtered by account and status,
# newest first, which otherwise scanned every order by date until it found a page of a small
# account's rare status (bench/README.md). Plain CREATE INDEX, as 0004: a few seconds on a
# million orders, during which writes to orders wait; compose runs migrate before the services.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0004_order_account_updated"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                fields=["account", "status", "created_at"], name="order_account_status_created"
            ),
        ),
        migrations.RemoveIndex(model_name="order", name="order_account_status"),
    ]
