"""The CSV export streams in chunks of rows: every row once, in order, whatever the chunk size."""

import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from orders import views
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_csv_holds_every_row_once_across_chunks(desk, admin_web, monkeypatch):
    monkeypatch.setattr(views, "CSV_BATCH", 2)
    start = timezone.now() - timedelta(hours=1)
    for n in range(5):
        OrderFactory(
            account=desk["account"],
            status="FILLED",
            client_order_id=f"csv-{n}",
            created_at=start + timedelta(minutes=n),
        )
    response = admin_web.get("/orders/history.csv")
    chunks = [chunk.decode() for chunk in response.streaming_content]
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert len(chunks) == 3  # the header with rows 1-2, rows 3-4, row 5
    assert rows[0][:2] == ["created_at", "client_order_id"]
    assert [row[1] for row in rows[1:]] == [f"csv-{n}" for n in range(4, -1, -1)]
