"""Which server for the web port: the API bench's floor (bench/urls.py's constant JSON view,
through all of production's middleware) with 1 and 16 keep-alive clients, on each candidate.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/emsweb_bench_servers \\
    REDIS_URL=redis://127.0.0.1:6379/5 .venv/bin/python -m bench.servers [--rounds 3]

Candidates: gunicorn gthread with the WSGI application (what production ran), gunicorn's uvicorn
workers with the WSGI application in a2wsgi's threads (emsweb.asgi) or with Django's own ASGI
handler (bench.servers_asgi), and daphne (one process; install it with `pip install --target
DIR daphne` and pass --daphne DIR). Rounds are interleaved, so a noisy moment hits every
candidate alike; each figure is the median of the rounds' p50s (and p99s).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import subprocess
import sys
import time

from . import stack
from .client import timed
from .stats import summary

CANDIDATES = {
    "gunicorn gthread, WSGI (before)": [
        "gunicorn", "-c", "deploy/gunicorn.conf.py", "emsweb.wsgi:application",
        "--worker-class", "gthread", "--threads", "8",
    ],
    "gunicorn + uvicorn, a2wsgi threads (emsweb.asgi)": [
        "gunicorn", "-c", "deploy/gunicorn.conf.py", "emsweb.asgi:application",
    ],
    "gunicorn + uvicorn, Django ASGIHandler": [
        "gunicorn", "-c", "deploy/gunicorn.conf.py", "bench.servers_asgi:application",
    ],
}  # fmt: skip
# After the virtualenv's own packages, so that daphne's copies of shared ones do not shadow them.
DAPHNE_RUN = (
    "import sys; sys.path.append(sys.argv.pop(1)); "
    "from daphne.cli import CommandLineInterface; CommandLineInterface.entrypoint()"
)


def environment(port: int, workers: int) -> dict[str, str]:
    env = stack.environment(os.environ["DATABASE_URL"], os.environ["REDIS_URL"])
    env.update(GUNICORN_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers))
    return env


def serve(argv: list[str], env: dict[str, str], port: int) -> subprocess.Popen:
    log = open(stack.WORK / "servers.log", "a")  # noqa: SIM115 - the child holds it
    process = subprocess.Popen(
        argv, cwd=stack.ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, process_group=0
    )

    def answers() -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"{argv[0]} exited {process.returncode}: see servers.log")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/bench/constant")
            return connection.getresponse().status == 200
        except OSError:
            return False

    stack.wait_until(argv[0], answers, timeout=60, every=0.2)
    return process


def prepare() -> None:
    """The database (made if missing) migrated: the stream's hub reads it in every candidate."""
    env = environment(0, 1)
    stack.database_ensure(env["DATABASE_URL"], fresh=False)
    subprocess.run(
        [str(stack.BIN / "python"), "manage.py", "migrate", "--verbosity", "0"],
        cwd=stack.ROOT,
        env=env,
        check=True,
    )


def constant(k, n):
    return "GET", "/bench/constant", None


def measure(port: int, scale: float) -> dict[str, dict]:
    return {
        "1 client": summary(timed(port, {}, 1, int(1000 * scale), constant, warm_up=50)),
        "16 clients": summary(timed(port, {}, 16, int(100 * scale), constant, warm_up=10)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.servers")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--daphne", help="a directory daphne was pip-installed into (--target)")
    args = parser.parse_args()
    stack.WORK.mkdir(parents=True, exist_ok=True)
    prepare()
    candidates = {name: [stack.BIN / argv[0], *argv[1:]] for name, argv in CANDIDATES.items()}
    if args.daphne:
        candidates["daphne, one process, a2wsgi threads (emsweb.asgi)"] = [
            sys.executable, "-c", DAPHNE_RUN, args.daphne, "emsweb.asgi:application",
        ]  # fmt: skip
    results: dict[str, list[dict]] = {name: [] for name in candidates}
    for round_ in range(args.rounds):
        for name, argv in candidates.items():
            port = stack.free_port()
            env = environment(port, args.workers)
            argv = [str(part) for part in argv]
            if argv[0] == sys.executable:  # daphne
                argv += ["--bind", "127.0.0.1", "--port", str(port)]
            process = serve(argv, env, port)
            try:
                results[name].append(measure(port, args.scale))
            finally:
                stack.stop_group(process, timeout=20)
            figures = results[name][-1]
            print(
                f"round {round_ + 1} {name}: "
                + "; ".join(
                    f"{k} p50 {v['p50']:.3f} p99 {v['p99']:.3f} ms" for k, v in figures.items()
                ),
                flush=True,
            )
            time.sleep(1)
    print("\nmedian over rounds (ms):")
    for name, rounds in results.items():
        cells = []
        for clients in ("1 client", "16 clients"):
            for key in ("p50", "p99"):
                cells.append(
                    f"{clients} {key} {statistics.median(r[clients][key] for r in rounds):.3f}"
                )
        print(f"  {name}: " + "; ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
