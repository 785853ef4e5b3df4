#!/usr/bin/env python
import os
import sys

from emsweb import launcher

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")
    # In a checkout where `make run` keeps its data, a command reaches the same database.
    os.environ.update(launcher.kept_embedded_settings(launcher.var_dir(os.environ), os.environ))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
