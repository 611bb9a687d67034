import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.browser import sign_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_owner_creates_a_key_sees_it_once_and_revokes_it(cast, live_server, page, screenshot):
    sign_in(page, live_server.url, cast.owner.email)
    page.goto(f"{live_server.url}/a/{cast.agency.slug}/settings/")
    expect(page.get_by_text("No API keys yet")).to_be_visible()
    page.get_by_label("Key name").fill("Reporting dashboard")
    page.get_by_role("button", name="Create API key").click()
    key = page.get_by_label("The new API key").input_value()
    assert key.startswith("ah_")
    expect(page.get_by_text("cannot show it again")).to_be_visible()
    screenshot("api_keys")

    api = f"{live_server.url}/api/v1/clients/"
    assert httpx.get(api, headers={"Authorization": f"Bearer {key}"}).json()["count"] == 2

    page.goto(f"{live_server.url}/a/{cast.agency.slug}/settings/")
    expect(page.get_by_label("The new API key")).to_have_count(0)
    assert key not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_text("was revoked")).to_be_visible()
    assert httpx.get(api, headers={"Authorization": f"Bearer {key}"}).status_code == 401
