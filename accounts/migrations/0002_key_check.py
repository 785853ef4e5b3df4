from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_desk"),
    ]

    operations = [
        migrations.AddField(
            model_name="exchangeaccount",
            name="key_checked_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="exchangeaccount",
            name="key_check_error",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="exchangeaccount",
            name="key_check_note",
            field=models.TextField(blank=True, editable=False),
        ),
        migrations.AddField(
            model_name="exchangeaccount",
            name="key_can_trade",
            field=models.BooleanField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="exchangeaccount",
            name="key_can_withdraw",
            field=models.BooleanField(blank=True, editable=False, null=True),
        ),
    ]
