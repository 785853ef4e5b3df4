"""manage.py in a checkout: with nothing exported, it uses the embedded default that `make run`
keeps under var/ (the same database the desk serves); given production's environment, or no
embedded default to use, it fails closed as the settings do."""

import os
import subprocess
import sys

from emsweb import embedded
from tests.conftest import ROOT

PRINT_DATABASE = "from django.conf import settings; print(settings.DATABASES['default']['NAME'])"


def manage(var, *args: str, **env: str) -> subprocess.CompletedProcess:
    """manage.py as a user runs it, with none of the settings exported."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "EMSWEB_VAR_DIR": str(var), **env},
        capture_output=True,
        text=True,
    )


def test_with_nothing_exported_manage_py_reaches_the_database_make_run_serves(tmp_path):
    embedded.embedded_secrets(tmp_path)  # what the first `make run` leaves in var/

    printed = manage(tmp_path, "shell", "--no-imports", "-c", PRINT_DATABASE)

    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == str(tmp_path / "emsweb.sqlite3")
    assert f"using make run's data in {tmp_path}/" in printed.stderr  # said, not silent


def test_given_a_production_setting_manage_py_still_fails_closed_on_a_missing_secret_key(tmp_path):
    embedded.embedded_secrets(tmp_path)

    run = manage(tmp_path, "check", DATABASE_URL="postgres://emsweb@db.example.com:5432/emsweb")

    assert run.returncode != 0
    assert "Set the SECRET_KEY environment variable" in run.stderr


def test_without_the_embedded_default_s_data_manage_py_fails_closed_and_generates_none(tmp_path):
    run = manage(tmp_path, "check")

    assert run.returncode != 0
    assert "Set the SECRET_KEY environment variable" in run.stderr
    assert not (tmp_path / embedded.SECRETS_FILE).exists()
