#!/bin/sh
# The image's one entrypoint: `web`, `worker`, `beat`, `fix` or `migrate` (what docker-compose.yml
# runs), plus `manage ...` for any manage.py command and `healthcheck web|worker|beat` for the
# compose healthchecks. Every setting comes from the environment (.env.example lists them).
# Outside the image it runs from a checkout with the virtualenv's bin/ on PATH (deploy/smoke.py).
set -eu
cd "$(dirname "$0")/.."

json_logs() { [ "${LOG_FORMAT:-json}" = json ]; }

# .env.example's placeholders say "change-me": refuse to run with one left (names only, no value).
refuse_placeholders() {
  left=$(env | grep -E '^[A-Za-z_][A-Za-z0-9_]*=.*change-me' | cut -d= -f1 | tr '\n' ' ' || true)
  if [ -n "$left" ]; then
    echo "entrypoint: replace the change-me placeholder in: $left(see .env.example)" >&2
    exit 78
  fi
}

command="${1:-web}"
[ "$#" -gt 0 ] && shift
case "$command" in
  web | worker | beat | fix | migrate) refuse_placeholders ;;
esac
case "$command" in
  web)
    exec gunicorn --config deploy/gunicorn.conf.py emsweb.asgi:application "$@"
    ;;
  worker)
    # JSON logs: no banner on stdout (--quiet), Celery's own lines go through the JSON handler.
    # CELERY_QUEUES: `orders` for the order path's own worker, `default` for syncs and beat's
    # tasks, `market` for the trading screen's books and candles (docker-compose.yml runs one of
    # each, so a sync never holds up an order); all three when one worker does everything. CELERY_WORKER_NAME tells apart two workers on one host.
    exec celery $(json_logs && echo --quiet) -A emsweb worker \
      --queues "${CELERY_QUEUES:-orders,default,market}" \
      --pool "${CELERY_POOL:-prefork}" --concurrency "${CELERY_CONCURRENCY:-2}" \
      --loglevel "${LOG_LEVEL:-INFO}" \
      --without-gossip --without-mingle \
      --hostname "${CELERY_WORKER_NAME:-worker}@%h" "$@"
    ;;
  beat)
    # Exactly one beat per deployment: two would publish every scheduled task twice.
    exec celery $(json_logs && echo --quiet) -A emsweb beat \
      --loglevel "${LOG_LEVEL:-INFO}" \
      --schedule "${CELERY_BEAT_SCHEDULE_FILE:-/tmp/celerybeat-schedule}" "$@"
    ;;
  fix)
    # The FIX gateway on EMSWEB_FIX_PORT (its sequence numbers under EMSWEB_FIX_DIR: a volume).
    exec python manage.py fix_gateway "$@"
    ;;
  migrate)
    # Run once per release, before web and workers start: the schema, then what a fresh
    # installation needs (the admin user, the paper account and its instruments; idempotent).
    python manage.py migrate --noinput "$@"
    exec python manage.py bootstrap
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  healthcheck)
    case "${1:-}" in
      worker)
        # This container's worker, named as Celery names it (worker@%h).
        node="${CELERY_WORKER_NAME:-worker}@$(python -c 'import socket; print(socket.gethostname())')"
        exec celery -A emsweb inspect ping --destination "$node" --timeout 10
        ;;
      *) exec python -m emsweb.health "$@" ;;
    esac
    ;;
  *)
    echo "usage: entrypoint.sh web|worker|beat|fix|migrate|manage ARGS|healthcheck web|worker|beat|fix" >&2
    exit 2
    ;;
esac
