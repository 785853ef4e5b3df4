"""The deployment files, read as data: there is no Docker engine here to run them.

docker-compose.yml, the Dockerfile and deploy/entrypoint.sh are checked against each other, and
the README's Deploy section against them; CI's deploy/smoke.py runs the same entrypoint commands
as real processes with production settings.
"""

import re
import shlex
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from accounts.services import api_key_create

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
WORKER_HOST = yaml.safe_load((ROOT / "deploy" / "worker-host.compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENTRYPOINT = (ROOT / "deploy" / "entrypoint.sh").read_text()
DOCKERFILE = (ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()
DEPLOY = (ROOT / "README.md").read_text().split("\n## Deploy\n", 1)[1].split("\n## ", 1)[0]
OURS = ("migrate", "web", "worker", "beat")


def entrypoint_commands(text: str = ENTRYPOINT) -> set[str]:
    """The words the top-level `case "$command"` accepts."""
    body = text.split('case "$command" in', 2)[2].split("\nesac", 1)[0]
    labels = re.findall(r"^  ([a-z| ]+)\)", body, flags=re.M)
    return {word.strip() for label in labels for word in label.split("|")}


def healthcheck_of(name: str) -> list[str]:
    return SERVICES[name]["healthcheck"]["test"]


def example(name: str) -> str:
    """A variable's value in .env.example."""
    return re.search(rf"^{name}=(.*)$", ENV_EXAMPLE, flags=re.M).group(1)


def api_check() -> dict[str, str]:
    """The Deploy section's commands that reach /v1 on the stack, by the variable each sets
    (HOST, WEB, KEY) and "curl"."""
    blocks = re.findall(r"```sh\n(.*?)```", DEPLOY, flags=re.S)
    block = next((block for block in blocks if "/v1/" in block), "")
    lines = [line.strip() for line in block.splitlines()]
    return {line.split("=")[0] if line[:1].isupper() else line.split()[0]: line for line in lines}


def test_the_stack_has_every_service_the_deployment_needs():
    assert set(SERVICES) == {
        "postgres", "redis", "migrate", "web", "worker", "worker-background", "worker-market",
        "beat", "fix", "flower",
    }  # fmt: skip


def test_the_order_path_has_a_worker_that_nothing_else_can_hold_up():
    queues = {name: SERVICES[name]["environment"]["CELERY_QUEUES"] for name in SERVICES
              if name.startswith("worker")}  # fmt: skip
    assert queues == {
        "worker": "orders", "worker-background": "default", "worker-market": "market"
    }  # fmt: skip
    assert WORKER_HOST["services"]["worker"]["environment"]["CELERY_QUEUES"] == "orders"


def test_every_service_of_the_image_runs_a_command_the_entrypoint_knows():
    commands = entrypoint_commands()
    assert {"web", "worker", "beat", "migrate"} <= commands
    for name in OURS:
        assert SERVICES[name]["image"] == "${EMSWEB_IMAGE:-emsweb:latest}"
        assert SERVICES[name]["command"][0] in commands, name
    assert WORKER_HOST["services"]["worker"]["command"][0] in commands


def test_every_healthcheck_of_the_image_calls_a_check_the_entrypoint_has():
    checks = re.search(r"  healthcheck\)\n(.*?)\n    ;;", ENTRYPOINT, flags=re.S).group(1)
    assert "exec celery -A emsweb inspect ping" in checks
    assert "*) exec python -m emsweb.health" in checks  # which knows web and beat
    for name, target in (("web", "web"), ("worker", "worker"), ("beat", "beat")):
        assert healthcheck_of(name) == ["CMD", "/app/deploy/entrypoint.sh", "healthcheck", target]
    usage = subprocess.run([sys.executable, "-m", "emsweb.health"], cwd=ROOT, capture_output=True)
    assert usage.returncode == 2 and b"web|beat|fix" in usage.stderr


def test_postgres_and_redis_keep_their_data_in_named_volumes_and_have_healthchecks():
    assert set(COMPOSE["volumes"]) == {"postgres-data", "redis-data", "fix-data"}
    assert "postgres-data:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    assert "redis-data:/data" in SERVICES["redis"]["volumes"]
    assert "pg_isready" in " ".join(healthcheck_of("postgres"))
    assert "redis-cli ping" in " ".join(healthcheck_of("redis"))


def test_redis_persists_every_write_and_never_evicts_a_queued_task():
    command = " ".join(SERVICES["redis"]["command"])
    assert "--appendonly yes" in command
    assert "--maxmemory-policy noeviction" in command
    assert "--requirepass" in command


def test_migrate_runs_once_and_everything_else_waits_for_it_and_for_healthy_data():
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "beat"):
        needs = SERVICES[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert needs["postgres"]["condition"] == needs["redis"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_workers_scale_and_beat_is_exactly_one():
    worker = SERVICES["worker"]
    assert not {"container_name", "ports", "hostname"} & worker.keys()
    beat = SERVICES["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert not {"ports"} & beat.keys()
    assert "beat" not in WORKER_HOST["services"]


def test_web_is_behind_the_readiness_check_and_published_on_loopback_by_default():
    assert healthcheck_of("web")[3] == "web"
    assert SERVICES["web"]["ports"] == ["${EMSWEB_BIND:-127.0.0.1}:${EMSWEB_PORT:-8000}:8000"]


def test_the_fix_gateway_is_behind_a_profile_keeps_its_store_and_has_a_healthcheck():
    fix = SERVICES["fix"]
    assert fix["profiles"] == ["fix"] and fix["command"] == ["fix"]
    assert "fix-data:/app/fix-data" in fix["volumes"]
    assert fix["environment"]["EMSWEB_FIX_DIR"] == "/app/fix-data"
    assert healthcheck_of("fix") == ["CMD", "/app/deploy/entrypoint.sh", "healthcheck", "fix"]
    assert fix["ports"][0].startswith("${EMSWEB_FIX_BIND:-127.0.0.1}:")
    # The gateway listens, inside the container, on every interface and on the mapped port, even
    # where .env sets EMSWEB_FIX_HOST for make run.
    assert fix["environment"]["EMSWEB_FIX_HOST"] == "0.0.0.0"
    assert fix["ports"][0].endswith(f":{fix['environment']['EMSWEB_FIX_PORT']}")


def test_flower_is_behind_a_profile_a_login_and_loopback():
    flower = SERVICES["flower"]
    assert flower["profiles"] == ["monitoring"]
    assert flower["ports"][0].startswith("127.0.0.1:")
    assert "FLOWER_BASIC_AUTH" in flower["environment"]


def test_no_secret_is_written_in_the_compose_files():
    secretish = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|AUTH|_URL", re.I)
    for compose in (COMPOSE, WORKER_HOST):
        for name, service in compose["services"].items():
            assert service.get("env_file") in (None, ".env", "../.env"), name
            for variable, value in (service.get("environment") or {}).items():
                if secretish.search(variable):
                    assert re.fullmatch(r"\$\{[A-Z_]+(:[?-][^}]*)?\}", str(value)), (name, variable)


def test_every_variable_the_compose_files_use_is_documented_in_the_env_example():
    documented = set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, flags=re.M))
    for path in ("docker-compose.yml", "deploy/worker-host.compose.yml"):
        used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]+)", (ROOT / path).read_text()))
        assert used <= documented, used - documented


def test_the_image_is_python_311_slim_unprivileged_with_static_files_collected_at_build():
    stages = re.findall(r"^FROM (\S+)", DOCKERFILE, flags=re.M)
    assert stages and all(image.startswith("python:3.11-slim") for image in stages)
    users = re.findall(r"^USER (\S+)", DOCKERFILE, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert "manage.py collectstatic" in DOCKERFILE
    assert 'ENTRYPOINT ["/app/deploy/entrypoint.sh"]' in DOCKERFILE
    assert '".env"' not in DOCKERFILE and "ENV SECRET_KEY" not in DOCKERFILE


def test_the_image_installs_exactly_the_projects_own_pins():
    """The Dockerfile's one-liner, run here: pyproject's dependencies, not the test extra."""
    code = re.search(r'RUN python -c "(import tomllib.*?)" >', DOCKERFILE).group(1)
    printed = subprocess.run(
        [sys.executable, "-c", code],  # in sh's double quotes, \n reaches Python as is
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert printed == project["dependencies"]
    assert "pytest" not in " ".join(printed)


def test_the_dockerignore_keeps_secrets_and_local_state_out_of_the_image():
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for entry in (".env", ".venv", "var", ".git"):
        assert entry in ignored


@pytest.mark.parametrize("command", ["web", "worker", "beat", "migrate"])
def test_the_entrypoint_refuses_to_start_with_a_placeholder_left(command):
    run = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh"), command],
        env={"PATH": "/usr/bin:/bin", "SECRET_KEY": "change-me-please", "OTHER": "fine"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 78
    assert "SECRET_KEY" in run.stderr and "please" not in run.stderr
    assert "OTHER" not in run.stderr


def test_the_entrypoint_is_valid_sh_and_names_its_commands_on_a_wrong_one():
    assert subprocess.run(["sh", "-n", str(ROOT / "deploy" / "entrypoint.sh")]).returncode == 0
    run = subprocess.run(
        ["sh", str(ROOT / "deploy" / "entrypoint.sh"), "nonsense"], capture_output=True, text=True
    )
    assert run.returncode == 2 and "web|worker|beat|fix|migrate" in run.stderr


def test_the_deploy_sections_api_check_reads_the_host_the_port_and_the_admin_the_stack_has(
    tmp_path,
):
    check = api_check()
    assert {"HOST", "WEB", "KEY", "curl"} <= check.keys(), "Deploy shows no check of /v1"
    (tmp_path / ".env").write_text(ENV_EXAMPLE)  # what `cp .env.example .env` leaves
    host = subprocess.run(
        ["sh", "-c", f'{check["HOST"]}\nprintf %s "$HOST"'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert host == example("ALLOWED_HOSTS").split(",")[0]
    published = SERVICES["web"]["ports"][0].rsplit(":", 1)[1]
    assert check["WEB"].split("#")[0].strip() == f"WEB=$(docker compose port web {published})"
    admin = example("DJANGO_SUPERUSER_USERNAME")
    manage = f"/app/deploy/entrypoint.sh manage create_api_key {admin}"
    assert check["KEY"] == f"KEY=$(docker compose exec -T web {manage} | tail -1)"
    assert "manage" in entrypoint_commands()


def test_the_deploy_sections_api_check_gets_through_where_the_make_run_example_is_refused(
    client, settings, django_user_model
):
    """Replayed against the app with .env.example's host, redirect and proxy header."""
    settings.ALLOWED_HOSTS = example("ALLOWED_HOSTS").split(",")
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = tuple(example("SECURE_PROXY_SSL_HEADER").split(","))
    admin = django_user_model.objects.create_superuser(example("DJANGO_SUPERUSER_USERNAME"))
    key = api_key_create(user=admin)[1]
    host = settings.ALLOWED_HOSTS[0]
    curl = shlex.split(api_check()["curl"], comments=True)
    sent = [curl[n + 1] for n, word in enumerate(curl) if word == "-H"]
    headers = dict(
        header.replace("$HOST", host).replace("$KEY", key).split(": ", 1) for header in sent
    )
    path = urlsplit(curl[-1]).path
    answered = client.get(path, headers=headers)
    assert (path, answered.status_code) == ("/v1/balances", 200)
    assert isinstance(answered.json(), list)
    # The REST API section's example, for make run: the wrong host, then plain http.
    refused = client.get(path, headers={"Host": "127.0.0.1:8000", "X-CoinAPI-Key": key})
    assert refused.status_code == 400
    redirected = client.get(path, headers={"Host": host, "X-CoinAPI-Key": key})
    assert (redirected.status_code, redirected["Location"]) == (301, f"https://{host}{path}")
