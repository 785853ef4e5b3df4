"""The embedded default's settings: the secrets it generates and keeps under var/, the
environment it gives, and when manage.py uses it."""

import stat
import subprocess

from cryptography.fernet import Fernet

from emsweb import embedded


def test_secrets_are_generated_once_kept_private_and_reused(tmp_path):
    first = embedded.embedded_secrets(tmp_path)
    second = embedded.embedded_secrets(tmp_path)

    assert first == second
    assert len(first["SECRET_KEY"]) >= 50
    Fernet(first["EMSWEB_FIELD_KEYS"])  # a valid key
    assert stat.S_IMODE((tmp_path / "embedded.env").stat().st_mode) == 0o600


def test_a_secret_missing_from_the_file_is_added_without_changing_the_other(tmp_path):
    (tmp_path / "embedded.env").write_text("SECRET_KEY=kept\n")

    values = embedded.embedded_secrets(tmp_path)

    assert values["SECRET_KEY"] == "kept"
    assert embedded.read_env_file(tmp_path / "embedded.env") == values


def test_the_embedded_default_keeps_its_data_under_var(tmp_path):
    var = tmp_path / "var"

    settings = embedded.embedded_settings(var, environ={})

    assert settings["DJANGO_SETTINGS_MODULE"] == "emsweb.settings"
    assert settings["DATABASE_URL"] == f"sqlite:///{var}/emsweb.sqlite3"  # four slashes
    assert settings["REDIS_URL"] == f"unix://{var}/redis.sock"
    assert settings["ALLOWED_HOSTS"] == "127.0.0.1,localhost"
    assert settings["PORT"] == "8000"
    assert "DEBUG" not in settings
    assert settings["SECRET_KEY"] == embedded.embedded_secrets(var)["SECRET_KEY"]


def test_the_real_environment_wins_over_the_defaults_and_the_file(tmp_path):
    environ = {
        "SECRET_KEY": "from-the-environment",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "PORT": "8123",
    }

    settings = embedded.embedded_settings(tmp_path, environ)

    assert {name: settings[name] for name in environ} == environ
    assert embedded.read_env_file(tmp_path / "embedded.env")["SECRET_KEY"] != "from-the-environment"


def test_the_env_command_prints_exports_a_shell_can_eval(tmp_path):
    settings = {"SECRET_KEY": "a'b\"c$d e", "DATABASE_URL": "sqlite:////tmp/x y.sqlite3"}

    script = embedded.export_lines(settings) + 'printf "%s\\n" "$SECRET_KEY" "$DATABASE_URL"'
    printed = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True)

    assert printed.stdout.splitlines() == [settings["SECRET_KEY"], settings["DATABASE_URL"]]


def test_a_printed_url_hides_its_password():
    assert (
        embedded.without_password("postgres://emsweb:s3cret@db:5432/emsweb")
        == "postgres://emsweb:***@db:5432/emsweb"
    )
    assert embedded.without_password("redis://:s3cret@cache:6379/0") == "redis://:***@cache:6379/0"
    assert embedded.without_password("unix:///srv/redis.sock") == "unix:///srv/redis.sock"


def test_the_kept_embedded_default_is_used_only_where_no_production_setting_is_given(tmp_path):
    embedded.embedded_secrets(tmp_path)

    kept = embedded.kept_embedded_settings(tmp_path, environ={})

    assert kept == embedded.embedded_settings(tmp_path, environ={})
    for name in embedded.PRODUCTION_SETTINGS:
        assert embedded.kept_embedded_settings(tmp_path, environ={name: "given"}) == {}
    other_settings = {"DJANGO_SETTINGS_MODULE": "tests.settings"}
    assert embedded.kept_embedded_settings(tmp_path, environ=other_settings) == {}
    assert embedded.kept_embedded_settings(tmp_path / "never-run", environ={}) == {}


def test_the_data_folder_is_private_even_when_it_existed_before(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    embedded.embedded_settings(var, {})
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
