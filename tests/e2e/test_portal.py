import re

import pytest
from playwright.sync_api import expect

from tenants.models import ClientAccount, Invitation
from tests.e2e.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_adds_a_client_and_invites_its_admin(cast, live_server, page, screenshot):
    sign_in(page, live_server.url, cast.owner.email)
    expect(page).to_have_url(re.compile(f"/a/{cast.agency.slug}/$"))
    screenshot("dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
    page.get_by_role("link", name="Add client").click()
    page.get_by_label("Business name").fill("Cedar Vet Clinic")
    page.get_by_label("Time zone").select_option("America/Los_Angeles")
    page.get_by_role("button", name="Add client").click()
    expect(page.get_by_role("heading", name="Cedar Vet Clinic")).to_be_visible()
    expect(page.get_by_text("Cedar Vet Clinic was added.")).to_be_visible()
    screenshot("client_detail")
    assert ClientAccount.objects.get(name="Cedar Vet Clinic").agency == cast.agency

    page.get_by_placeholder("name@client.com").fill("vet-boss@cedar.test")
    page.get_by_role("button", name="Invite").click()
    expect(page.get_by_text("Invitation sent to vet-boss@cedar.test.")).to_be_visible()
    assert Invitation.objects.get(email="vet-boss@cedar.test").client.name == "Cedar Vet Clinic"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Clients").click()
    page.get_by_role("searchbox", name="Search clients").fill("cedar")
    expect(page.locator("#client-rows tbody tr")).to_have_count(1)
    screenshot("clients_search")


def test_outsider_sees_nothing_of_agency_a(cast, live_server, page):
    sign_in(page, live_server.url, cast.outsider.email)
    response = page.goto(f"{live_server.url}/a/{cast.agency.slug}/clients/{cast.client_account.public_id}/")
    assert response.status == 404
    page.goto(f"{live_server.url}/a/{cast.agency_b.slug}/clients/")
    expect(page.get_by_text("B Plumbing")).to_be_visible()
    expect(page.get_by_text("A Dental")).to_have_count(0)
