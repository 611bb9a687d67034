"""The client page as the hub of one client, and "view as client": an owner's read-only look at the portal."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from integrations.ghl.models import ConnectionKind, ConnectionStatus, GhlConnection
from tests.factories import AssistantFactory
from voice.models import Booking, BookingStatus, Call, CallOutcome, SyncStatus

pytestmark = pytest.mark.django_db


@pytest.fixture
def hub(cast):
    assistant = AssistantFactory(client=cast.client_account, vapi_id="asst-hub")
    assistant.phone_numbers.create(agency=cast.agency, vapi_id="pn-1", number="+13125550100")
    started = timezone.now() - timedelta(hours=2)
    cast.call = Call.objects.create(
        agency=cast.agency, client=cast.client_account, assistant=assistant, vapi_call_id="hub-1",
        started_at=started, duration_seconds=52, outcome=CallOutcome.BOOKED, ended_reason="customer-ended-call",
    )  # fmt: skip
    Booking.objects.create(
        client=cast.client_account, call=cast.call, tool_call_id="t1", calendar_id="cal", calendar_name="Cleaning",
        caller_name="Ada Lovelace", start=timezone.now() + timedelta(days=2), status=BookingStatus.BOOKED,
    )  # fmt: skip
    Call.objects.create(agency=cast.agency, client=cast.other_client, vapi_call_id="other-1", caller_number="+4420")
    cast.assistant = assistant
    cast.url = reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id])
    return cast


def test_the_client_page_gathers_assistant_calls_bookings_connection_and_users(hub, as_user):
    GhlConnection.objects.create(
        client=hub.client_account, location_id="loc-1", kind=ConnectionKind.OAUTH_LOCATION,
        status=ConnectionStatus.NEEDS_RECONNECT, last_error="invalid_grant",
    )  # fmt: skip
    page = as_user(hub.staff).get(hub.url).content.decode()
    # The assistant: its push state, number, last call (linked) and edit.
    assert hub.assistant.name in page and "Synced" not in page and "Pending" in page
    assert "+13125550100" in page
    assert reverse("call_detail", args=[hub.agency.slug, hub.call.public_id]) in page
    assert reverse("assistant_update", args=[hub.agency.slug, hub.assistant.public_id]) in page
    assert "will appear here once configured" not in page
    # Recent calls with their outcome, in plain words and one duration format; upcoming bookings.
    assert "Booked</span>" in page and "0:52" in page and "The caller hung up." in page
    assert "Ada Lovelace" in page and "Cleaning" in page
    assert "+4420" not in page  # the other client's call
    # Connection health, with its fix.
    assert "no longer accepts this client's token" in page and "invalid_grant" in page
    assert reverse("ghl_client_connect", args=[hub.agency.slug, hub.client_account.public_id]) in page
    assert "admin@client-a.test" in page
    # The way to the client's calls.
    assert f"/a/{hub.agency.slug}/calls/?client={hub.client_account.public_id}" in page


def test_a_failed_push_shows_its_reason_and_a_retry(hub, as_user):
    type(hub.assistant).objects.filter(pk=hub.assistant.pk).update(
        sync_status=SyncStatus.FAILED, sync_error="model is not valid"
    )
    page = as_user(hub.staff).get(hub.url).content.decode()
    assert "model is not valid" in page
    assert reverse("assistant_push", args=[hub.agency.slug, hub.assistant.public_id]) in page


def test_a_client_without_an_assistant_offers_to_create_one(cast, as_user):
    page = as_user(cast.staff).get(reverse("client_detail", args=[cast.agency.slug, cast.client_account.public_id]))
    assert reverse("assistant_create", args=[cast.agency.slug, cast.client_account.public_id]) in page.content.decode()


def test_the_client_dashboard_links_to_that_clients_calls(hub, as_user):
    url = reverse("client_dashboard", args=[hub.agency.slug, hub.client_account.public_id])
    page = as_user(hub.staff).get(url).content.decode()
    calls = f"/a/{hub.agency.slug}/calls/?client={hub.client_account.public_id}"
    assert calls in page
    listed = as_user(hub.staff).get(calls).context["page"].object_list
    assert [c.vapi_call_id for c in listed] == ["hub-1"]


# --- View as client ------------------------------------------------------------------------------


def test_an_owner_views_the_portal_as_the_client_read_only_and_bannered(hub, as_user):
    owner = as_user(hub.owner)
    hub_page = owner.get(hub.url).content.decode()
    portal = reverse("client_portal", args=[hub.client_account.public_id])
    assert portal in hub_page
    for url in (
        portal,
        reverse("client_call_list", args=[hub.client_account.public_id]),
        reverse("client_call_detail", args=[hub.client_account.public_id, hub.call.public_id]),
        reverse("client_booking_list", args=[hub.client_account.public_id]),
    ):
        response = owner.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert 'data-testid="view-as-client-banner"' in page and "Read-only" in page
    # What the client sees: none of the agency's costs.
    assert "$" not in owner.get(portal).content.decode().split("view-as-client-banner")[1]
    assert owner.post(portal).status_code == 403


def test_staff_may_not_view_as_client_and_outsiders_learn_nothing(hub, as_user):
    assert "view-as-client" not in as_user(hub.staff).get(hub.url).content.decode()
    urls = [
        reverse("client_portal", args=[hub.client_account.public_id]),
        reverse("client_call_list", args=[hub.client_account.public_id]),
        reverse("client_call_detail", args=[hub.client_account.public_id, hub.call.public_id]),
        reverse("client_booking_list", args=[hub.client_account.public_id]),
    ]
    for url in urls:
        assert as_user(hub.staff).get(url).status_code == 403, url
        assert as_user(hub.outsider).get(url).status_code == 404, url
    # Agency B's owner cannot view agency A's client, nor A's owner B's client.
    assert as_user(hub.owner).get(reverse("client_portal", args=[hub.client_b.public_id])).status_code == 404


def test_the_client_admin_sees_no_preview_banner(hub, as_user):
    page = as_user(hub.client_admin).get(reverse("client_portal", args=[hub.client_account.public_id]))
    assert page.status_code == 200 and "view-as-client-banner" not in page.content.decode()
