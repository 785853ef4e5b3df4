#!/usr/bin/env python
import os
import sys

from emsweb import embedded

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")
    # In a checkout where `make run` keeps its data, a command reaches the same database.
    os.environ.update(embedded.kept_embedded_settings(embedded.var_dir(os.environ), os.environ))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
