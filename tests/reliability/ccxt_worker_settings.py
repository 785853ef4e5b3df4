"""A worker whose exchanges' HTTP goes to the simulated exchange a test serves on localhost
(tests/venues/fake_http.served) at EMSWEB_TEST_EXCHANGE_URL. The pool processes fork from the
main process after this module ran, so every one of them sends there too."""

import os

from tests.settings import *  # noqa: F403
from tests.venues.fake_http import forward

forward(os.environ["EMSWEB_TEST_EXCHANGE_URL"])

# The limits are tested on their own: here the test's syncs must never starve the worker.
EMSWEB_CCXT_BURST_SECONDS = 1e6
EMSWEB_CCXT_TIMEOUT = 5.0
