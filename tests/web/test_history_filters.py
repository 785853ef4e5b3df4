"""The history's filter form keeps what was chosen, so a filtered page can be refined."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_filter_shows_the_chosen_account_status_dates_and_order(desk, viewer_web):
    account = desk["other"]
    page = viewer_web.get(
        "/orders/history/",
        {"account": account.pk, "status": "FILLED", "date_from": "2025-01-02", "sort": "created"},
    ).content.decode()
    assert f'<option value="{account.pk}" selected>PAPER/OTHER</option>' in page
    assert f'<option value="{desk["account"].pk}">PAPER/DESK</option>' in page
    assert '<option value="FILLED" selected>' in page
    assert '<option value="" selected>Any side</option>' in page
    assert 'name="date_from" value="2025-01-02"' in page
    assert '<option value="created" selected>Oldest first</option>' in page


def test_an_unfiltered_history_selects_nothing_but_the_defaults(desk, viewer_web):
    page = viewer_web.get("/orders/history/").content.decode()
    assert '<option value="" selected>Any account</option>' in page
    assert page.count(" selected>") == 3  # any account, any side, any status; newest first
