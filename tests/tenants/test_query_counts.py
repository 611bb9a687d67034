"""List pages run a fixed number of queries, however many rows they show."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants.models import AgencyRole, ClientAccount, ClientMembership, ClientRole
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _queries(client, url):
    client.get(url)  # the first visit also writes the session (last agency); measure a steady visit
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_client_list_queries_do_not_grow_with_rows(cast, as_user):
    client = as_user(cast.owner)
    url = f"/a/{cast.agency.slug}/clients/"
    few = _queries(client, url)
    for i in range(20):
        account = ClientAccount.objects.create(agency=cast.agency, name=f"Extra {i}", time_zone="UTC")
        ClientMembership.objects.create(client=account, user=UserFactory(email=f"u{i}@x.test"), role=ClientRole.VIEWER)
    assert _queries(client, url) == few


def test_team_page_queries_do_not_grow_with_members(cast, as_user):
    client = as_user(cast.owner)
    url = f"/a/{cast.agency.slug}/team/"
    few = _queries(client, url)
    for i in range(15):
        cast.agency.memberships.create(user=UserFactory(email=f"m{i}@a.test"), role=AgencyRole.STAFF)
    assert _queries(client, url) == few
