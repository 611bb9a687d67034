"""Walks every named URL of the project. Tenant pages (under /a/<agency>/ and /c/<client>/) are tried
with agency A's real ids by A's owner (200), and by agency B's owner and A's client admin (404/403).
The read API (/api/v1/) is tried with A's key (200), B's key (nothing of A's) and no key (401).
Any other named URL must be declared public below, so a new page is never left out of the crawl."""

import pytest
from django.urls import get_resolver
from django.utils import timezone

from integrations.jobs import job_create
from integrations.models import WebhookEvent
from tenants.models import AgencyRole
from tenants.services import api_key_create, invitation_create
from tests.factories import AssistantFactory
from voice.models import Booking, BookingStatus, Call, CallTest, CheckName, Incident, PhoneNumber

# Routes anyone may reach, each guarded by its own token, signature or sign-in.
PUBLIC_PREFIXES = (
    "",  # home: redirects to the signed-in person's own place
    "healthz",
    "accounts/",
    "agencies/new/",
    "invitations/",
    "api/",  # webhooks verify their senders; v1 is crawled with agency keys below
    "integrations/ghl/callback/",
    "connect/",
    "sandbox/",
)


def _named_routes():
    resolver = get_resolver()
    for name, entries in resolver.reverse_dict.lists():
        if not isinstance(name, str):
            continue
        for possibilities, _pattern, _defaults, _converters in entries:
            for route, params in possibilities:
                yield name, route, params


def _tenant_routes(prefix):
    return sorted({(n, r, tuple(p)) for n, r, p in _named_routes() if r.startswith(prefix)})


class Ids:
    """Real objects of agency A for every URL parameter a tenant page takes."""

    def __init__(self, cast):
        self.cast = cast
        self.invitation = invitation_create(
            agency=cast.agency, email="new@a.test", role=AgencyRole.STAFF, invited_by=cast.owner
        )
        self.assistant = AssistantFactory(client=cast.client_account)
        self.phone_number = PhoneNumber.objects.create(agency=cast.agency, vapi_id="pn-crawl", number="+13125550199")
        self.call = Call.objects.create(
            agency=cast.agency, client=cast.client_account, assistant=self.assistant, vapi_call_id="call-crawl"
        )
        self.booking = Booking.objects.create(
            client=cast.client_account,
            call=self.call,
            tool_call_id="tc-crawl",
            calendar_id="cal-clean",
            start=timezone.now(),
            status=BookingStatus.BOOKED,
        )
        self.api_key, self.key = api_key_create(agency=cast.agency, name="Crawl")
        self.event = WebhookEvent.objects.create(
            provider="ghl", event_type="AppointmentCreate", unique_key="crawl-1", agency=cast.agency, body={}
        )
        self.job = job_create(agency=cast.agency, created_by=cast.owner, kind="crawl", title="Crawl", params={})
        self.call_test = CallTest.objects.create(assistant=self.assistant, source_call=self.call, name="Crawl")
        self.push_check = job_create(
            agency=cast.agency,
            created_by=cast.owner,
            kind="assistant_push_check",
            title="Crawl check",
            params={"assistant_pk": self.assistant.pk, "verdicts": []},
        )
        self.incident = Incident.objects.create(
            agency=cast.agency, client=cast.client_account, check_name=CheckName.VAPI_PUSH, detail="Crawl"
        )

    def value(self, param):
        cast = self.cast
        values = {
            "agency_slug": cast.agency.slug,
            "client_id": cast.client_account.public_id,
            "membership_id": cast.agency.memberships.get(user=cast.staff).public_id,
            "invitation_id": self.invitation.public_id,
            "assistant_id": self.assistant.public_id,
            "revision_id": self.assistant.revisions.first().public_id,
            "phone_number_id": self.phone_number.public_id,
            "call_id": self.call.public_id,
            "event_id": self.event.public_id,
            "api_key_id": self.api_key.public_id,
            "job_id": self.job.public_id,
            "incident_id": self.incident.public_id,
            "test_id": self.call_test.public_id,
            "check_id": self.push_check.public_id,
        }
        if param not in values:
            pytest.fail(f"The crawl has no object of agency A for URL parameter '{param}': add one to Ids.value().")
        return values[param]

    def url(self, route, params):
        return "/" + route % {p: self.value(p) for p in params}


def test_every_named_url_is_crawled_or_declared_public():
    unclassified = [
        (name, route)
        for name, route, _ in _named_routes()
        if not route.startswith(("a/", "c/"))
        and not any(route == p or (p and route.startswith(p)) for p in PUBLIC_PREFIXES)
    ]
    assert not unclassified, f"Tenant-scope these URLs or declare them public: {unclassified}"


@pytest.mark.django_db
def test_agency_pages_answer_the_owner_and_hide_from_outsiders(cast, client):
    ids = Ids(cast)
    routes = _tenant_routes("a/")
    assert len(routes) >= 10
    for name, route, params in routes:
        url = ids.url(route, params)
        for stranger in (cast.outsider, cast.client_admin):
            client.force_login(stranger)
            for method in (client.get, client.post):
                status = method(url).status_code
                assert status in (403, 404), f"{name} {url} answered {status} to {stranger.email}"
        client.force_login(cast.owner)
        response = client.get(url)
        post_only = response.status_code == 405 and "GET" not in response.get("Allow", "")
        # A page waiting on setup may send the owner elsewhere inside the same agency.
        inside = response.status_code == 302 and response.url.startswith(f"/a/{cast.agency.slug}/")
        assert response.status_code == 200 or post_only or inside, f"{name} {url}: {response.status_code} to the owner"


@pytest.mark.django_db
def test_client_pages_answer_their_members_only(cast, client):
    from tenants.models import ClientMembership, ClientRole

    ids = Ids(cast)
    neighbour = cast.other_client
    neighbour_admin = type(cast.client_admin).objects.create_user(email="admin@neighbour.test", password="x")
    ClientMembership.objects.create(client=neighbour, user=neighbour_admin, role=ClientRole.CLIENT_ADMIN)
    routes = _tenant_routes("c/")
    assert routes
    for name, route, params in routes:
        url = ids.url(route, params)
        for stranger in (cast.outsider, neighbour_admin, cast.staff):
            client.force_login(stranger)
            status = client.get(url).status_code
            assert status in (403, 404), f"{name} {url} answered {status} to {stranger.email}"
        client.force_login(cast.client_admin)
        assert client.get(url).status_code == 200, f"{name} {url} should answer the client's admin"


@pytest.mark.django_db
def test_api_answers_the_agency_key_and_shows_other_keys_nothing_of_it(cast, client):
    ids = Ids(cast)
    _, key_b = api_key_create(agency=cast.agency_b, name="Outsider")
    secrets_of_a = [
        str(x.public_id) for x in (cast.client_account, cast.other_client, ids.assistant, ids.call, ids.booking)
    ]
    routes = _tenant_routes("api/v1/")
    assert len(routes) >= 4
    for name, route, params in routes:
        url = ids.url(route, params)
        assert client.get(url).status_code == 401, f"{name} {url} answered without a key"
        own = client.get(url, HTTP_AUTHORIZATION=f"Bearer {ids.key}")
        assert own.status_code == 200, f"{name} {url} answered {own.status_code} to A's key"
        assert any(x in own.content.decode() for x in secrets_of_a), f"{name} {url} showed A's key none of A's data"
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {key_b}")
        assert response.status_code == (404 if params else 200), f"{name} {url} answered {response.status_code} to B"
        leaked = [x for x in secrets_of_a if x in response.content.decode()]
        assert not leaked, f"{name} {url} showed agency B's key {leaked}"
