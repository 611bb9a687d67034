"""Where the booking proof shows: the agency's call page, attention list, dashboards and read API; the client's own
portal shows only that its bookings were verified, never a mismatch or an alert."""

import pytest

from tenants.services import api_key_create
from tests.vapi import next_weekday, tool_calls, tool_results, vapi_post
from tests.voice.proof.test_booking_proof import book, end_call

pytestmark = pytest.mark.django_db


@pytest.fixture
def proven(live, client, django_capture_on_commit_callbacks):
    """Call 1 kept its word; call 2 told the caller a booking that was never made."""
    answer = book(client, live, hour=10, call_id="call-1")
    tuesday = next_weekday()
    tool_results(vapi_post(client, live.url, tool_calls(("c1", "check_availability", {"date": tuesday.isoformat()}))))
    live.clean = end_call(client, live, django_capture_on_commit_callbacks, call_id="call-1", said=[answer["result"]])
    live.broken = end_call(
        client, live, django_capture_on_commit_callbacks, call_id="call-2", said=["Lovely, you're booked for 3 PM."]
    )
    return live


def test_the_agency_sees_each_mismatch_on_the_call_and_in_the_attention_list(proven, as_user):
    owner = as_user(proven.owner)

    page = owner.get(f"/a/{proven.agency.slug}/calls/{proven.broken.call.public_id}/").content.decode()
    assert "Booking proof" in page and "Claimed but not made" in page
    assert "The assistant said: “Lovely, you&#x27;re booked for 3 PM.”" in page

    dashboard = owner.get(f"/a/{proven.agency.slug}/")
    attention = dashboard.context["attention"]
    assert [p.call for p in attention.proof_problems] == [proven.broken.call]
    assert f"/calls/{proven.broken.call.public_id}/" in dashboard.content.decode()
    # The incident is the same problem: listed once, through its call.
    assert attention.incidents == []
    assert dashboard.context["proof_rates"].overall.rate == 50.0 and "50%" in dashboard.content.decode()
    client_dashboard = owner.get(f"/a/{proven.agency.slug}/clients/{proven.client_account.public_id}/dashboard/")
    assert client_dashboard.context["proof_rates"].checked_assistants[0].rate == 50.0


def test_the_call_page_says_why_times_were_not_offered(proven, as_user):
    page = as_user(proven.owner).get(f"/a/{proven.agency.slug}/calls/{proven.clean.call.public_id}/").content.decode()

    assert "Why these times" in page
    assert "Spread choice: a few times spread over the day are spoken" in page
    assert "Already booked or blocked in GHL" in page  # the 10 AM booked just before


def test_the_client_portal_shows_verified_and_nothing_of_mismatches(proven, as_user):
    admin = as_user(proven.client_admin)
    base = f"/c/{proven.client_account.public_id}/"

    clean = admin.get(f"{base}calls/{proven.clean.call.public_id}/").content.decode()
    broken = admin.get(f"{base}calls/{proven.broken.call.public_id}/").content.decode()
    portal = admin.get(base).content.decode()

    assert "Verified in your calendar" in clean
    for page in (broken, portal):
        assert "Verified in your calendar" not in page
        assert "Booking proof" not in page and "Claimed but not made" not in page and "Needs attention" not in page


def test_the_read_api_gives_each_calls_proof_and_the_rates(proven, client):
    _, key = api_key_create(agency=proven.agency, name="Proof")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    broken = client.get(f"/api/v1/calls/{proven.broken.call.public_id}/", **auth).json()["proof"]
    clean = client.get(f"/api/v1/calls/{proven.clean.call.public_id}/", **auth).json()["proof"]
    summary = client.get("/api/v1/proof/", **auth).json()

    assert broken["status"] == "mismatch" and broken["mismatches"][0]["kind"] == "claimed_not_made"
    assert clean == {"status": "holds", "mismatches": [], "checked_at": clean["checked_at"]}
    assert summary["overall"] == {"id": None, "name": "", "calls_checked": 2, "calls_held": 1, "proof_rate": 50.0}
    by_name = {row["name"]: row for row in summary["clients"]}
    assert by_name[proven.client_account.name]["proof_rate"] == 50.0
    assert by_name[proven.other_client.name] == {
        "id": str(proven.other_client.public_id),
        "name": proven.other_client.name,
        "calls_checked": 0,
        "calls_held": 0,
        "proof_rate": None,
    }
    assert [row["id"] for row in summary["assistants"]] == [str(proven.assistant.public_id)]
