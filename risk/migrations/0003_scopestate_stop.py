from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("risk", "0002_position_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="scopestate",
            name="stop_number",
            field=models.BigIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="scopestate",
            name="stop_reason",
            field=models.CharField(blank=True, editable=False, max_length=255),
        ),
        migrations.AddField(
            model_name="scopestate",
            name="stopped_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
