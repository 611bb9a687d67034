"""The calls and bookings filter bars pick a client by searching, so the page carries a few clients whatever
the agency has, and a chosen client stays chosen."""

import pytest

from tenants.services import client_create
from voice.calls.selectors import PICKED_CLIENTS

pytestmark = pytest.mark.django_db


@pytest.fixture
def many_clients(cast):
    return [client_create(agency=cast.agency, name=f"Clinic {i:03}", time_zone="UTC") for i in range(60)]


@pytest.mark.parametrize("page", ["calls", "bookings"])
def test_the_filter_bar_offers_a_few_clients_whatever_the_agency_has(cast, many_clients, as_user, page):
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/{page}/").content.decode()
    select = html[html.index('<select name="client"') :]
    assert select[: select.index("</select>")].count("<option") == 1 + PICKED_CLIENTS
    assert 'name="client_q"' in html and "/calls/client-picker/" in html


def test_typing_a_name_offers_the_clients_that_have_it_and_keeps_the_chosen_one(cast, many_clients, as_user):
    chosen = many_clients[0]
    response = as_user(cast.owner).get(
        f"/a/{cast.agency.slug}/calls/client-picker/", {"client_q": "clinic 05", "client": str(chosen.public_id)}
    )
    html = response.content.decode()
    assert "<select" not in html and '<option value="">All clients</option>' in html
    assert [f"Clinic 05{i}" in html for i in range(10)] == [True] * 10 and "Clinic 060" not in html
    assert f'<option value="{chosen.public_id}" selected>Clinic 000</option>' in html


def test_a_client_found_without_javascript_filters_the_calls(cast, many_clients, as_user):
    client = as_user(cast.owner)
    html = client.get(f"/a/{cast.agency.slug}/calls/", {"client_q": "Clinic 042"}).content.decode()
    assert "Clinic 042" in html and "Clinic 041" not in html
    chosen = many_clients[42]
    html = client.get(f"/a/{cast.agency.slug}/calls/", {"client": str(chosen.public_id)}).content.decode()
    assert f'<option value="{chosen.public_id}" selected>Clinic 042</option>' in html
