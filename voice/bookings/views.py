from dataclasses import replace

from tenants.access import agency_view, client_portal_view
from voice.bookings import selectors
from voice.bookings.forms import BookingFilterForm
from voice.calls.selectors import client_picker_choices
from voice.models import MADE_BOOKING_STATUSES
from voice.paging import keyset_page_of, list_response


def _booking_list_response(request, *, form, bookings, portal: bool):
    bookings = bookings.prefetch_related("text_messages")  # each row shows its confirmation's SMS status
    filters = form.filters()
    context = {
        "page": keyset_page_of(request, bookings, selectors.booking_sort(filters)),
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
