from dataclasses import dataclass, replace
from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from tenants.models import Agency, ClientAccount
from voice.models import (
    MADE_BOOKING_STATUSES,
    STANDING_BOOKING_STATUSES,
    Booking,
    BookingStatus,
    TextMessage,
    TextMessageKind,
)
from voice.paging import SortKey


@dataclass(frozen=True)
class BookingFilters:
    when: str = "upcoming"  # "upcoming" (soonest first) or "past" (latest first)
    status: str = ""
    client_id: str = ""
    ghl_status: str = ""  # what GHL says of the visit: showed (kept) or noshow


def _bookings_filtered(bookings: QuerySet[Booking], filters: BookingFilters, now: datetime) -> QuerySet[Booking]:
    if filters.status:
        bookings = bookings.filter(status=filters.status)
    if filters.client_id:
        bookings = bookings.filter(client__public_id=filters.client_id)
    if filters.ghl_status:
        bookings = bookings.filter(ghl_status=filters.ghl_status)
    if filters.when == "past":
        return bookings.filter(start__lt=now).order_by(*LATEST_FIRST.ordering())
    return bookings.filter(start__gte=now).order_by(*SOONEST_FIRST.ordering())


SOONEST_FIRST = SortKey("start", descending=False, nullable=False)
LATEST_FIRST = SortKey("start", descending=True, nullable=False)


def booking_sort(filters: BookingFilters | None) -> SortKey:
    """The order booking_list and client_booking_list return, for keyset pages."""
    return LATEST_FIRST if filters is None or filters.when == "past" else SOONEST_FIRST


def booking_list(
    *, agency: Agency, filters: BookingFilters | None = None, now: datetime | None = None, with_pending: bool = False
) -> QuerySet[Booking]:
    """The agency's bookings, failed ones included; pending ones (GHL not yet known to have booked them) only
    `with_pending`, for staff who follow them up. Without filters all of them, latest first."""
    bookings = Booking.objects.filter(client__agency=agency)
    if not with_pending:
        bookings = bookings.exclude(status=BookingStatus.PENDING)
    if filters is None:
        return bookings.select_related("client", "call").order_by(*LATEST_FIRST.ordering())
    bookings = _bookings_filtered(bookings, filters, now or timezone.now())
    return bookings.select_related("client", "call")


def client_booking_list(
    *, client: ClientAccount, filters: BookingFilters | None = None, now: datetime | None = None
) -> QuerySet[Booking]:
    filters = replace(filters or BookingFilters(), client_id="")
    bookings = Booking.objects.filter(client=client, status__in=MADE_BOOKING_STATUSES)
    return _bookings_filtered(bookings, filters, now or timezone.now()).select_related("client", "call")


def client_upcoming_bookings(*, client: ClientAccount, limit: int) -> QuerySet[Booking]:
    """Soonest first, each with its latest confirmation SMS's status and detail (sms_status, sms_detail), in
    the same one query."""
    confirmation = (
        TextMessage.objects.filter(booking=OuterRef("pk"))
        .exclude(kind=TextMessageKind.REMINDER)
        .order_by("-created_at", "-pk")
    )
    return (
        Booking.objects.filter(client=client, status__in=STANDING_BOOKING_STATUSES, start__gte=timezone.now())
        .select_related("call")
        .annotate(
            sms_status=Subquery(confirmation.values("status")[:1]),
            sms_detail=Subquery(confirmation.values("detail")[:1]),
        )
        .order_by("start")[:limit]
    )
