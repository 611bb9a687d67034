"""The list rows' values formatted in Python read exactly as the template filters they replace."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.template import engines
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import timezone

from voice.rows import Formatter

ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "UTC", "Not/AZone"]
MOMENTS = [
    datetime(2026, 3, 8, 6, 59, tzinfo=UTC),  # just before New York's spring change
    datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
    datetime(2026, 11, 1, 5, 30, tzinfo=UTC),  # the hour New York repeats
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),  # midnight: 12 AM
    datetime(2026, 7, 4, 12, 5, 9, 123456, tzinfo=UTC),  # noon: 12 PM
    datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
]


def render(source: str, **context) -> str:
    return engines["django"].from_string("{% load tz humanize %}" + source).render(context)


@pytest.mark.parametrize("zone", ZONES)
def test_local_times_read_as_the_timezone_and_date_filters(zone):
    fmt = Formatter()
    for moment in MOMENTS:
        local = fmt.local(moment, zone)
        context = {"m": moment, "z": zone}
        assert fmt.clock(local) == render('{{ m|timezone:z|date:"M j, g:i A T" }}', **context)
        assert fmt.clock(local, weekday=True) == render('{{ m|timezone:z|date:"D M j, g:i A T" }}', **context)
        assert fmt.clock(local, zone=False) == render("{{ m|timezone:z|date:'M j, g:i A' }}", **context)
        assert fmt.iso(local) == render("{{ m|timezone:z|date:'c' }}", **context)


def test_a_missing_time_shows_nothing():
    fmt = Formatter()
    assert fmt.clock(fmt.local(None, "UTC")) == ""
    assert fmt.iso(None) == ""
    assert fmt.ago(None) == ""


def test_ago_reads_as_naturaltime():
    now = timezone.now()
    for delta in (timedelta(seconds=5), timedelta(minutes=3), timedelta(hours=5), timedelta(days=4, hours=2)):
        for moment in (now - delta, now + delta):
            assert Formatter.ago(moment) == render("{{ m|naturaltime }}", m=moment)


def test_truncated_reads_as_truncatechars():
    for text in ("short", "x" * 70, "y" * 71, "é" * 80, "café " * 5, "e\u0301" * 40):
        assert Formatter.truncated(text, 70) == truncatechars(text, 70)


def test_urls_reversed_once_match_reversing_each_row():
    detail = Formatter.url_for_each("call_detail", "some-agency")
    for public_id in (uuid.uuid4(), uuid.uuid4()):
        assert detail(public_id) == reverse("call_detail", args=["some-agency", public_id])


def test_a_badge_is_the_include_it_replaces():
    fmt = Formatter()
    for outcome in ("booked", "failed", "no_booking"):
        expected = render('{% include "voice/_outcome_badge.html" %}', outcome=outcome)
        assert fmt.badge("voice/_outcome_badge.html", outcome, outcome=outcome) == expected
