"""The production settings, plus what only the bench needs: the floor view's URL and the no-op
task. The harness (`python -m bench`), its Celery worker and its gunicorn all run with these;
nothing here changes how an order, a page or the API behaves."""

from emsweb.settings import *  # noqa: F403
from emsweb.settings import CELERY_IMPORTS, CELERY_TASK_ROUTES

ROOT_URLCONF = "bench.urls"
CELERY_IMPORTS = [*CELERY_IMPORTS, "bench.tasks"]
# The floor task travels the order path's queue, so it waits where route_order waits.
CELERY_TASK_ROUTES = {**CELERY_TASK_ROUTES, "bench.tasks.noop": {"queue": "orders"}}
