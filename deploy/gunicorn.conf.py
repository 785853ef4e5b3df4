"""gunicorn settings for `entrypoint.sh web` (emsweb.asgi on uvicorn workers: the pages, /v1 and
the WebSocket stream on one port); each can be overridden from the environment.

Threads, not more processes: a POST /v1/orders waits (in Redis, not on the CPU) up to
EMSWEB_API_ROUTING_WAIT seconds for its routing outcome, so the timeout sits well above that.
The threads (GUNICORN_THREADS) are emsweb.asgi's, running the WSGI application.
"""

import os

bind = [os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")]
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "emsweb.web_worker.WebWorker"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 20
keepalive = 5
# A worker is replaced after this many requests: bounds the cost of any slow leak. Its open
# WebSockets are closed with 1012 then; their clients resume with ?since=<seq> and miss nothing.
max_requests = 2000
max_requests_jitter = 200
# Heartbeat files in memory, not on the container's overlay filesystem.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
accesslog = "-"
errorlog = "-"

if os.environ.get("LOG_FORMAT", "json") == "json":
    # Access and error lines as JSON too; emsweb.logging rebuilds each access line from its
    # fields with the query string masked (an API key may ride in ?apikey=).
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "emsweb.logging.JsonFormatter"}},
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "stream": "ext://sys.stdout",
            }
        },
        "loggers": {
            "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "gunicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
            # The uvicorn workers log through these (emsweb.web_worker masks their queries).
            "uvicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": ["console"], "level": "INFO", "propagate": False},
        },
        "root": {"handlers": ["console"], "level": "INFO"},
    }
