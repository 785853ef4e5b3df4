"""The cursor's one row: the sequencer's lock and the last seq handed out."""

from django.db import migrations


def create_cursor(apps, schema_editor):
    apps.get_model("stream", "StreamCursor").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("stream", "0001_initial")]

    operations = [migrations.RunPython(create_cursor, migrations.RunPython.noop)]
