import os

from celery import Celery
from celery.signals import task_postrun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "emsweb.settings")

app = Celery("emsweb")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_postrun.connect
def keep_the_database_connection_while_it_is_sound(state=None, **_) -> None:
    """A worker keeps its database connection from task to task as a web process does from
    request to request (CONN_MAX_AGE, CONN_HEALTH_CHECKS), instead of opening one per task
    (CELERY_DB_REUSE_MAX). After a task that did not succeed it is closed: an exception, a soft
    time limit say, may have interrupted a query and left it unusable in a way Django cannot
    see."""
    from django.db import close_old_connections, connections

    if state == "SUCCESS":
        close_old_connections()
    else:
        connections.close_all()
