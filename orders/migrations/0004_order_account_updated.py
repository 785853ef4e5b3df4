# An index the benchmarks asked for (bench/README.md): every sync reads an account's orders
# changed in the last hour, which without it scans the account's whole history on every cycle.
# Plain CREATE INDEX (SQLite runs the migrations too): about a second on a million orders,
# during which writes to orders wait; compose runs migrate before web and workers start.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0003_overfill_reported'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='order',
            index=models.Index(fields=['account', 'updated_at'], name='order_account_updated'),
        ),
    ]
