import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.utils import timezone

from tenants.models import Agency, AgencyRole, ClientAccount
from voice.demo import _demo_call_start
from voice.models import Booking, BookingStatus, Call

pytestmark = pytest.mark.django_db


def test_seed_demo_is_idempotent_and_signs_in(
    client, monkeypatch, capsys, settings, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("DEMO_PASSWORD", "demo-pass-for-tests")
    # The inbox processes each simulated call once its transaction commits, as outside a test.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    # Seeded again where `make run PORT=8102` serves: the recordings move there too.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8102"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo")
    agency = Agency.objects.get(slug="demo")
    assert agency.memberships.get(user__email="owner@demo.test").role == AgencyRole.OWNER
    assert agency.memberships.get(user__email="staff@demo.test").role == AgencyRole.STAFF
    clients = ClientAccount.objects.filter(agency=agency)
    assert clients.count() == 2
    assert len({c.time_zone for c in clients}) == 2
    assert "owner@demo.test" in capsys.readouterr().out
    response = client.post("/accounts/login/", {"login": "owner@demo.test", "password": "demo-pass-for-tests"})
    assert response.status_code == 302
    assert client.get("/").url == "/a/demo/"

    # A few dozen past calls, seeded once, a realistic mix
    calls = Call.objects.filter(agency__slug="demo")
    assert calls.count() == 36
    assert set(calls.values_list("status", flat=True)) == {"ended"}
    now = timezone.now()
    # All within the dashboards' "last 30 days", whatever the day of the month the demo is seeded.
    assert all(now - timedelta(days=31) < c.started_at < c.ended_at < now for c in calls)
    assert len({c.started_at.date() for c in calls}) > 8, "spread over the weeks, not one day"
    assert len({c.client_id for c in calls}) == 2
    booked = Booking.objects.filter(call__in=calls, status=BookingStatus.BOOKED)
    assert 14 <= booked.count() <= 22
    # Dated to their call (for charts of bookings per day), though the appointments lie ahead.
    assert all(b.call.started_at <= b.created_at <= b.call.ended_at and b.start > now for b in booked)
    reasons = set(calls.values_list("ended_reason", flat=True))
    assert {"assistant-forwarded-call", "customer-ended-call", "pipeline-error-openai-llm-failed"} <= reasons
    recordings = [c.recording_url for c in calls if c.recording_url]
    assert len(recordings) == 36
    assert all(url.startswith("http://127.0.0.1:8102/sandbox/vapi/recordings/") for url in recordings)
    recording = client.get(recordings[0].removeprefix("http://127.0.0.1:8102"))
    assert recording.status_code == 200 and recording["Content-Type"] == "audio/wav"


def test_seed_demo_prints_a_generated_password(monkeypatch, capsys, client):
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    call_command("seed_demo")
    out = capsys.readouterr().out
    password = next(line.split()[-1] for line in out.splitlines() if "Password" in line)
    assert client.post("/accounts/login/", {"login": "owner@demo.test", "password": password}).status_code == 302


@pytest.mark.parametrize("first", [datetime(2026, 4, 1, 13, tzinfo=UTC), datetime(2026, 3, 1, 6, tzinfo=UTC)])
def test_demo_calls_fall_in_the_last_30_days_even_on_the_first_of_a_month(monkeypatch, first):
    """On the 1st the demo must not leave "this month" empty: its calls span the dashboards' 30-day window."""
    monkeypatch.setattr("django.utils.timezone.now", lambda: first)
    rng = random.Random("first-of-the-month")
    for zone in (ZoneInfo("America/Chicago"), ZoneInfo("Europe/London")):
        starts = [_demo_call_start(rng, zone) for _ in range(300)]
        assert all(first - timedelta(days=30) < start < first - timedelta(minutes=10) for start in starts)
        assert all(start.weekday() < 5 and 9 <= start.hour < 17 for start in starts)
        assert min(starts) < first - timedelta(days=25) and max(starts) > first - timedelta(days=4)
