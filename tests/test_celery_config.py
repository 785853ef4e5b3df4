"""The broker settings that order safety relies on."""

import ast
from pathlib import Path

import pytest
from django.conf import settings

from emsweb.celery import app
from orders import tasks

ORDER_PATH = [tasks.route_order, tasks.cancel_order, tasks.cancel_all_orders]


def test_order_tasks_are_acknowledged_late_and_requeued_when_their_worker_dies():
    for task in ORDER_PATH:
        assert task.acks_late and task.reject_on_worker_lost, task.name
    assert settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1


@pytest.mark.fault(16, "time limit >= visibility timeout (static check)")
def test_no_task_can_outlive_the_brokers_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"]
    assert settings.CELERY_TASK_SOFT_TIME_LIMIT < settings.CELERY_TASK_TIME_LIMIT < visibility


def test_messages_are_json_and_carry_ids_only():
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]


@pytest.mark.fault(16, "eta/countdown on the order path (static check)")
def test_nothing_on_the_order_path_is_delayed_with_eta_or_countdown():
    """An ETA past the visibility timeout is redelivered in a loop on Redis: never use one."""
    for path in Path(settings.BASE_DIR, "orders").glob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.keyword) and node.arg in {"eta", "countdown"}:
                raise AssertionError(f"{path.name}:{node.value.lineno} uses {node.arg}")


def test_a_claimed_order_is_sent_by_its_deadline_or_never_so_well_before_never_placed():
    """The threads pool enforces no time limit: the send deadline, plus what one venue call may
    take (its turn, a cold markets load and the create, each bounded by ccxt's timeout), must
    end before the sync may declare the order never placed."""
    longest_send = (
        settings.EMSWEB_ROUTE_SEND_DEADLINE
        + settings.EMSWEB_CCXT_MAX_WAIT
        + 3 * settings.EMSWEB_CCXT_TIMEOUT
    )
    assert longest_send < settings.EMSWEB_NEVER_PLACED_AFTER or (
        settings.EMSWEB_NEVER_PLACED_AFTER == 2  # the test settings shorten it on purpose
    )


def test_an_order_is_declared_never_placed_only_after_no_worker_can_still_be_sending_it():
    assert settings.EMSWEB_NEVER_PLACED_AFTER > settings.CELERY_TASK_TIME_LIMIT or (
        settings.EMSWEB_NEVER_PLACED_AFTER == 2  # the test settings shorten it on purpose
    )
