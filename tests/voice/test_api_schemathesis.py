"""schemathesis sends requests generated from /api/schema/ to every documented endpoint: none may answer 5xx.

The read API is tried with a valid key (agency A, which has a call and a booking) and with a key that does
not exist; the webhooks with whatever bodies and signature headers the schema allows.
"""

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from agencyhub.wsgi import application
from tenants.services import api_key_create
from voice.models import Booking, BookingStatus, Call

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
read_api = schema.include(method="GET", path_regex=r"^/api/v1/")
webhooks = schema.include(method="POST", path_regex=r"^/api/webhooks/")

# Few examples, always the same ones: a bounded, repeatable run inside the normal suite.
bounded = settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The raw WSGI app closes the connection after each request as in production (Django's test client
    does not); on PostgreSQL that would end the test's transaction, so the signal is off meanwhile."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def keys(cast):
    call = Call.objects.create(
        agency=cast.agency, client=cast.client_account, vapi_call_id="call-fuzz", started_at=timezone.now()
    )
    Booking.objects.create(
        client=cast.client_account, call=call, tool_call_id="tc-fuzz", calendar_id="cal", start=timezone.now()
    )
    Booking.objects.filter(call=call).update(status=BookingStatus.BOOKED)
    _, valid = api_key_create(agency=cast.agency, name="Fuzz")
    return {"valid": valid, "unknown": "ah_0123456789ab_" + "x" * 43}


@pytest.mark.django_db
@read_api.parametrize()
@bounded
def test_read_api_never_answers_5xx(case, keys):
    for key in keys.values():
        response = case.call(headers={"Authorization": f"Bearer {key}"})
        case.validate_response(response, checks=[not_a_server_error])


@pytest.mark.django_db
@webhooks.parametrize()
@bounded
def test_webhooks_never_answer_5xx(case, cast):
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error])
    assert response.status_code < 500
