from django.db import migrations, models


class Migration(migrations.Migration):
    """The parent's stop mark is a number of risk.stops' sequence, no longer an audit entry's id
    (a parent running across the change keeps 0: any stop after it stops it)."""

    dependencies = [
        ("algos", "0001_initial"),
        ("risk", "0003_scopestate_stop"),
    ]

    operations = [
        migrations.RemoveField(model_name="parentorder", name="audit_mark"),
        migrations.AddField(
            model_name="parentorder",
            name="stop_mark",
            field=models.BigIntegerField(default=0),
        ),
    ]
