from dataclasses import dataclass, replace

from tenants.access import agency_view, client_portal_view
from voice.bookings import selectors
from voice.bookings.forms import BookingFilterForm
from voice.calls.selectors import client_picker_choices
from voice.models import MADE_BOOKING_STATUSES
from voice.paging import keyset_page_of, list_response
from voice.rows import Formatter

# A booking row links its call by id only: the rest of the call stays in the database.
CALL_BULK = tuple(
    f"call__{name}"
    for name in ("transcript", "messages", "transcript_search", "cost_breakdown", "structured_data", "summary")
)


@dataclass(frozen=True)
class BookingRow:
    """One row of the bookings list, its values formatted (voice/rows.py says why)."""

    b: object
    when: str
    ago: str
    badges: str
    call_url: str


def _booking_rows(request, bookings, *, portal: bool) -> list[BookingRow]:
    """The page's rows, each start in its client's zone."""
    fmt = Formatter()
    call_url = fmt.call_url_for_each(request, portal=portal)
    rows = []
    for b in bookings:
        label = b.get_status_display()
        badges = fmt.badge("voice/_booking_status_badge.html", (b.status, label), status=b.status, label=label)
        badges += fmt.badge("voice/kept/_ghl_status_badge.html", b.ghl_status, booking=b)
        rows.append(
            BookingRow(
                b=b,
                when=fmt.clock(fmt.local(b.start, b.client.time_zone), weekday=True),
                ago=fmt.ago(b.start),
                badges=badges,
                call_url=call_url(b.call.public_id) if b.call is not None else "",
            )
        )
    return rows


def _booking_list_response(request, *, form, bookings, portal: bool):
    # Each row shows its confirmation's SMS status and links its call: of the call, only the id is read (its
    # transcript, messages and search vector are ~3 KB a row, mostly TOASTed).
    bookings = bookings.prefetch_related("text_messages").defer(*CALL_BULK)
    filters = form.filters()
    page = keyset_page_of(request, bookings, selectors.booking_sort(filters))
    context = {
        "page": page,
        "rows": _booking_rows(request, page.object_list, portal=portal),
        "form": form,
        "portal": portal,
        "when": filters.when,
        "filtered": replace(filters, when="upcoming") != selectors.BookingFilters(),
    }
    return list_response(
        request, page_template="voice/booking_list.html", rows_template="voice/_booking_results.html", context=context
    )


@agency_view()
def booking_list(request):
    clients = client_picker_choices(
        agency=request.agency, selected=request.GET.get("client", ""), q=request.GET.get("client_q", "")
    )
    form = BookingFilterForm(request.GET, clients=clients)
    form.is_valid()
    bookings = selectors.booking_list(agency=request.agency, filters=form.filters(), with_pending=True)
    return _booking_list_response(request, form=form, bookings=bookings, portal=False)


@client_portal_view
def client_booking_list(request):
    form = BookingFilterForm(request.GET, statuses=MADE_BOOKING_STATUSES)
    form.is_valid()
    bookings = selectors.client_booking_list(client=request.client, filters=form.filters())
    return _booking_list_response(request, form=form, bookings=bookings, portal=True)
