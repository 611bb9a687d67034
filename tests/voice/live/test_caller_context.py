"""The caller context at call start (voice.live.caller): what the assistant knows from its first word."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from django.utils import timezone

from integrations.ghl.sandbox import store
from integrations.ghl.sandbox.transport import GhlSandboxTransport
from integrations.ghl.selectors import connection_for_client_id
from integrations.ghl.services import connection_disconnect
from integrations.vapi.specs import validation_errors
from tests.clock import install_fake_clock
from tests.vapi import CALLER, CHICAGO, call_start
from voice.live.caller import CALLER_LOOKUP_SECONDS, caller_context_variables, caller_facts
from voice.live.setup import assistant_setup_build
from voice.models import PhoneNumber

pytestmark = pytest.mark.django_db

LOCATION = "sbxLocChicago0000001"


@pytest.fixture
def number(live):
    return PhoneNumber.objects.create(
        agency=live.agency, vapi_id="pn-1", number="+13125550100", assistant=live.assistant
    )


def _contact(first_name="Jane", phone=CALLER) -> str:
    contact_id = f"ct-{first_name.lower()}"
    store.create("contact", {"id": contact_id, "firstName": first_name, "phone": phone}, parent_id=LOCATION)
    return contact_id


def _appointment(live, contact_id: str, start: datetime, *, status="confirmed", service="cleaning") -> None:
    calendar_id = live.assistant.calendars.get(spoken_name=service).calendar_id
    appointment = {
        "id": f"appt-{start:%m%d%H%M}-{status}",
        "calendarId": calendar_id,
        "locationId": LOCATION,
        "contactId": contact_id,
        "startTime": start.isoformat(),
        "endTime": (start + timedelta(minutes=30)).isoformat(),
        "appointmentStatus": status,
    }
    store.create("appointment", appointment, parent_id=calendar_id)


def _call_start(client, live, *, call_id="call-start-1", caller=CALLER) -> dict:
    return call_start(client, live.url, call_id=call_id, caller=caller)


def _variables(answer: dict) -> dict:
    return answer["assistantOverrides"]["variableValues"]


def test_a_known_caller_is_greeted_by_name_with_their_upcoming_appointments(live, number, client):
    contact_id = _contact("Jane")
    soon = (timezone.now() + timedelta(days=3)).replace(hour=15, minute=0, second=0, microsecond=0)
    _appointment(live, contact_id, soon)
    _appointment(live, contact_id, soon + timedelta(days=1), status="cancelled")
    _appointment(live, contact_id, timezone.now() - timedelta(days=2))

    answer = _call_start(client, live)

    assert answer["assistantId"] == "asst-live-1"
    assert validation_errors(schema_name="ServerMessageResponseAssistantRequest", instance=answer, strict=True) == []
    variables = _variables(answer)
    assert (variables["caller_known"], variables["caller_first_name"], variables["caller_lookup"]) == (
        "yes",
        "Jane",
        "done",
    )
    local = soon.astimezone(CHICAGO)
    expected = f"{local:%A, %B} {local.day} at {local.hour % 12 or 12} {'AM' if local.hour < 12 else 'PM'} (cleaning)"
    assert variables["caller_appointments"] == expected  # neither the cancelled one nor the past one
    assert (
        variables["caller_context"]
        == f"The caller is Jane, a known contact, with an upcoming appointment on {expected}."
    )
    today = timezone.now().astimezone(CHICAGO)
    assert variables["weekday"] == f"{today:%A}" and variables["today"] == f"{today:%A, %B} {today.day}, {today.year}"
    assert variables["business_hours"] == "Monday to Friday 9 AM to 5 PM; closed Saturday and Sunday"


def test_an_unknown_caller_is_said_to_be_new(live, number, client):
    _contact("Jane", phone="+13125550999")
    variables = _variables(_call_start(client, live))
    assert (variables["caller_known"], variables["caller_first_name"], variables["caller_appointments"]) == (
        "no",
        "",
        "none",
    )
    assert variables["caller_context"] == "The caller is not in the client's contacts yet."


def test_appointments_are_spoken_in_the_clients_zone_across_the_clocks_going_back(live):
    # November 1, 2026: Chicago goes from UTC-5 to UTC-6. Both appointments are at 9 AM on the wall clock.
    contact_id = _contact("Jane")
    _appointment(live, contact_id, datetime(2026, 10, 31, 14, 0, tzinfo=UTC))
    _appointment(live, contact_id, datetime(2026, 11, 2, 15, 0, tzinfo=UTC), service="consultation")
    setup = assistant_setup_build(live.assistant)
    now = datetime(2026, 10, 30, 15, 0, tzinfo=UTC)

    variables = caller_context_variables(setup=setup, facts=caller_facts(setup=setup, caller=CALLER), now=now)

    assert variables["caller_appointments"] == (
        "Saturday, October 31 at 9 AM (cleaning); Monday, November 2 at 9 AM (consultation)"
    )
    assert variables["today"] == "Friday, October 30, 2026"
    # Late on the 31st in Chicago is already November 1 in UTC: the client's day counts.
    late = caller_context_variables(
        setup=setup, facts=caller_facts(setup=setup, caller=CALLER), now=datetime(2026, 11, 1, 4, 30, tzinfo=UTC)
    )
    assert (late["today"], late["weekday"]) == ("Saturday, October 31, 2026", "Saturday")
    assert late["caller_appointments"] == "Monday, November 2 at 9 AM (consultation)"


def test_a_slow_ghl_is_left_out_within_its_budget_and_the_call_is_still_answered(
    live, number, client, monkeypatch, caplog
):
    _contact("Jane")
    clock = install_fake_clock(monkeypatch, "integrations.ghl.client")
    timeouts = []

    def slow(self, request):
        timeouts.append(request.extensions["timeout"]["read"])
        clock.now += 0.7  # GHL takes its time, then fails
        return httpx.Response(503, json={"message": "Service Unavailable"}, request=request)

    monkeypatch.setattr(GhlSandboxTransport, "handle_request", slow)
    started = clock.now

    answer = _call_start(client, live)

    assert answer["assistantId"] == "asst-live-1"
    variables = _variables(answer)
    assert (variables["caller_known"], variables["caller_lookup"]) == (
        "unknown",
        "skipped: GoHighLevel did not answer in time",
    )
    assert "could not be looked up" in variables["caller_context"]
    assert variables["today"] and variables["business_hours"]
    assert timeouts and max(timeouts) <= CALLER_LOOKUP_SECONDS
    assert clock.now - started <= CALLER_LOOKUP_SECONDS + 0.7  # the last request may start just before the deadline
    assert "Caller context of call call-start-1" in caplog.text
    assert validation_errors(schema_name="ServerMessageResponseAssistantRequest", instance=answer, strict=True) == []


def test_a_client_without_ghl_gets_the_rest_of_the_context(live, number, client, ghl_http_opened):
    connection_disconnect(connection=connection_for_client_id(client_id=live.client_account.pk))
    opened_before = len(ghl_http_opened)

    answer = _call_start(client, live)

    variables = _variables(answer)
    assert answer["assistantId"] == "asst-live-1"
    assert (variables["caller_known"], variables["caller_lookup"]) == (
        "unknown",
        "skipped: GoHighLevel is not connected",
    )
    assert variables["time_zone"] == "America/Chicago"
    assert len(ghl_http_opened) == opened_before  # GHL was not asked


def test_a_second_call_from_the_same_caller_is_answered_from_the_cache(live, number, client, ghl_http_opened):
    _contact("Jane")
    first = _call_start(client, live, call_id="call-start-1")
    opened = len(ghl_http_opened)
    assert opened == 1

    again = _call_start(client, live, call_id="call-start-2")
    assert len(ghl_http_opened) == opened  # no new GHL lookup
    assert _variables(again) == _variables(first) and _variables(again)["caller_first_name"] == "Jane"

    _call_start(client, live, call_id="call-start-3", caller="+13125550198")
    assert len(ghl_http_opened) == opened + 1  # another caller is looked up


def test_business_hours_are_said_the_way_a_receptionist_would():
    from voice.live.caller import spoken_business_hours

    nine_to_five = {"open": "09:00", "close": "17:00"}
    hours = {"mon": nine_to_five, "tue": nine_to_five, "wed": None, "thu": nine_to_five, "fri": nine_to_five}
    hours |= {"sat": {"open": "10:00", "close": "14:30"}, "sun": None}
    assert spoken_business_hours(hours) == (
        "Monday and Tuesday 9 AM to 5 PM; Thursday and Friday 9 AM to 5 PM; Saturday 10 AM to 2:30 PM; "
        "closed Wednesday and Sunday"
    )
    assert spoken_business_hours({}) == "closed every day"


def test_odd_appointments_in_ghl_are_left_out_not_a_failed_call(live, number, client):
    contact_id = _contact("Jane")
    past_in_a_list = {"startTime": "2020-01-06T09:00:00-06:00", "calendarId": ["x"]}
    for index, odd in enumerate([{"startTime": "10000-01-01T09:00:00"}, {"startTime": None}, past_in_a_list]):
        store.create("appointment", {"id": f"odd-{index}", "contactId": contact_id, **odd}, parent_id="cal")
    variables = _variables(_call_start(client, live))
    assert (variables["caller_first_name"], variables["caller_appointments"]) == ("Jane", "none")
