"""Keyset pages: every call reachable forwards and backwards in every sort, calls without a value included,
the last page one click away, and a hand-edited cursor answered with the first page."""

from datetime import timedelta
from decimal import Decimal

import pytest

from tests.clock import NOW
from tests.factories import CallFactory
from voice.calls.selectors import CALL_SORTS
from voice.models import Call
from voice.paging import LAST, keyset_page

pytestmark = pytest.mark.django_db


@pytest.fixture
def calls(cast):
    for i in range(23):
        CallFactory(
            client=cast.client_account,
            vapi_call_id=f"c-{i}",
            # Ties on the sort value and calls not yet started (no value) both occur.
            started_at=None if i % 7 == 0 else NOW - timedelta(minutes=i // 2),
            duration_seconds=None if i % 5 == 0 else i % 4,
            cost=None if i % 6 == 0 else Decimal(i % 3),
        )
    return Call.objects.filter(agency=cast.agency)


@pytest.mark.parametrize("sort", sorted(CALL_SORTS))
def test_next_and_previous_walk_every_call_in_order_and_back(calls, sort):
    key = CALL_SORTS[sort]
    ordered = list(calls.order_by(*key.ordering()).values_list("vapi_call_id", flat=True))
    pages, page = [], keyset_page(calls, key, per_page=5)
    while True:
        pages.append([c.vapi_call_id for c in page.object_list])
        if not page.has_next:
            break
        page = keyset_page(calls, key, after=page.next_token, per_page=5)
    assert [c for page_ids in pages for c in page_ids] == ordered and len(pages) == 5
    backwards = [[c.vapi_call_id for c in page.object_list]]
    while page.has_previous:
        page = keyset_page(calls, key, before=page.previous_token, per_page=5)
        backwards.append([c.vapi_call_id for c in page.object_list])
    assert backwards[::-1] == pages


def test_the_last_page_holds_the_last_calls(calls):
    key = CALL_SORTS["newest"]
    last = keyset_page(calls, key, before=LAST, per_page=5)
    ordered = list(calls.order_by(*key.ordering()).values_list("vapi_call_id", flat=True))
    assert [c.vapi_call_id for c in last.object_list] == ordered[-5:]
    assert last.has_previous and not last.has_next


def test_a_hand_edited_cursor_shows_the_first_page(calls):
    key = CALL_SORTS["cost"]
    page = keyset_page(calls, key, after="not-a-number~x", per_page=5)
    assert not page.has_previous and page.has_next


def test_the_calls_page_reaches_its_oldest_call_through_last(cast, calls, as_user):
    html = as_user(cast.owner).get(f"/a/{cast.agency.slug}/calls/", {"before": LAST}).content.decode()
    oldest = calls.order_by(*CALL_SORTS["newest"].ordering()).last()
    assert oldest.vapi_call_id in html or str(oldest.public_id) in html
    assert 'rel="next"' not in html


def test_bookings_pages_walk_every_booking_both_ways(cast):
    from tests.factories import BookingFactory
    from voice.bookings.selectors import LATEST_FIRST, SOONEST_FIRST
    from voice.models import Booking

    for i in range(12):
        BookingFactory(client=cast.client_account, start=NOW + timedelta(hours=i // 3), tool_call_id=f"b-{i}")
    bookings = Booking.objects.all()
    for key in (SOONEST_FIRST, LATEST_FIRST):
        ordered = list(bookings.order_by(*key.ordering()).values_list("pk", flat=True))
        seen, page = [], keyset_page(bookings, key, per_page=5)
        while True:
            seen += [b.pk for b in page.object_list]
            if not page.has_next:
                break
            page = keyset_page(bookings, key, after=page.next_token, per_page=5)
        assert seen == ordered
        back = keyset_page(bookings, key, before=page.previous_token, per_page=5)
        assert [b.pk for b in back.object_list] == ordered[5:10]


def test_a_cursor_with_nothing_beyond_it_shows_the_first_page(calls):
    key = CALL_SORTS["newest"]
    last = keyset_page(calls, key, before=LAST, per_page=5)
    beyond = keyset_page(calls, key, after=last.next_token, per_page=5)
    first = keyset_page(calls, key, per_page=5)
    assert beyond.object_list == first.object_list and not beyond.has_previous
