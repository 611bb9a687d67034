# The GHL HTTP watch (tests/ghl_http.py): every test here fails on a GHL request sent inside transaction.atomic.
from tests.ghl_http import ghl_http_opened, ghl_http_outside_transactions  # noqa: F401
