from collections import defaultdict
from unittest import mock

import pytest

from integrations import inbox

# The GHL HTTP watch (tests/ghl_http.py): every test here fails on a GHL request sent inside transaction.atomic.
from tests.ghl_http import ghl_http_opened, ghl_http_outside_transactions  # noqa: F401


@pytest.fixture
def inbox_store_alone(monkeypatch):
    """webhook_store alone: no handler runs and no kick is published, so only the store's own statements happen."""
    monkeypatch.setattr(inbox, "_handlers", defaultdict(list))
    monkeypatch.setattr(inbox, "webhook_kick", mock.Mock())
