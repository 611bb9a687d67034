"""The Content-Security-Policy allows the app's own assets only, and the app still works under it:
htmx filters, charts, copy buttons and confirmations (the `page` fixture fails on any CSP violation)."""

from tenants.models import ApiKey
from tenants.services import api_key_create
from tests.e2e.browser import sign_in
from tests.factories import EndedCallFactory


def test_pages_run_under_the_policy_without_a_violation(cast, live_server, page):
    EndedCallFactory(client=cast.client_account, summary="Booked a cleaning.")
    sign_in(page, live_server.url, cast.owner.email)
    response = page.goto(f"{live_server.url}/a/{cast.agency.slug}/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    page.goto(f"{live_server.url}/a/{cast.agency.slug}/calls/")
    # htmx's filter request swaps the results in place.
    page.get_by_label("Search transcripts").fill("cleaning")
    page.wait_for_url("**q=cleaning**")
    assert page.locator("#call-results").inner_text()


def test_copy_buttons_and_confirmations_work_without_inline_handlers(cast, live_server, page):
    api_key_create(agency=cast.agency, name="Reporting")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    sign_in(page, live_server.url, cast.owner.email)
    page.goto(f"{live_server.url}/a/{cast.agency.slug}/settings/")
    page.get_by_label("Key name").fill("Zapier")
    page.get_by_role("button", name="Create API key").click()
    key = page.locator("#new-api-key").input_value()
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == key

    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("row", name="Reporting").get_by_role("button", name="Revoke").click()
    assert ApiKey.objects.get(name="Reporting").is_active
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("row", name="Reporting").get_by_role("button", name="Revoke").click()
    page.wait_for_load_state()
    page.get_by_text("Revoked").first.wait_for()
    assert not ApiKey.objects.get(name="Reporting").is_active
