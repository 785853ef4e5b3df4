"""emsweb.redis's signal: a request waits, bounded, for a worker to say that something is done."""

import uuid

from emsweb.redis import signal_send, signal_wait


def a_key() -> str:
    return f"emsweb:test-signal:{uuid.uuid4().hex}"


def test_a_signal_sent_before_the_wait_is_not_missed(redis_broker):
    key = a_key()
    signal_send(key, keep_seconds=10)
    assert signal_wait(key, timeout=1)


def test_a_wait_of_no_time_looks_once_and_does_not_wait_for_ever(redis_broker):
    # Redis reads a BLPOP timeout of 0 as "wait for ever": a setting of 0 must not hang a request.
    key = a_key()
    assert not signal_wait(key, timeout=0)
    signal_send(key, keep_seconds=10)
    assert signal_wait(key, timeout=0)
