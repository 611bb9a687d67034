import pytest

# The GHL HTTP watch (tests/ghl_http.py): every test here fails on a GHL request sent inside transaction.atomic.
from tests.ghl_http import ghl_http_opened, ghl_http_outside_transactions  # noqa: F401
from tests.vapi import live_call_setup


@pytest.fixture
def live(cast):
    """A Chicago client on the GHL sandbox whose assistant books into two calendars; Vapi posts to `cast.url`."""
    return live_call_setup(cast)
