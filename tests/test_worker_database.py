"""A worker keeps its database connection from task to task while it is sound (bench/README.md:
one connection per task cost the order path 40% of its capacity), and drops it after a task
that failed, which may have been interrupted in the middle of a query."""

import time

from django.conf import settings
from django.db import connection

from emsweb import celery
from emsweb.celery import (
    app,
    keep_the_database_connection_while_it_is_sound,
    skip_the_health_check_of_a_connection_used_a_moment_ago,
)


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


def a_task_ends_and_the_next_starts(*, after: float, monkeypatch) -> bool:
    """Whether the next task's first query would be preceded by the health check."""
    connection.ensure_connection()
    connection.close_at = time.monotonic() + 60
    monkeypatch.setattr(connection, "health_check_enabled", True)  # as production sets it
    keep_the_database_connection_while_it_is_sound(state="SUCCESS")
    assert not connection.health_check_done  # Django would check it before the next query
    ended = time.monotonic()
    monkeypatch.setattr(celery.time, "monotonic", lambda: ended + after)
    skip_the_health_check_of_a_connection_used_a_moment_ago()
    return not connection.health_check_done


def test_a_task_right_after_one_that_succeeded_skips_the_health_check(
    transactional_db, monkeypatch
):
    assert not a_task_ends_and_the_next_starts(after=0.01, monkeypatch=monkeypatch)


def test_a_task_after_the_connection_idled_a_while_checks_it_first(transactional_db, monkeypatch):
    assert a_task_ends_and_the_next_starts(
        after=celery.SOUND_FOR_SECONDS + 1, monkeypatch=monkeypatch
    )


def test_a_task_after_one_that_failed_gets_a_new_connection_not_an_unchecked_one(
    transactional_db, monkeypatch
):
    connection.ensure_connection()
    keep_the_database_connection_while_it_is_sound(state="FAILURE")
    skip_the_health_check_of_a_connection_used_a_moment_ago()
    assert connection.connection is None
