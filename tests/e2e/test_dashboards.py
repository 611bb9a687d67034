"""The dashboards in Chromium: Chart.js (vendored, no CDN) draws the daily chart, the usage chart and the
client's own dashboard; screenshots land in artifacts/screenshots/."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.e2e.browser import sign_in
from tests.factories import EndedCallFactory
from voice.models import CallOutcome

pytestmark = pytest.mark.django_db(transaction=True)


def _seed(cast):
    now = timezone.now()
    for day in range(12):
        for n in range(day % 4 + 1):
            outcome = CallOutcome.BOOKED if n % 2 == 0 else CallOutcome.NO_BOOKING
            EndedCallFactory(
                client=cast.client_account,
                started_at=now - timedelta(days=day, minutes=n),
                outcome=outcome,
                booked=1 if n % 2 == 0 else 0,
            )
        EndedCallFactory(
            client=cast.other_client, started_at=now - timedelta(days=day, hours=1), seconds=200, cost="0.35"
        )
    cast.client_account.markup_percent = Decimal("25")
    cast.client_account.save()


def _chart_drawn(page, chart_id):
    """Each dataset's sum once Chart.js has drawn the chart. The canvas can show before the page's deferred
    scripts have run (they run once the whole page is parsed), so this waits for the chart itself."""
    canvas = page.locator(f'canvas[data-chart="{chart_id}"]')
    expect(canvas).to_be_visible()
    drawn = page.wait_for_function(
        "id => { const c = document.querySelector(`canvas[data-chart='${id}']`);"
        " const chart = window.Chart && Chart.getChart(c);"
        " return chart ? chart.data.datasets.map(d => d.data.reduce((a, b) => a + b, 0)) : null; }",
        arg=chart_id,
    )
    return drawn.json_value()


def test_agency_dashboard_and_usage_draw_their_charts(cast, live_server, page, screenshot):
    _seed(cast)
    sign_in(page, live_server.url, cast.owner.email)
    expect(page.get_by_role("heading", name="Calls and bookings per day")).to_be_visible()
    calls, _bookings = _chart_drawn(page, "agency-chart")
    assert calls >= 12
    screenshot("dashboard_charts")

    page.get_by_role("link", name="A Dental").click()
    expect(page.get_by_text("days in America/Chicago")).to_be_visible()
    assert _chart_drawn(page, "client-chart")[0] > 0
    screenshot("client_dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage").click()
    expect(page.get_by_role("heading", name="Usage")).to_be_visible()
    cost, billable = _chart_drawn(page, "usage-chart")
    assert billable > cost > 0
    # The amount axis says its currency: "$" on every tick and "USD" as its title.
    axis = page.evaluate(
        "() => { const y = Chart.getChart(document.querySelector(\"canvas[data-chart='usage-chart']\")).scales.y;"
        " return [y.ticks.map(t => t.label), y.options.title.text]; }"
    )
    assert axis[0] and all(str(label).startswith("$") for label in axis[0]) and axis[1] == "USD"
    screenshot("usage")


def test_client_admin_sees_their_dashboard_drawn(cast, live_server, page, screenshot):
    _seed(cast)
    sign_in(page, live_server.url, cast.client_admin.email)
    expect(page.get_by_role("heading", name="A Dental")).to_be_visible()
    assert _chart_drawn(page, "client-chart")[0] > 0
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(nav.get_by_role("link", name="Clients")).to_have_count(0)
    expect(page.get_by_text("Vapi cost")).to_have_count(0)
    screenshot("client_portal")
