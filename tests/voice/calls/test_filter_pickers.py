"""The calls and bookings filter bars pick a client (and the calls bar an assistant) by searching, so the page
carries a few of them whatever the agency has, and a chosen one stays chosen."""

import pytest

from tenants.services import client_create
from tests.factories import AssistantFactory, CallFactory
from voice.calls.selectors import PICKED_ASSISTANTS, PICKED_CLIENTS

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


@pytest.fixture
def many_assistants(cast, many_clients):
    return [AssistantFactory(client=client, name=f"Desk {i:03}") for i, client in enumerate(many_clients)]


def _options(html: str, name: str) -> str:
    select = html[html.index(f'<select name="{name}"') :]
    return select[: select.index("</select>")]


def test_the_calls_filter_bar_offers_a_few_assistants_whatever_the_agency_has(cast, many_assistants, as_user):
    client = as_user(cast.owner)
    few = client.get(f"/a/{cast.agency.slug}/calls/").content.decode()
    AssistantFactory.create_batch(40, client=cast.client_account)
    more = client.get(f"/a/{cast.agency.slug}/calls/").content.decode()
    assert _options(few, "assistant").count("<option") == _options(more, "assistant").count("<option")
    assert _options(more, "assistant").count("<option") == 1 + PICKED_ASSISTANTS
    assert 'name="assistant_q"' in more and "/calls/assistant-picker/" in more
    bookings = client.get(f"/a/{cast.agency.slug}/bookings/").content.decode()
    assert 'name="assistant"' not in bookings


def test_typing_finds_assistants_by_their_name_or_their_clients_and_keeps_the_chosen_one(
    cast, many_assistants, as_user
):
    chosen = many_assistants[0]
    url = f"/a/{cast.agency.slug}/calls/assistant-picker/"
    html = as_user(cast.owner).get(url, {"assistant_q": "desk 05", "assistant": str(chosen.public_id)}).content.decode()
    assert "<select" not in html and '<option value="">All assistants</option>' in html
    assert [f"Desk 05{i} · Clinic 05{i}" in html for i in range(10)] == [True] * 10 and "Desk 060" not in html
    assert f'<option value="{chosen.public_id}" selected>Desk 000 · Clinic 000</option>' in html
    by_client = as_user(cast.owner).get(url, {"assistant_q": "clinic 042"}).content.decode()
    assert "Desk 042 · Clinic 042" in by_client and by_client.count("<option") == 2


def test_the_assistant_picker_offers_nothing_of_another_agency(cast, as_user):
    theirs = AssistantFactory(client=cast.client_b, name="Their desk")
    html = (
        as_user(cast.owner)
        .get(
            f"/a/{cast.agency.slug}/calls/assistant-picker/",
            {"assistant_q": "desk", "assistant": str(theirs.public_id)},
        )
        .content.decode()
    )
    assert "Their desk" not in html and str(theirs.public_id) not in html


def test_an_assistant_found_without_javascript_filters_the_calls(cast, many_assistants, as_user):
    chosen = many_assistants[42]
    CallFactory(client=chosen.client, assistant=chosen, vapi_call_id="call-of-42", caller_number="+13125550142")
    CallFactory(
        client=many_assistants[41].client,
        assistant=many_assistants[41],
        vapi_call_id="call-of-41",
        caller_number="+13125550141",
    )
    client = as_user(cast.owner)
    html = client.get(f"/a/{cast.agency.slug}/calls/", {"assistant_q": "Desk 042"}).content.decode()
    assert "Desk 042" in _options(html, "assistant") and "Desk 041" not in _options(html, "assistant")
    html = client.get(f"/a/{cast.agency.slug}/calls/", {"assistant": str(chosen.public_id)}).content.decode()
    assert f'<option value="{chosen.public_id}" selected>Desk 042 · Clinic 042</option>' in html
    assert "+13125550142" in html and "+13125550141" not in html
