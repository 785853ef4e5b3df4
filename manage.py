#!/usr/bin/env python
import os
import sys

from emsweb import embedded

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")
    # In a checkout where `make run` keeps its data, a command reaches the same database.
    var = embedded.var_dir(os.environ)
    if kept := embedded.kept_embedded_settings(var, os.environ):
        print(
            f"manage.py: no production settings given: using make run's data in {var}/",
            file=sys.stderr,
        )
        os.environ.update(kept)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
