"""The calls list: filters narrow what staff see, search finds transcripts, sorting, bad input, tenancy, and a
fixed number of queries; the client's own list shows only its calls, without costs."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import AssistantFactory, CallFactory
from voice.calls.selectors import CallFilters, call_list
from voice.calls.views import SEARCH_COUNT_CAP
from voice.models import Call, CallOutcome
from voice.paging import CappedPaginator

pytestmark = pytest.mark.django_db

DAY = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


@pytest.fixture
def calls(cast):
    dental, physio = cast.client_account, cast.other_client
    front = AssistantFactory(client=dental, name="Dental desk")
    physio_desk = AssistantFactory(client=physio, name="Physio desk")
    CallFactory(
        client=dental,
        vapi_call_id="c-root",
        assistant=front,
        outcome=CallOutcome.BOOKED,
        ended_reason="customer-ended-call",
        duration_seconds=30,
        cost=Decimal("0.10"),
        caller_number="+13125550101",
        transcript="AI: Hello.\nUser: I think I need a root canal, my molar hurts.",
        started_at=DAY,
    )
    CallFactory(
        client=physio,
        vapi_call_id="c-billing",
        assistant=physio_desk,
        outcome=CallOutcome.TRANSFERRED,
        ended_reason="assistant-forwarded-call",
        duration_seconds=200,
        cost=Decimal("0.50"),
        started_at=DAY - timedelta(days=3),
        transcript="User: Can I speak to a person about billing?",
    )
    CallFactory(
        client=dental,
        vapi_call_id="c-failed",
        outcome=CallOutcome.FAILED,
        ended_reason="pipeline-error-openai-llm-failed",
        duration_seconds=400,
        cost=Decimal("1.00"),
        started_at=DAY - timedelta(days=10),
        transcript="User: Hello? Anyone there?",
    )
    # Agency B's call matches every filter below: it must never show.
    CallFactory(
        client=cast.client_b,
        vapi_call_id="c-outsider",
        outcome=CallOutcome.BOOKED,
        ended_reason="customer-ended-call",
        duration_seconds=30,
        transcript="User: a root canal and billing please",
        started_at=DAY,
    )
    return {"front": front, "physio_desk": physio_desk}


def _shown(response) -> list[str]:
    assert response.status_code == 200
    return [call.vapi_call_id for call in response.context["page"].object_list]


def _url(cast):
    return f"/a/{cast.agency.slug}/calls/"


def test_the_list_shows_each_call_in_its_clients_time_zone(cast, calls, as_user):
    response = as_user(cast.staff).get(_url(cast))
    html = response.content.decode()
    assert _shown(response) == ["c-root", "c-billing", "c-failed"]
    # 15:00 UTC on March 10 2026 is 10:00 in Chicago (daylight time began March 8).
    assert "Mar 10, 10:00 AM CDT" in html
    assert "0:30" in html and "6:40" in html  # m:ss
    assert "$0.10" in html and "Dental desk" in html and "A Physio" in html
    assert "c-outsider" not in html and "B Plumbing" not in html


def test_the_list_says_why_each_call_ended_in_the_call_pages_words(cast, calls, as_user):
    html = as_user(cast.staff).get(_url(cast)).content.decode()
    assert "The caller hung up." in html
    assert "The assistant transferred the caller to a person." in html
    assert "During the call, OpenAI&#x27;s language model failed." in html
    assert ">pipeline-error-openai-llm-failed<" not in html  # the raw code only in a tooltip


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"outcome": "booked"}, ["c-root"]),
        ({"outcome": "transferred"}, ["c-billing"]),
        ({"outcome": "failed"}, ["c-failed"]),
        ({"outcome": "no_booking"}, []),
        ({"ended_reason": "pipeline-error"}, ["c-failed"]),
        ({"ended_reason": "customer-ended-call"}, ["c-root"]),
        ({"duration": "short"}, ["c-root"]),
        ({"duration": "medium"}, ["c-billing"]),
        ({"duration": "long"}, ["c-failed"]),
        ({"date_from": "2026-03-05"}, ["c-root", "c-billing"]),
        ({"date_to": "2026-03-07"}, ["c-billing", "c-failed"]),
        ({"date_from": "2026-03-07", "date_to": "2026-03-07"}, ["c-billing"]),
        ({"outcome": "booked", "duration": "long"}, []),
    ],
)
def test_each_filter_narrows_the_calls(cast, calls, as_user, params, expected):
    assert _shown(as_user(cast.owner).get(_url(cast), params)) == expected


def test_client_and_assistant_filters(cast, calls, as_user):
    client = as_user(cast.owner)
    assert _shown(client.get(_url(cast), {"client": cast.other_client.public_id})) == ["c-billing"]
    assert _shown(client.get(_url(cast), {"client": cast.client_account.public_id})) == ["c-root", "c-failed"]
    assert _shown(client.get(_url(cast), {"assistant": calls["front"].public_id})) == ["c-root"]


def test_a_client_filter_reads_dates_as_that_clients_days(cast, as_user):
    # 03:00 UTC on March 10 is still March 9 in Chicago.
    CallFactory(client=cast.client_account, vapi_call_id="c-late", started_at=datetime(2026, 3, 10, 3, 0, tzinfo=UTC))
    client = as_user(cast.owner)
    chicago = {"client": cast.client_account.public_id}
    assert _shown(client.get(_url(cast), {**chicago, "date_from": "2026-03-09", "date_to": "2026-03-09"})) == ["c-late"]
    assert _shown(client.get(_url(cast), {**chicago, "date_from": "2026-03-10"})) == []
    # Across all clients the days are UTC days.
    assert _shown(client.get(_url(cast), {"date_from": "2026-03-10"})) == ["c-late"]


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("canal", ["c-root"]),
        ("root canal", ["c-root"]),
        ("billing", ["c-billing"]),
        ("invoice", []),
    ],
)
def test_search_finds_calls_by_words_of_their_transcript(cast, calls, as_user, words, expected):
    """SQLite matches a substring; PostgreSQL runs full-text search through the GIN index (CI's second pass)."""
    response = as_user(cast.owner).get(_url(cast), {"q": words})
    assert _shown(response) == expected
    if not expected:
        assert "No calls match these filters" in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("newest", ["c-root", "c-billing", "c-failed"]),
        ("oldest", ["c-failed", "c-billing", "c-root"]),
        ("longest", ["c-failed", "c-billing", "c-root"]),
        ("shortest", ["c-root", "c-billing", "c-failed"]),
        ("cost", ["c-failed", "c-billing", "c-root"]),
    ],
)
def test_sorting(cast, calls, as_user, sort, expected):
    assert _shown(as_user(cast.owner).get(_url(cast), {"sort": sort})) == expected


def test_calls_not_started_yet_come_last_when_newest_first(cast, calls, as_user):
    CallFactory(client=cast.client_account, vapi_call_id="c-ringing", started_at=None)
    assert _shown(as_user(cast.owner).get(_url(cast)))[-1] == "c-ringing"


@pytest.mark.parametrize(
    "params",
    [
        {"date_from": "yesterday"},
        {"date_to": "2026-02-30"},
        {"outcome": "maybe"},
        {"sort": "random"},
        {"duration": "forever"},
        {"client": "not-a-uuid"},
        {"q": "x" * 500},
    ],
)
def test_a_bad_filter_is_reported_and_the_rest_still_apply(cast, calls, as_user, params):
    response = as_user(cast.owner).get(_url(cast), {**params, "outcome": params.get("outcome", "failed")})
    assert response.status_code == 200
    assert "Some filters were ignored" in response.content.decode()
    expected = ["c-root", "c-billing", "c-failed"] if "outcome" in params else ["c-failed"]
    assert _shown(response) == expected


def test_another_agencys_client_is_not_a_filter_value(cast, calls, as_user):
    response = as_user(cast.owner).get(_url(cast), {"client": cast.client_b.public_id})
    assert "Some filters were ignored" in response.content.decode()
    assert "c-outsider" not in _shown(response)


def test_an_end_date_before_the_start_date_is_explained(cast, calls, as_user):
    response = as_user(cast.owner).get(_url(cast), {"date_from": "2026-03-10", "date_to": "2026-03-01"})
    assert "The end date is before the start date." in response.content.decode()
    assert _shown(response) == ["c-root"]  # only the start date applies


def test_htmx_gets_only_the_results_and_pages_keep_the_filters(cast, as_user):
    for i in range(55):
        CallFactory(
            client=cast.client_account,
            vapi_call_id=f"c-{i}",
            outcome=CallOutcome.BOOKED,
            started_at=DAY - timedelta(minutes=i),
        )
    CallFactory(client=cast.client_account, vapi_call_id="c-other", outcome=CallOutcome.FAILED, started_at=DAY)
    client = as_user(cast.owner)
    response = client.get(_url(cast), {"outcome": "booked"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html and 'id="call-count"' in html
    assert "HX-Request" in response["Vary"]
    assert "55 calls match these filters" in html
    next_link = re.search(r'href="\?(outcome=booked&amp;after=[^"]+)" rel="next"', html)
    assert next_link, html
    second = client.get(_url(cast) + "?" + unescape(next_link.group(1)))
    assert len(_shown(second)) == 5 and "c-other" not in _shown(second)


def test_the_full_page_has_a_filter_bar_that_works_without_javascript(cast, calls, as_user):
    html = as_user(cast.owner).get(_url(cast), {"outcome": "failed"}).content.decode()
    assert '<form method="get" action="/a/' in html
    assert 'hx-get="/a/' in html and 'hx-push-url="true"' in html
    assert '<option value="failed" selected>' in html


def test_outsiders_get_404(cast, calls, as_user):
    client = as_user(cast.outsider)
    assert client.get(_url(cast)).status_code == 404
    assert client.get(f"/c/{cast.client_account.public_id}/calls/").status_code == 404


def _client_url(cast):
    return f"/c/{cast.client_account.public_id}/calls/"


def test_the_client_admin_sees_only_their_calls_and_no_costs(cast, calls, as_user):
    response = as_user(cast.client_admin).get(_client_url(cast))
    html = response.content.decode()
    assert _shown(response) == ["c-root", "c-failed"]
    assert "$" not in html and "Cost" not in html
    assert "A Physio" not in html and "Physio desk" not in html
    assert f"/a/{cast.agency.slug}/" not in html  # no links into the agency's pages
    assert 'name="client"' not in html and 'name="assistant"' not in html


def test_the_client_admin_filters_and_searches_their_own_calls(cast, calls, as_user):
    client = as_user(cast.client_admin)
    assert _shown(client.get(_client_url(cast), {"outcome": "failed"})) == ["c-failed"]
    assert _shown(client.get(_client_url(cast), {"q": "billing"})) == []  # the other client's call
    # A client filter sent by hand changes nothing on the client's own list.
    assert _shown(client.get(_client_url(cast), {"client": cast.other_client.public_id})) == ["c-root", "c-failed"]


def _steady_queries(client, url) -> int:
    client.get(url)  # the first visit also writes the session
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("who", ["owner", "client_admin"])
def test_the_list_runs_the_same_queries_for_1_and_25_calls(cast, as_user, django_assert_num_queries, who):
    assistant = AssistantFactory(client=cast.client_account)
    CallFactory(client=cast.client_account, vapi_call_id="c-first", assistant=assistant, started_at=DAY)
    client = as_user(getattr(cast, who))
    url = _client_url(cast) if who == "client_admin" else _url(cast)
    one = _steady_queries(client, url)
    for i in range(24):
        CallFactory(
            client=cast.client_account,
            vapi_call_id=f"c-more-{i}",
            assistant=assistant,
            caller_number=f"+1312555{i:04}",
            started_at=DAY,
        )
    with django_assert_num_queries(one):
        response = client.get(url)
    assert len(_shown(response)) == 25


def _bulk_calls(cast, count: int = 3000, **fields) -> None:
    """`count` calls of the cast's client a minute apart back from DAY, each asking for a cleaning; `fields`
    give further columns as functions of the call's number."""
    Call.objects.bulk_create(
        Call(
            agency=cast.agency,
            client=cast.client_account,
            vapi_call_id=f"bulk-{i}",
            started_at=DAY - timedelta(minutes=i),
            transcript=f"User: I would like a cleaning on day {i % 28}, please.",
            **{name: value(i) for name, value in fields.items()},
        )
        for i in range(count)
    )


def test_postgresql_search_and_every_sort_use_their_indexes(cast):
    """EXPLAIN on a few thousand calls: the query's expression must be exactly the GIN index's expression."""
    if connection.vendor != "postgresql":
        pytest.skip("the GIN and ordering indexes exist on PostgreSQL only (migration 0004)")
    _bulk_calls(cast, duration_seconds=lambda i: i % 600, cost=lambda i: Decimal(i % 97) / 100)
    CallFactory(
        client=cast.client_account, vapi_call_id="c-needle", transcript="User: my zygomatic arch hurts", started_at=DAY
    )
    with connection.cursor() as cursor:
        # What autovacuum does: statistics, and the GIN index's pending list of fresh entries merged in.
        cursor.execute("ANALYZE voice_call")
        cursor.execute("SELECT gin_clean_pending_list('call_transcript_search_idx')")
    found = call_list(agency=cast.agency, filters=CallFilters(q="zygomatic"))
    assert "call_transcript_search_idx" in found.explain()
    assert list(found.values_list("vapi_call_id", flat=True)) == ["c-needle"]
    for sort in ("newest", "oldest", "longest", "shortest", "cost"):
        plan = call_list(agency=cast.agency, filters=CallFilters(sort=sort))[:50].explain()
        assert f"call_agency_{sort}_idx" in plan, plan


def test_a_broad_search_is_counted_only_so_far(cast, as_user, monkeypatch):
    monkeypatch.setattr("voice.calls.views.SEARCH_COUNT_CAP", 2)
    for i in range(3):
        CallFactory(
            client=cast.client_account,
            vapi_call_id=f"c-clean-{i}",
            transcript="User: a cleaning please",
            started_at=DAY,
        )
    html = as_user(cast.owner).get(_url(cast), {"q": "cleaning"}).content.decode()
    assert "More than 2 calls match these filters" in html


def test_the_clients_rows_link_to_the_clients_own_call_page(cast, calls, as_user):
    call = Call.objects.get(vapi_call_id="c-root")
    html = as_user(cast.client_admin).get(_client_url(cast)).content.decode()
    assert f'href="/c/{cast.client_account.public_id}/calls/{call.public_id}/"' in html


def test_an_empty_form_sent_without_javascript_filters_nothing(cast, calls, as_user):
    empty = dict.fromkeys(
        ("q", "client", "assistant", "outcome", "duration", "date_from", "date_to", "ended_reason"), ""
    )
    response = as_user(cast.owner).get(_url(cast), {**empty, "sort": "newest"})
    assert _shown(response) == ["c-root", "c-billing", "c-failed"]
    assert "3 calls</span>" in response.content.decode()


def test_the_count_reads_right_for_one_call(cast, calls, as_user):
    html = as_user(cast.owner).get(_url(cast), {"outcome": "failed"}).content.decode()
    assert "1 call matches these filters" in html


def test_postgresql_a_broad_search_is_counted_down_the_lists_index(cast):
    """A word in every call: the count stops at its cap walking the newest-first index, as the page does,
    instead of reading every hit (or every call) in whatever order a plan without the list's order picks."""
    if connection.vendor != "postgresql":
        pytest.skip("the ordering indexes exist on PostgreSQL only (migration 0004)")
    _bulk_calls(cast)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE voice_call")
        cursor.execute("SELECT gin_clean_pending_list('call_transcript_search_idx')")
    counted = CappedPaginator(
        call_list(agency=cast.agency, filters=CallFilters(q="cleaning")), 50, cap=SEARCH_COUNT_CAP, in_order=True
    )
    with CaptureQueriesContext(connection) as queries:
        assert counted.capped
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + queries.captured_queries[0]["sql"])
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "call_agency_newest_idx" in plan, plan
