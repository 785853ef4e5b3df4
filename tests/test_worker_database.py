"""A worker keeps its database connection from task to task while it is sound (bench/README.md:
one connection per task cost the order path 40% of its capacity), and drops it after a task
that failed, which may have been interrupted in the middle of a query."""

import time

from django.conf import settings
from django.db import connection

from emsweb.celery import app, keep_the_database_connection_while_it_is_sound


def test_celery_is_told_not_to_close_the_connection_after_every_task():
    assert settings.CELERY_DB_REUSE_MAX >= 100
    assert app.conf.get("CELERY_DB_REUSE_MAX") == settings.CELERY_DB_REUSE_MAX


def test_the_connection_outlives_a_task_that_succeeded(transactional_db):
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60  # CONN_MAX_AGE, as production has it
    kept = connection.connection
    keep_the_database_connection_while_it_is_sound(state="SUCCESS")
    assert connection.connection is kept


def test_the_connection_is_closed_once_past_its_max_age(transactional_db):
    connection.ensure_connection()
    connection.close_at = time.monotonic() - 1
    keep_the_database_connection_while_it_is_sound(state="SUCCESS")
    assert connection.connection is None


def test_the_connection_is_closed_after_a_task_that_did_not_succeed(transactional_db):
    for state in ("FAILURE", "RETRY", None):
        connection.ensure_connection()
        connection.close_at = time.monotonic() + 60
        keep_the_database_connection_while_it_is_sound(state=state)
        assert connection.connection is None, state
