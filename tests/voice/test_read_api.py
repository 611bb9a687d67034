"""The read API's calls, bookings and clients, as an agency's own software sees them with its key."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tenants.services import api_key_create, client_create
from tests.factories import AssistantFactory, BookingFactory, CallFactory, ToolCallRecordFactory
from voice.models import Booking, BookingStatus, Call, ToolCallRecord

pytestmark = pytest.mark.django_db

MAY_1 = datetime(2026, 5, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def api(cast, client):
    """Returns a GET function that sends agency A's key (or another agency's, with agency=)."""
    keys = {}

    def get(url, agency=None, **params):
        agency = agency or cast.agency
        if agency.pk not in keys:
            keys[agency.pk] = api_key_create(agency=agency, name="Test")[1]
        return client.get(url, params, HTTP_AUTHORIZATION=f"Bearer {keys[agency.pk]}")

    return get


def ids(response):
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_calls_are_listed_newest_first_with_their_client_and_assistant(cast, api):
    assistant = AssistantFactory(client=cast.client_account)
    older = CallFactory(client=cast.client_account, started_at=MAY_1 - timedelta(hours=1), assistant=assistant)
    newer = CallFactory(
        client=cast.client_account,
        started_at=MAY_1,
        assistant=assistant,
        cost=Decimal("0.1234"),
        summary="Booked a cleaning.",
    )
    BookingFactory(call=newer, start=MAY_1 + timedelta(days=3))
    response = api("/api/v1/calls/")
    assert ids(response) == [str(newer.public_id), str(older.public_id)]
    row = response.json()["results"][0]
    assert row["client"] == {"id": str(cast.client_account.public_id), "name": "A Dental"}
    assert row["assistant"] == {"id": str(assistant.public_id), "name": "Front desk"}
    assert (row["cost"], row["summary"]) == ("0.1234", "Booked a cleaning.")
    assert "transcript" not in row


def test_calls_filter_by_client_assistant_and_start(cast, api):
    assistant = AssistantFactory(client=cast.client_account)
    dental = CallFactory(client=cast.client_account, started_at=MAY_1, assistant=assistant)
    physio = CallFactory(client=cast.other_client, started_at=MAY_1 + timedelta(days=1))
    late_may_1 = CallFactory(client=cast.client_account, started_at=datetime(2026, 5, 1, 23, 30, tzinfo=UTC))
    everything = {str(c.public_id) for c in (dental, physio, late_may_1)}
    assert set(ids(api("/api/v1/calls/"))) == everything
    assert ids(api("/api/v1/calls/", client=cast.other_client.public_id)) == [str(physio.public_id)]
    assert ids(api("/api/v1/calls/", assistant=assistant.public_id)) == [str(dental.public_id)]
    # A date covers its whole day, both ends included.
    may_1 = {str(dental.public_id), str(late_may_1.public_id)}
    assert set(ids(api("/api/v1/calls/", started_after="2026-05-01", started_before="2026-05-01"))) == may_1
    assert ids(api("/api/v1/calls/", started_after="2026-05-02")) == [str(physio.public_id)]
    # A datetime's offset is honoured: 10:30 in Chicago is 15:30 UTC.
    after = ids(api("/api/v1/calls/", started_after="2026-05-01T10:30:00-05:00"))
    assert set(after) == {str(physio.public_id), str(late_may_1.public_id)}
    assert ids(api("/api/v1/calls/", started_before="2026-05-01T15:00:00")) == [str(dental.public_id)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"client": "not-a-uuid"}, "client"),
        ({"assistant": "42"}, "assistant"),
        ({"started_after": "yesterday"}, "started_after"),
        ({"started_before": "2026-13-01"}, "started_before"),
        ({"started_after": "0001-01-01T00:00:00+05:00"}, "started_after"),
        ({"started_after": "2026-05-02", "started_before": "2026-05-01"}, "non_field_errors"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_bad_call_filters_get_400_naming_the_parameter(cast, api, params, field):
    CallFactory(client=cast.client_account, started_at=MAY_1)
    response = api("/api/v1/calls/", **params)
    assert response.status_code == 400
    assert field in response.json()


def test_calls_filter_by_outcome_and_show_it(cast, api):
    booked = CallFactory(client=cast.client_account, started_at=MAY_1, outcome="booked")
    failed = CallFactory(client=cast.client_account, started_at=MAY_1 - timedelta(hours=1), outcome="failed")
    assert ids(api("/api/v1/calls/", outcome="booked")) == [str(booked.public_id)]
    assert ids(api("/api/v1/calls/", outcome="transferred")) == []
    assert [r["outcome"] for r in api("/api/v1/calls/").json()["results"]] == ["booked", "failed"]
    assert api(f"/api/v1/calls/{failed.public_id}/").json()["outcome"] == "failed"


def test_lists_are_paged_with_a_page_size_limit(cast, api):
    calls = [CallFactory(client=cast.client_account, started_at=MAY_1 - timedelta(minutes=n)) for n in range(5)]
    first = api("/api/v1/calls/", page_size=2).json()
    assert first["count"] == 5
    assert [r["id"] for r in first["results"]] == [str(c.public_id) for c in calls[:2]]
    assert "page=2" in first["next"]
    third = api("/api/v1/calls/", page_size=2, page=3).json()
    assert [r["id"] for r in third["results"]] == [str(calls[4].public_id)]
    assert third["next"] is None
    assert api("/api/v1/calls/", page=9).status_code == 404


def test_calls_starting_together_keep_one_order_across_pages(cast, api):
    calls = [CallFactory(client=cast.client_account, started_at=MAY_1, created_at=MAY_1) for n in range(6)]
    pages = [ids(api("/api/v1/calls/", page_size=2, page=p)) for p in (1, 2, 3)]
    seen = [i for page in pages for i in page]
    assert sorted(seen) == sorted(str(c.public_id) for c in calls)


def test_call_detail_has_everything_about_the_call(cast, api):
    call = CallFactory(
        client=cast.client_account,
        started_at=MAY_1,
        transcript="AI: Hello\nUser: Hi",
        messages=[{"role": "bot", "message": "Hello"}],
        summary="Booked.",
        structured_data={"intent": "book"},
        recording_url="https://storage.vapi.ai/rec.wav",
        stereo_recording_url="https://storage.vapi.ai/stereo.wav",
        cost=Decimal("0.5"),
        cost_breakdown=[{"type": "model", "cost": 0.2}],
    )
    ToolCallRecord.objects.create(
        call=call, tool_call_id="tc-1", name="book_appointment", arguments={"time": "3pm"}, result="Booked."
    )
    booked = BookingFactory(call=call, tool_call_id="tc-1", start=MAY_1 + timedelta(days=3))
    BookingFactory(call=call, tool_call_id="tc-2", start=MAY_1 + timedelta(days=4), status=BookingStatus.PENDING)
    detail = api(f"/api/v1/calls/{call.public_id}/").json()
    assert detail["transcript"] == "AI: Hello\nUser: Hi"
    assert detail["messages"] == [{"role": "bot", "message": "Hello"}]
    assert detail["structured_data"] == {"intent": "book"}
    assert detail["recording_url"] == "https://storage.vapi.ai/rec.wav"
    assert detail["stereo_recording_url"] == "https://storage.vapi.ai/stereo.wav"
    assert (detail["cost"], detail["cost_breakdown"]) == ("0.5000", [{"type": "model", "cost": 0.2}])
    assert [(t["name"], t["result"]) for t in detail["tool_calls"]] == [("book_appointment", "Booked.")]
    assert [b["id"] for b in detail["bookings"]] == [str(booked.public_id)]
    assert detail["bookings"][0]["call"] == str(call.public_id)


def test_a_call_not_yet_matched_to_a_client_or_assistant_reads_as_nulls(cast, api):
    call = Call.objects.create(agency=cast.agency, vapi_call_id="call-early")
    detail = api(f"/api/v1/calls/{call.public_id}/").json()
    assert (detail["client"], detail["assistant"], detail["started_at"], detail["cost"]) == (None, None, None, None)
    assert ids(api("/api/v1/calls/")) == [str(call.public_id)]
    orphan = BookingFactory(
        call=CallFactory(client=cast.client_account, started_at=MAY_1),
        tool_call_id="tc-9",
        start=MAY_1 + timedelta(days=3),
    )
    Booking.objects.filter(pk=orphan.pk).update(call=None)
    assert api("/api/v1/bookings/").json()["results"][0]["call"] is None


def test_bookings_are_listed_and_filtered(cast, api):
    call = CallFactory(client=cast.client_account, started_at=MAY_1)
    physio_call = CallFactory(client=cast.other_client, started_at=MAY_1)
    soon = BookingFactory(
        call=call,
        tool_call_id="tc-1",
        start=datetime(2026, 5, 4, 14, 0, tzinfo=UTC),
        calendar_name="Dental cleaning",
        spoken_result="You're booked.",
    )
    later = BookingFactory(call=physio_call, tool_call_id="tc-2", start=datetime(2026, 5, 9, 14, 0, tzinfo=UTC))
    cancelled = BookingFactory(
        call=call, tool_call_id="tc-3", start=datetime(2026, 5, 6, 9, 0, tzinfo=UTC), status=BookingStatus.CANCELLED
    )
    BookingFactory(call=call, tool_call_id="tc-4", start=MAY_1 + timedelta(days=3), status=BookingStatus.PENDING)
    response = api("/api/v1/bookings/")
    assert ids(response) == [str(later.public_id), str(cancelled.public_id), str(soon.public_id)]
    row = response.json()["results"][-1]
    assert (row["status"], row["calendar_name"], row["result"]) == ("booked", "Dental cleaning", "You're booked.")
    assert row["client"]["name"] == "A Dental"
    assert ids(api("/api/v1/bookings/", client=cast.other_client.public_id)) == [str(later.public_id)]
    assert ids(api("/api/v1/bookings/", status="cancelled")) == [str(cancelled.public_id)]
    assert ids(api("/api/v1/bookings/", start_after="2026-05-05", start_before="2026-05-08")) == [
        str(cancelled.public_id)
    ]
    for params in ({"status": "pending"}, {"status": "nope"}, {"start_before": "May 5"}):
        response = api("/api/v1/bookings/", **params)
        assert response.status_code == 400
        assert list(response.json()) == [next(iter(params))]


def test_clients_are_listed_by_name(cast, api):
    response = api("/api/v1/clients/")
    assert [c["name"] for c in response.json()["results"]] == ["A Dental", "A Physio"]
    assert response.json()["results"][0] == {
        "id": str(cast.client_account.public_id),
        "name": "A Dental",
        "time_zone": "America/Chicago",
        "contact_email": "",
        "created_at": response.json()["results"][0]["created_at"],
    }


def test_another_agencys_key_sees_none_of_agency_a(cast, api):
    call = CallFactory(client=cast.client_account, started_at=MAY_1)
    BookingFactory(call=call, start=MAY_1 + timedelta(days=3))
    outsider = cast.agency_b
    assert ids(api("/api/v1/calls/", agency=outsider)) == []
    assert ids(api("/api/v1/bookings/", agency=outsider)) == []
    assert ids(api("/api/v1/calls/", agency=outsider, client=cast.client_account.public_id)) == []
    assert ids(api("/api/v1/clients/", agency=outsider)) == [str(cast.client_b.public_id)]
    assert api(f"/api/v1/calls/{call.public_id}/", agency=outsider).status_code == 404
    assert api(f"/api/v1/calls/{call.public_id}/").status_code == 200


def _populate(cast, first, count):
    assistant = AssistantFactory(client=cast.client_account, name=f"Desk {first}")
    for n in range(first, first + count):
        call = CallFactory(client=cast.client_account, started_at=MAY_1, assistant=assistant)
        BookingFactory(call=call, tool_call_id=f"tc-{n}", start=MAY_1 + timedelta(days=3, hours=n))
        ToolCallRecordFactory(call=call, tool_call_id=f"tc-{n}")


@pytest.mark.parametrize("url", ["/api/v1/calls/", "/api/v1/bookings/", "/api/v1/clients/"])
def test_list_queries_do_not_grow_with_rows(cast, api, django_assert_num_queries, url):
    _populate(cast, 0, 1)
    api(url)  # the first request also records that the key was used
    with django_assert_num_queries(3) as one_row:
        assert api(url).json()["count"] == (2 if "clients" in url else 1)
    _populate(cast, 1, 19)
    for n in range(18):
        client_create(agency=cast.agency, name=f"Extra {n}", time_zone="UTC")
    with django_assert_num_queries(len(one_row)):
        assert api(url).json()["count"] == 20


def test_call_detail_queries_do_not_grow_with_tool_calls_and_bookings(cast, api, django_assert_num_queries):
    call = CallFactory(client=cast.client_account, started_at=MAY_1)
    BookingFactory(call=call, tool_call_id="tc-0", start=MAY_1 + timedelta(days=3))
    ToolCallRecordFactory(call=call, tool_call_id="tc-0")
    url = f"/api/v1/calls/{call.public_id}/"
    api(url)
    with django_assert_num_queries(4) as one_each:
        assert len(api(url).json()["bookings"]) == 1
    for n in range(1, 20):
        BookingFactory(call=call, tool_call_id=f"tc-{n}", start=MAY_1 + timedelta(days=3, hours=n))
        ToolCallRecordFactory(call=call, tool_call_id=f"tc-{n}")
    with django_assert_num_queries(len(one_each)):
        detail = api(url).json()
    assert (len(detail["bookings"]), len(detail["tool_calls"])) == (20, 20)


def test_the_schema_is_public_and_documents_every_endpoint(client):
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]) == {
        "/api/v1/clients/",
        "/api/v1/clients/{client_id}/summary/",
        "/api/v1/calls/",
        "/api/v1/calls/{call_id}/",
        "/api/v1/bookings/",
        "/api/v1/proof/",
        "/api/webhooks/ghl/",
        "/api/webhooks/vapi/{agency_id}/",
    }
    assert schema["components"]["securitySchemes"]["agencyApiKey"] == {"type": "http", "scheme": "bearer"}
    calls = schema["paths"]["/api/v1/calls/"]["get"]
    assert calls["security"] == [{"agencyApiKey": []}]
    assert {"client", "assistant", "started_after", "started_before", "page", "page_size"} <= {
        p["name"] for p in calls["parameters"]
    }
    assert "application/json" in schema["paths"]["/api/webhooks/ghl/"]["post"]["requestBody"]["content"]
